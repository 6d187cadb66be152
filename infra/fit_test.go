package infra_test

// Issue 15: the places where a first apply on a fresh account, or the
// second one, would not give a working deployment although the spec checks
// pass. Each test names the item it guards.

import (
	"net/url"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/palisade-hq/palisade/infra/tfeval"
)

// lifecycleOf returns the ignore_changes names and create_before_destroy of
// a resource block.
func lifecycleOf(t *testing.T, r *tfeval.Resource) (ignored []string, cbd bool) {
	t.Helper()
	for _, b := range r.Block.Body.Blocks {
		if b.Type != "lifecycle" {
			continue
		}
		if a, ok := b.Body.Attributes["ignore_changes"]; ok {
			exprs, diags := hcl.ExprList(a.Expr)
			if diags.HasErrors() {
				t.Fatalf("%s ignore_changes: %v", r.Addr(), diags)
			}
			for _, e := range exprs {
				tr, diags := hcl.AbsTraversalForExpr(e)
				if diags.HasErrors() {
					t.Fatalf("%s ignore_changes: %v", r.Addr(), diags)
				}
				ignored = append(ignored, tr.RootName())
			}
		}
		if a, ok := b.Body.Attributes["create_before_destroy"]; ok {
			v, diags := a.Expr.Value(nil)
			cbd = !diags.HasErrors() && v.True()
		}
	}
	return ignored, cbd
}

var _ = hclsyntax.Block{}

// containerEnv is the environment of a service's one container.
func containerEnv(t *testing.T, ecs *tfeval.Instance, svc string) map[string]any {
	t.Helper()
	td := instances(t, ecs, "aws_ecs_task_definition.this")[svc]
	if td == nil {
		t.Fatalf("no task definition %s", svc)
	}
	defs, err := td.Body.AttrDecoded("container_definitions")
	if err != nil {
		t.Fatal(err)
	}
	c := goValue(defs).([]any)[0].(map[string]any)
	env := map[string]any{}
	for _, e := range c["environment"].([]any) {
		m := e.(map[string]any)
		env[m["name"].(string)] = m["value"]
	}
	env["<image>"] = c["image"]
	return env
}

// Item 7: resources with create_before_destroy and a fixed name fail their
// replacement (the new one cannot take the old one's name).
func TestCreateBeforeDestroyUsesNamePrefix(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			n := 0
			walk(t, root(t, env, nil), func(m *tfeval.Instance) {
				for _, r := range m.Module.Resources {
					if _, cbd := lifecycleOf(t, r); !cbd {
						continue
					}
					n++
					body := r.Block.Body
					switch {
					case r.Type == "aws_acm_certificate":
						// Certificates have no name.
					case body.Attributes["name"] != nil:
						t.Errorf("%s %s: create_before_destroy with a fixed name; use name_prefix", m.Path, r.Addr())
					case body.Attributes["name_prefix"] == nil:
						t.Errorf("%s %s: create_before_destroy without name_prefix", m.Path, r.Addr())
					}
				}
			})
			if n < 4 {
				t.Errorf("found %d create_before_destroy resources, want the target groups and the DB groups at least", n)
			}
			alb := child(t, root(t, env, nil), "alb")
			for k, tg := range instances(t, alb, "aws_lb_target_group.public") {
				if p := attr(t, tg.Body, "name_prefix"); p.IsNull() || !p.IsKnown() {
					t.Errorf("target group %s has no name_prefix", k)
				} else if len(p.AsString()) > 6 {
					t.Errorf("target group %s name_prefix %q: AWS allows 6 characters", k, p.AsString())
				}
			}
		})
	}
}

// Item 7: load balancer names are at most 32 characters, for any project
// name the naming module accepts.
func TestProjectNameFitsLoadBalancerNames(t *testing.T) {
	m, err := tfeval.NewLoader().Load("modules/naming")
	if err != nil {
		t.Fatal(err)
	}
	v := m.Variables["project"]
	for _, p := range []string{"abc", "palisade", "palisade-hq1", "palisade-saas", "a-twenty-char-projct"} {
		msgs, err := v.Validate(cty.StringVal(p))
		if err != nil {
			t.Fatal(err)
		}
		accepted := len(msgs) == 0
		longest := p + "-production-internal"
		if fits := len(longest) <= 32; accepted != fits {
			t.Errorf("project %q (ALB %q, %d chars): accepted %v, fits %v", p, longest, len(longest), accepted, fits)
		}
	}
	for _, env := range envs {
		alb := child(t, root(t, env, nil), "alb")
		for _, addr := range []string{"aws_lb.public", "aws_lb.internal"} {
			if n := attr(t, one(t, alb, addr), "name").AsString(); len(n) > 32 {
				t.Errorf("%s %s name %q is over 32 characters", env, addr, n)
			}
		}
	}
}

// Item 7: the escape hatch changes tenant's and hq's capacity provider in
// place ("target group change only", spec 8), never by replacing the
// services; their task definitions stay the same.
func TestEscapeHatchDoesNotReplaceServices(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			fargate := child(t, root(t, env, nil), "ecs")
			ec2 := child(t, root(t, env, map[string]cty.Value{"frontend_compute": cty.StringVal("EC2")}), "ecs")
			fsvcs := instances(t, fargate, "aws_ecs_service.this")
			for name, svc := range fsvcs {
				// Without force_new_deployment the AWS provider replaces a
				// service whose capacity_provider_strategy changes.
				wantBool(t, name+" force_new_deployment", attr(t, svc.Body, "force_new_deployment"), true)
			}
			ftds := instances(t, fargate, "aws_ecs_task_definition.this")
			etds := instances(t, ec2, "aws_ecs_task_definition.this")
			for _, name := range []string{"tenant", "hq"} {
				f := strings_(attr(t, ftds[name].Body, "requires_compatibilities"))
				e := strings_(attr(t, etds[name].Body, "requires_compatibilities"))
				wantSet(t, name+" compatibilities on Fargate", f, "FARGATE", "EC2")
				wantSet(t, name+" compatibilities on EC2", e, f...)
			}
		})
	}
}

// Item 8: the image a service runs is the one its release pipeline last
// deployed (an SSM parameter the pipeline writes), never var.image_tag: an
// apply with an older tag must not roll production back, nor a newer one
// deploy without approval and migration.
func TestTerraformDoesNotOwnTheRunningImage(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			// Two applies with different image_tag give the same task
			// definitions: the tag only seeds the parameters.
			a := child(t, root(t, env, map[string]cty.Value{"image_tag": cty.StringVal("v1.0.0")}), "ecs")
			b := child(t, root(t, env, map[string]cty.Value{"image_tag": cty.StringVal("v2.0.0")}), "ecs")
			for name := range specServices {
				ia, ib := containerEnv(t, a, name)["<image>"], containerEnv(t, b, name)["<image>"]
				if ia != ib {
					t.Errorf("%s: image follows var.image_tag (%v, then %v); Terraform would redeploy it", name, ia, ib)
				}
			}
			td := a.Module.Find("aws_ecs_task_definition.this")
			if !strings.Contains(string(sourceOf(a.Module.Find("aws_ecs_task_definition.this"))), "container_definitions") || td == nil {
				t.Fatal("no task definitions")
			}
			params := instances(t, a, "aws_ssm_parameter.image_tag")
			wantSet(t, "image tag parameters", keys(params), keys(specServices)...)
			ignored, _ := lifecycleOf(t, a.Module.Find("aws_ssm_parameter.image_tag"))
			if !contains(ignored, "insecure_value") {
				t.Errorf("aws_ssm_parameter.image_tag must ignore changes to insecure_value (the pipeline owns it), ignores %v", ignored)
			}
			local, err := a.Local("container_definitions")
			if err != nil {
				t.Fatal(err)
			}
			_ = local
			src := string(sourceOf(a.Module.Find("aws_ecs_task_definition.this")))
			_ = src
			sc := child(t, root(t, env, nil), "scanner")
			ignored, _ = lifecycleOf(t, sc.Module.Find("aws_lambda_function.this"))
			if !contains(ignored, "image_uri") {
				t.Errorf("the scanner functions must ignore image_uri (the API pipeline deploys the scanner image), ignores %v", ignored)
			}
		})
	}
}

// Item 6: api and worker publish to realtime's HTTP API: they are told
// where (PALISADE_REALTIME_API_URL, the realtime tasks' Cloud Map name) and
// a security-group path leads there on that port.
func TestRealtimePublishersReachRealtime(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			in := root(t, env, nil)
			ecs, alb := child(t, in, "ecs"), child(t, in, "alb")
			ns := attr(t, one(t, ecs, "aws_service_discovery_private_dns_namespace.this"), "name").AsString()
			svcName := attr(t, one(t, ecs, "aws_service_discovery_service.realtime"), "name").AsString()
			host := svcName + "." + ns
			for name := range specServices {
				v, ok := containerEnv(t, ecs, name)["PALISADE_REALTIME_API_URL"]
				publisher := name == "api" || name == "worker"
				if !publisher {
					if ok {
						t.Errorf("%s gets PALISADE_REALTIME_API_URL but does not publish", name)
					}
					continue
				}
				u, err := url.Parse(v.(string))
				if !ok || err != nil || u.Scheme != "http" || u.Hostname() != host || u.Port() != "8080" {
					t.Errorf("%s PALISADE_REALTIME_API_URL = %v, want http://%s:8080", name, v, host)
				}
			}
			regs := blocks(t, instances(t, ecs, "aws_ecs_service.this")["realtime"].Body, "service_registries")
			if len(regs) != 1 || !refersTo(regs[0], "registry_arn", "aws_service_discovery_service.realtime") {
				t.Error("the realtime service must register its tasks in Cloud Map")
			}
			// Egress from each publisher and ingress to realtime, group to
			// group, on the realtime port.
			for _, kind := range []string{"aws_vpc_security_group_egress_rule.to_realtime", "aws_vpc_security_group_ingress_rule.realtime_from_publishers"} {
				rules := instances(t, alb, kind)
				wantSet(t, kind, keys(rules), "api", "worker")
				for k, r := range rules {
					wantNumber(t, kind+" "+k+" port", attr(t, r.Body, "from_port"), 8080)
					wantNumber(t, kind+" "+k+" to port", attr(t, r.Body, "to_port"), 8080)
				}
			}
		})
	}
}

// Item 2: mail through SES v2 from the services that send it; IAM scoped to
// the identity and the configuration set.
func TestMailThroughSES(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			in := root(t, env, nil)
			mail, ecs := child(t, in, "mail"), child(t, in, "ecs")
			wantString(t, "SES identity", attr(t, one(t, mail, "aws_sesv2_email_identity.domain"), "email_identity"), in.Var("domain").AsString())
			set := attr(t, one(t, mail, "aws_sesv2_configuration_set.this"), "configuration_set_name").AsString()
			senders := []string{"api", "worker", "hq", "scheduler"}
			for name := range specServices {
				e := containerEnv(t, ecs, name)
				if !contains(senders, name) {
					if _, ok := e["PALISADE_MAIL_DRIVER"]; ok {
						t.Errorf("%s gets a mail driver but sends no mail", name)
					}
					continue
				}
				if e["PALISADE_MAIL_DRIVER"] != "ses" {
					t.Errorf("%s PALISADE_MAIL_DRIVER = %v, want ses", name, e["PALISADE_MAIL_DRIVER"])
				}
				if e["PALISADE_SES_CONFIGURATION_SET"] != set {
					t.Errorf("%s PALISADE_SES_CONFIGURATION_SET = %v, want %s", name, e["PALISADE_SES_CONFIGURATION_SET"], set)
				}
				if from, _ := e["PALISADE_MAIL_FROM"].(string); !strings.HasSuffix(from, "@"+in.Var("domain").AsString()+">") {
					t.Errorf("%s PALISADE_MAIL_FROM = %q, want an address of the identity", name, from)
				}
			}
			wantSet(t, "roles allowed to send mail", keys(instances(t, ecs, "aws_iam_role_policy.mail")), senders...)
			doc := one(t, ecs, "data.aws_iam_policy_document.mail")
			for _, st := range blocks(t, doc, "statement") {
				wantSet(t, "mail actions", strings_(attr(t, st, "actions")), "ses:SendEmail", "ses:SendRawEmail")
				if r := st.References("resources"); len(r) != 2 || !contains(r, "var.mail_identity_arn") || !contains(r, "var.mail_configuration_set_arn") {
					t.Errorf("mail statement resources %v, want the identity and the configuration set only", r)
				}
			}
			for _, want := range []string{"module.mail.identity_arn", "module.mail.configuration_set_arn", "module.mail.configuration_set_name"} {
				found := false
				for _, a := range in.Module.Calls["ecs"].Body.Attributes {
					for _, tr := range tfeval.TraversalStrings(a.Expr) {
						found = found || tr == want
					}
				}
				if !found {
					t.Errorf("module ecs does not get %s", want)
				}
			}
			if _, err := mail.Output("dkim_records"); err != nil {
				t.Errorf("mail module: %v", err)
			}
		})
	}
}

// Item 5: the roles that provision and audit buckets write the policy's
// exemption list; it must name the scanner and the worker.
func TestReadExemptRolesReachTheTasks(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			in := root(t, env, nil)
			ecs := child(t, in, "ecs")
			for _, name := range []string{"api", "worker"} {
				if _, ok := containerEnv(t, ecs, name)["PALISADE_S3_EXEMPT_ROLE_ARNS"]; !ok {
					t.Errorf("%s lacks PALISADE_S3_EXEMPT_ROLE_ARNS: the bucket policy it writes would deny the scanner", name)
				}
			}
			a := in.Module.Calls["ecs"].Body.Attributes["tenant_read_exempt_role_arns"]
			if a == nil {
				t.Fatal("module ecs gets no tenant_read_exempt_role_arns")
			}
			got := tfeval.TraversalStrings(a.Expr)
			if len(got) != 1 || got[0] != "module.scanner.role_arns" {
				t.Errorf("tenant_read_exempt_role_arns from %v, want module.scanner.role_arns[\"scan\"]", got)
			}
			l, err := ecs.Local("read_exempt_role_arns")
			if err != nil {
				t.Fatal(err)
			}
			if n := l.LengthInt(); n != 2 {
				t.Errorf("exempt roles: %d, want the scanner and the worker", n)
			}
		})
	}
}

// Item 5: the worker has no clamd in AWS, so the scan function records its
// verdicts itself (files.Service.Record: database, realtime, mail). It runs
// in the private subnets, with the database, realtime and the secrets
// within reach.
func TestScannerRecordsVerdicts(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			in := root(t, env, nil)
			sc, ecs, data := child(t, in, "scanner"), child(t, in, "ecs"), child(t, in, "data")
			if _, ok := containerEnv(t, ecs, "worker")["PALISADE_CLAMD_ADDR"]; ok {
				t.Error("the worker has a clamd address, but no clamd runs beside it in AWS")
			}
			fn := instances(t, sc, "aws_lambda_function.this")["scan"].Body
			vpc := blocks(t, fn, "vpc_config")
			if len(vpc) != 1 {
				t.Fatalf("the scan function is not in the VPC (%d vpc_config), so it cannot reach the database", len(vpc))
			}
			got := tfeval.TraversalStrings(in.Module.Calls["scanner"].Body.Attributes["subnet_ids"].Expr)
			if len(got) != 1 || got[0] != "module.network.private_subnet_ids" {
				t.Errorf("scan function subnets %v, want the private subnets", got)
			}
			vars := goValue(attr(t, oneBlock(t, fn, "environment"), "variables")).(map[string]any)
			for _, k := range []string{"PALISADE_DB_DSN", "PALISADE_REALTIME_APP_ID", "PALISADE_REALTIME_APP_KEY", "PALISADE_REALTIME_APP_SECRET"} {
				if _, ok := vars[k]; !ok {
					t.Errorf("scan function lacks %s", k)
				}
			}
			if want := containerEnv(t, ecs, "api")["PALISADE_REALTIME_API_URL"]; vars["PALISADE_REALTIME_API_URL"] != want {
				t.Errorf("scan function publishes to %v, the api to %v", vars["PALISADE_REALTIME_API_URL"], want)
			}
			if vars["PALISADE_MAIL_DRIVER"] != "ses" {
				t.Errorf("scan function mail driver %v, want ses", vars["PALISADE_MAIL_DRIVER"])
			}
			// The secret references are aws-sm://<arn>#<key>, which the app resolves.
			secEnv := in.Module.Calls["scanner"].Body.Attributes["secret_environment"]
			if secEnv == nil {
				t.Fatal("no secret_environment")
			}
			if _, ok := instances(t, data, "aws_vpc_security_group_ingress_rule.db")["scanner"]; !ok {
				t.Error("the database does not admit the scan function")
			}
			if n := len(instances(t, sc, "aws_vpc_security_group_ingress_rule.realtime_from_scan")); n != 1 {
				t.Errorf("realtime admits the scan function %d times, want 1", n)
			}
			// The policy's other statements hang on KMS ARNs known only
			// after apply, so the evaluator cannot expand it: read its text.
			src := string(sourceOf(sc.Module.Find("data.aws_iam_policy_document.common")))
			for _, s := range []string{"VpcNetworkInterfaces", "ReadTheAppSecrets", "DecryptTheAppSecrets", "SendTheMalwareNotice"} {
				i := strings.Index(src, `"`+s+`"`)
				if i < 0 || !strings.Contains(src[max(0, i-300):i], `each.key == "scan" && var.record_results`) {
					t.Errorf("scan role lacks %s (with record_results)", s)
				}
			}
			wantBool(t, "record_results", sc.Var("record_results"), true)
		})
	}
}

// Item 1 (the Terraform half): the DSN names the app's RDS TLS
// configuration; tls=true verifies against the system roots, which lack
// the Amazon RDS CA, so every database client would fail with x509.
func TestDSNVerifiesAgainstTheRDSCA(t *testing.T) {
	for _, env := range envs {
		data := child(t, root(t, env, nil), "data")
		src := string(sourceOf(data.Module.Find("aws_secretsmanager_secret_version.db")))
		i := strings.Index(src, "dsn = ")
		if i < 0 {
			t.Fatalf("%s: no dsn in the database secret", env)
		}
		dsn := src[i : i+strings.IndexByte(src[i:], '\n')]
		if !strings.Contains(dsn, "tls=rds") || strings.Contains(dsn, "tls=true") || strings.Contains(dsn, "skip-verify") {
			t.Errorf("%s: DSN %s, want tls=rds", env, dsn)
		}
	}
}
