package tfeval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func write(t *testing.T, dir, name, src string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCidrSubnetMatchesTerraform(t *testing.T) {
	// Values from Terraform's documentation and from the spec's layout.
	cases := []struct {
		prefix          string
		newbits, netnum int64
		want            string
	}{
		{"10.0.0.0/16", 8, 1, "10.0.1.0/24"},
		{"10.0.0.0/16", 8, 22, "10.0.22.0/24"},
		{"172.16.0.0/12", 4, 2, "172.18.0.0/16"},
		{"10.1.2.0/24", 4, 15, "10.1.2.240/28"},
		{"10.8.0.0/20", 8, 11, "10.8.0.176/28"},
	}
	for _, c := range cases {
		got, err := cidrSubnetFunc.Call([]cty.Value{cty.StringVal(c.prefix), cty.NumberIntVal(c.newbits), cty.NumberIntVal(c.netnum)})
		if err != nil || got.AsString() != c.want {
			t.Errorf("cidrsubnet(%s, %d, %d) = %v, %v; want %s", c.prefix, c.newbits, c.netnum, got, err, c.want)
		}
	}
	if _, err := cidrSubnetFunc.Call([]cty.Value{cty.StringVal("10.0.0.0/16"), cty.NumberIntVal(8), cty.NumberIntVal(256)}); err == nil {
		t.Error("cidrsubnet must reject a netnum that does not fit")
	}
	got, err := cidrHostFunc.Call([]cty.Value{cty.StringVal("10.0.11.0/24"), cty.NumberIntVal(5)})
	if err != nil || got.AsString() != "10.0.11.5" {
		t.Errorf("cidrhost = %v, %v", got, err)
	}
}

func TestEvaluatesModulesCountForEachAndDynamic(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "child"), "main.tf", `
variable "n" {
  type    = number
  default = 1
}
variable "svc" {
  type = map(object({ cpu = number, port = optional(number) }))
  default = { a = { cpu = 256 } }
}
output "doubled" { value = var.n * 2 }
output "ports" { value = { for k, s in var.svc : k => s.port } }
resource "aws_thing" "each" {
  for_each = var.svc
  cpu      = each.value.cpu
  id_ref   = aws_other.x.id
  dynamic "rule" {
    for_each = each.key == "b" ? [10, 20] : []
    content {
      prio = rule.value + each.value.cpu
    }
  }
}
resource "aws_other" "x" {
  count = var.n
  name  = "x-${count.index}"
}
`)
	write(t, filepath.Join(dir, "root"), "main.tf", `
locals { base = 3 }
module "c" {
  source = "../child"
  n      = local.base
  svc    = { a = { cpu = 256 }, b = { cpu = 512, port = 80 } }
}
output "d" { value = module.c.doubled }
data "aws_region" "current" {}
output "r" { value = "com.amazonaws.${data.aws_region.current.name}.s3" }
`)
	in, err := NewLoader().Instantiate(filepath.Join(dir, "root"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(*in.Problems) != 0 {
		t.Fatalf("unexpected problems: %v", *in.Problems)
	}
	out, err := in.Outputs()
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := out.GetAttr("d").AsBigFloat().Int64(); d != 6 {
		t.Errorf("module output = %d, want 6", d)
	}
	if r := out.GetAttr("r").AsString(); r != "com.amazonaws.eu-west-2.s3" {
		t.Errorf("mocked region gives %q", r)
	}
	c, err := in.Child("c")
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Var("svc").Index(cty.StringVal("a")).GetAttr("port"); !p.IsNull() {
		t.Errorf("optional attribute should default to null, got %#v", p)
	}
	list, err := c.Instances(c.Module.Find("aws_other.x"))
	if err != nil || len(list) != 3 {
		t.Fatalf("count instances = %d, %v; want 3", len(list), err)
	}
	if v, _ := list[2].Body.Attr("name"); v.AsString() != "x-2" {
		t.Errorf("count.index gives %#v", v)
	}
	each, err := c.Instances(c.Module.Find("aws_thing.each"))
	if err != nil || len(each) != 2 || each[1].KeyString() != "b" {
		t.Fatalf("for_each instances: %v, %v", each, err)
	}
	if v, _ := each[1].Body.Attr("id_ref"); v.IsKnown() {
		t.Error("a resource attribute must be unknown before apply")
	}
	rules, err := each[1].Body.Blocks("rule")
	if err != nil || len(rules) != 2 {
		t.Fatalf("dynamic blocks: %d, %v", len(rules), err)
	}
	if v, _ := rules[1].Attr("prio"); v.AsBigFloat().String() != "532" {
		t.Errorf("dynamic content prio = %v", v.AsBigFloat())
	}
	if refs := each[0].Body.References("id_ref"); len(refs) != 1 || refs[0] != "aws_other.x.id" {
		t.Errorf("references = %v", refs)
	}
}

func TestReportsWhatTerraformWouldReject(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "child"), "main.tf", `
variable "a" {
  type    = string
  default = "x"
}
output "o" { value = var.a }
`)
	write(t, filepath.Join(dir, "root"), "main.tf", `
module "c" {
  source = "../child"
  a      = "y"
  b      = "not declared"
}
resource "aws_thing" "t" {
  x = var.missing
  y = local.nope
  z = module.c.not_an_output
  w = aws_thing.other.id
  v = data.aws_region.none.name
  lifecycle {
    ignore_changes = [x]
  }
}
`)
	in, err := NewLoader().Instantiate(filepath.Join(dir, "root"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Child("c"); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(*in.Problems, "\n")
	for _, want := range []string{"undeclared var.missing", "undeclared local.nope", `has no output "not_an_output"`,
		"undeclared resource aws_thing.other", "undeclared data.aws_region.none", `input "b" is not a variable`} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "ignore_changes") || strings.Contains(got, "reference to undeclared x") {
		t.Errorf("lifecycle.ignore_changes must not be read as references:\n%s", got)
	}

	// count known only after apply is a plan error in Terraform.
	write(t, filepath.Join(dir, "late"), "main.tf", `
resource "aws_a" "a" {}
resource "aws_b" "b" {
  count = aws_a.a.id == "" ? 0 : 1
}
`)
	late, err := NewLoader().Instantiate(filepath.Join(dir, "late"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := late.Instances(late.Module.Find("aws_b.b")); err == nil || !strings.Contains(err.Error(), "not known before apply") {
		t.Errorf("want a not-known-before-apply error, got %v", err)
	}
}

func TestOutputMocksFollowIntoCallers(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "root"), "main.tf", `
module "keys" {
  source = "../keys"
}
locals {
  policy = { resources = [module.keys.arns["data"]], other = module.keys.name }
}
`)
	write(t, filepath.Join(dir, "keys"), "main.tf", `
resource "aws_kms_key" "this" {
  for_each = toset(["data"])
}
output "arns" {
  value = { for k, v in aws_kms_key.this : k => v.arn }
}
output "name" {
  value = "keys"
}
`)
	l := NewLoader()
	in, err := l.Instantiate(filepath.Join(dir, "root"), nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := in.Local("policy")
	if err != nil {
		t.Fatal(err)
	}
	if v.GetAttr("resources").IsWhollyKnown() {
		t.Fatal("without a mock the key ARN must be unknown")
	}
	l = NewLoader()
	l.OutputMocks = map[string]map[string]cty.Value{"module.keys": {
		"arns": cty.MapVal(map[string]cty.Value{"data": cty.StringVal("arn:aws:kms:eu-west-2:123456789012:key/data")}),
	}}
	in, err = l.Instantiate(filepath.Join(dir, "root"), nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err = in.Local("policy")
	if err != nil {
		t.Fatal(err)
	}
	res := v.GetAttr("resources")
	if !res.IsWhollyKnown() || res.Index(cty.NumberIntVal(0)).AsString() != "arn:aws:kms:eu-west-2:123456789012:key/data" {
		t.Errorf("mocked output did not reach the caller: %#v", res)
	}
	if v.GetAttr("other").AsString() != "keys" {
		t.Errorf("unmocked outputs must keep their value, got %#v", v.GetAttr("other"))
	}
	l.OutputMocks["module.keys"]["nope"] = cty.StringVal("x")
	in, _ = l.Instantiate(filepath.Join(dir, "root"), nil)
	if _, err := in.Local("policy"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("a mock of an output the module lacks must be an error, got %v", err)
	}
}

func TestResourceRef(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "main.tf", `
resource "aws_security_group" "service" {
  for_each = toset(["api", "web"])
}
resource "aws_security_group" "alb" {}
resource "aws_vpc_security_group_egress_rule" "to" {
  for_each = toset(["api", "web"])

  security_group_id            = aws_security_group.alb.id
  referenced_security_group_id = aws_security_group.service[each.key].id
  cidr_ipv4                    = "10.0.0.0/16"
  other                        = aws_security_group.service["api"].id
}
`)
	in, err := NewLoader().Instantiate(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	list, err := in.Instances(in.Module.Find("aws_vpc_security_group_egress_rule.to"))
	if err != nil || len(list) != 2 {
		t.Fatal(list, err)
	}
	for _, ri := range list {
		addr, key, attr, ok := ri.Body.ResourceRef("referenced_security_group_id")
		if !ok || addr != "aws_security_group.service" || key.AsString() != ri.KeyString() || attr != "id" {
			t.Errorf("%s: ResourceRef = %q %#v %q %v", ri.KeyString(), addr, key, attr, ok)
		}
		addr, key, _, ok = ri.Body.ResourceRef("security_group_id")
		if !ok || addr != "aws_security_group.alb" || key != cty.NilVal {
			t.Errorf("single instance: %q %#v %v", addr, key, ok)
		}
		if _, key, _, ok = ri.Body.ResourceRef("other"); !ok || key.AsString() != "api" {
			t.Errorf("literal key: %#v %v", key, ok)
		}
		if _, _, _, ok := ri.Body.ResourceRef("cidr_ipv4"); ok {
			t.Error("a literal is not a resource reference")
		}
	}
}

func TestComputedAttributes(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "root"), "main.tf", `
resource "aws_iam_role" "task" {
  for_each = toset(["api", "worker"])
  name     = "p-${each.key}-task"
}
resource "aws_iam_role" "one" {
  name = "p-one"
}
resource "aws_iam_role" "counted" {
  count = 1
  name  = "p-counted"
}
resource "aws_thing" "x" {
  for_each = toset(["api"])
  role     = aws_iam_role.task[each.key].name
}
locals {
  literal  = aws_iam_role.task["worker"].arn
  all      = { for k, v in aws_iam_role.task : k => v.arn }
  single   = aws_iam_role.one.arn
  counted  = aws_iam_role.counted[0].arn
  unique   = aws_iam_role.one.unique_id
  missing  = aws_iam_role.one.nope
}
`)
	l := NewLoader()
	in, err := l.Instantiate(filepath.Join(dir, "root"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := in.Local("literal"); err != nil || v.IsKnown() {
		t.Fatalf("without Computed a role ARN must be unknown: %#v %v", v, err)
	}
	l = NewLoader()
	l.Computed = map[string]func(Block) (map[string]cty.Value, error){
		"aws_iam_role": func(b Block) (map[string]cty.Value, error) {
			name, err := b.Attr("name")
			if err != nil {
				return nil, err
			}
			return map[string]cty.Value{"name": name, "arn": cty.StringVal("arn:aws:iam::123456789012:role/" + name.AsString()), "unique_id": cty.DynamicVal}, nil
		},
	}
	in, err = l.Instantiate(filepath.Join(dir, "root"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for local, want := range map[string]string{
		"literal": "arn:aws:iam::123456789012:role/p-worker-task",
		"single":  "arn:aws:iam::123456789012:role/p-one",
		"counted": "arn:aws:iam::123456789012:role/p-counted",
	} {
		v, err := in.Local(local)
		if err != nil || !v.IsKnown() || v.AsString() != want {
			t.Errorf("local.%s = %#v (%v), want %s", local, v, err, want)
		}
	}
	all, err := in.Local("all")
	if err != nil || !all.IsWhollyKnown() || all.GetAttr("api").AsString() != "arn:aws:iam::123456789012:role/p-api-task" {
		t.Errorf("for over the instances = %#v (%v)", all, err)
	}
	if v, err := in.Local("unique"); err != nil || v.IsKnown() {
		t.Errorf("an attribute the stand-in leaves unknown must stay unknown: %#v %v", v, err)
	}
	if _, err := in.Local("missing"); err == nil {
		t.Error("an attribute the stand-in does not return must be an error")
	}
	x, _ := in.Instances(in.Module.Find("aws_thing.x"))
	// A key from each.key: an index expression, not one traversal.
	if v, err := x[0].Body.Attr("role"); err != nil || !v.IsKnown() || v.AsString() != "p-api-task" {
		t.Errorf("role = aws_iam_role.task[each.key].name: %#v (%v)", v, err)
	}
}

// A module call's providers map names provider configurations: an alias
// the root declares passes, an undeclared one is what Terraform rejects.
func TestModuleProvidersMap(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "child"), "main.tf", `output "o" { value = "x" }`)
	write(t, filepath.Join(dir, "root"), "main.tf", `
provider "aws" {
  region = "eu-west-2"
}
provider "aws" {
  alias  = "backup"
  region = "eu-west-1"
}
module "ok" {
  source    = "../child"
  providers = { aws = aws.backup }
}
module "plain" {
  source    = "../child"
  providers = { aws = aws }
}
module "bad" {
  source    = "../child"
  providers = { aws = aws.elsewhere }
}
`)
	in, err := NewLoader().Instantiate(filepath.Join(dir, "root"), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(*in.Problems, "\n")
	if !strings.Contains(got, "module bad: providers: aws = aws.elsewhere names no provider configuration") {
		t.Errorf("undeclared provider alias not reported:\n%s", got)
	}
	if strings.Contains(got, "module ok") || strings.Contains(got, "module plain") {
		t.Errorf("declared providers reported:\n%s", got)
	}
}
