// Package tfeval reads Terraform/OpenTofu configuration with hashicorp/hcl
// and evaluates it offline, far enough for tests to check what the
// configuration would ask AWS for.
//
// It is not Terraform. It knows variables (with their types and defaults),
// locals, module calls with local sources, outputs, count, for_each and
// dynamic blocks, and the built-in functions the Palisade modules use.
// Anything that only exists after an apply (resource attributes) evaluates
// to an unknown value; a few data sources get fixed stand-in values (see
// Mocks), so names built from the region or account stay known, and tests
// may give module outputs (OutputMocks) and resource attributes that follow
// from a resource's arguments (Computed) stand-in values.
//
// Besides values, it reports references that Terraform would reject
// (undeclared variables, locals, modules, outputs and resources, inputs a
// module does not declare), which stands in for `validate` where no provider
// schema is available.
package tfeval

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Module is the configuration in one directory.
type Module struct {
	Dir       string
	Variables map[string]*Variable
	Locals    map[string]hcl.Expression
	Outputs   map[string]*hclsyntax.Block
	Resources []*Resource // managed resources and data sources
	Calls     map[string]*hclsyntax.Block
	Files     map[string]*hclsyntax.Body
	Terraform []*hclsyntax.Block // terraform {} blocks
	Providers []*hclsyntax.Block
}

// Variable is a variable block.
type Variable struct {
	Name        string
	Block       *hclsyntax.Block
	File        string
	Type        cty.Type
	Defaults    *typeexpr.Defaults
	HasType     bool
	Description string
	Default     hcl.Expression // nil without a default
	Sensitive   bool
}

// Resource is a resource or data block.
type Resource struct {
	Mode  string // "resource" or "data"
	Type  string
	Name  string
	Block *hclsyntax.Block
	File  string
}

// Addr is "type.name" or "data.type.name".
func (r *Resource) Addr() string {
	if r.Mode == "data" {
		return "data." + r.Type + "." + r.Name
	}
	return r.Type + "." + r.Name
}

// Loader parses module directories once.
type Loader struct {
	modules map[string]*Module
	// Mocks gives data sources of a type a fixed value, whatever their name.
	Mocks map[string]cty.Value
	// OutputMocks replaces outputs of module instances by fixed values,
	// keyed by the instance's path below the root ("module.security",
	// "module.ecs/module.x") and the output name. Tests use it to follow an
	// ARN that is only known after apply (a KMS key, a secret) by a stand-in
	// value into the policies that name it.
	OutputMocks map[string]map[string]cty.Value
	// Computed gives the managed resources of a type attribute values
	// that an apply would compute but that follow from their arguments in
	// a documented way (an IAM role's ARN from its name, a bucket's id from
	// its bucket argument). The function gets one instance's body and
	// returns every attribute the configuration may read: known stand-ins
	// and cty.DynamicVal for the rest. A reference to an attribute it does
	// not return is an error, never a silent unknown. Types without an
	// entry stay wholly unknown.
	Computed map[string]func(b Block) (map[string]cty.Value, error)
}

// NewLoader returns a loader with stand-ins for the data sources that only
// describe where Terraform runs.
func NewLoader() *Loader {
	return &Loader{
		modules: map[string]*Module{},
		Mocks: map[string]cty.Value{
			"aws_region":    cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("eu-west-2"), "id": cty.StringVal("eu-west-2")}),
			"aws_partition": cty.ObjectVal(map[string]cty.Value{"partition": cty.StringVal("aws"), "dns_suffix": cty.StringVal("amazonaws.com")}),
			"aws_caller_identity": cty.ObjectVal(map[string]cty.Value{
				"account_id": cty.StringVal("123456789012"),
				"arn":        cty.StringVal("arn:aws:iam::123456789012:root"),
			}),
			"aws_availability_zones": cty.ObjectVal(map[string]cty.Value{
				"names": cty.ListVal([]cty.Value{cty.StringVal("eu-west-2a"), cty.StringVal("eu-west-2b"), cty.StringVal("eu-west-2c")}),
			}),
		},
	}
}

// Load parses the .tf files of dir.
func (l *Loader) Load(dir string) (*Module, error) {
	dir = filepath.Clean(dir)
	if m, ok := l.modules[dir]; ok {
		return m, nil
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no .tf files", dir)
	}
	sort.Strings(names)
	m := &Module{
		Dir:       dir,
		Variables: map[string]*Variable{},
		Locals:    map[string]hcl.Expression{},
		Outputs:   map[string]*hclsyntax.Block{},
		Calls:     map[string]*hclsyntax.Block{},
		Files:     map[string]*hclsyntax.Body{},
	}
	p := hclparse.NewParser()
	for _, name := range names {
		src, err := os.ReadFile(name) // #nosec G304 -- a .tf file of the module directory the infra checks were pointed at
		if err != nil {
			return nil, err
		}
		f, diags := p.ParseHCL(src, name)
		if diags.HasErrors() {
			return nil, fmt.Errorf("parse %s: %s", name, diags.Error())
		}
		body := f.Body.(*hclsyntax.Body)
		m.Files[name] = body
		if len(body.Attributes) > 0 {
			return nil, fmt.Errorf("%s: top-level attributes are not Terraform", name)
		}
		for _, b := range body.Blocks {
			if err := m.add(b, name); err != nil {
				return nil, err
			}
		}
	}
	l.modules[dir] = m
	return m, nil
}

func (m *Module) add(b *hclsyntax.Block, file string) error {
	dup := func(kind, name string) error {
		return fmt.Errorf("%s: duplicate %s %q", file, kind, name)
	}
	switch b.Type {
	case "variable":
		name := b.Labels[0]
		if _, ok := m.Variables[name]; ok {
			return dup("variable", name)
		}
		v := &Variable{Name: name, Block: b, File: file, Type: cty.DynamicPseudoType}
		if a, ok := b.Body.Attributes["type"]; ok {
			ty, defs, diags := typeexpr.TypeConstraintWithDefaults(a.Expr)
			if diags.HasErrors() {
				return fmt.Errorf("%s: variable %s: %s", file, name, diags.Error())
			}
			v.Type, v.Defaults, v.HasType = ty, defs, true
		}
		if a, ok := b.Body.Attributes["description"]; ok {
			d, diags := a.Expr.Value(nil)
			if !diags.HasErrors() && d.Type() == cty.String && d.IsKnown() && !d.IsNull() {
				v.Description = d.AsString()
			}
		}
		if a, ok := b.Body.Attributes["default"]; ok {
			v.Default = a.Expr
		}
		if a, ok := b.Body.Attributes["sensitive"]; ok {
			s, _ := a.Expr.Value(nil)
			v.Sensitive = s.Type() == cty.Bool && s.True()
		}
		m.Variables[name] = v
	case "locals":
		for name, a := range b.Body.Attributes {
			if _, ok := m.Locals[name]; ok {
				return dup("local", name)
			}
			m.Locals[name] = a.Expr
		}
	case "output":
		if _, ok := m.Outputs[b.Labels[0]]; ok {
			return dup("output", b.Labels[0])
		}
		m.Outputs[b.Labels[0]] = b
	case "module":
		if _, ok := m.Calls[b.Labels[0]]; ok {
			return dup("module", b.Labels[0])
		}
		m.Calls[b.Labels[0]] = b
	case "resource", "data":
		r := &Resource{Mode: b.Type, Type: b.Labels[0], Name: b.Labels[1], Block: b, File: file}
		for _, o := range m.Resources {
			if o.Addr() == r.Addr() {
				return dup(b.Type, r.Addr())
			}
		}
		m.Resources = append(m.Resources, r)
	case "terraform":
		m.Terraform = append(m.Terraform, b)
	case "provider":
		m.Providers = append(m.Providers, b)
	case "check", "moved", "import", "removed":
	default:
		return fmt.Errorf("%s: unexpected block %q", file, b.Type)
	}
	return nil
}

// Source returns the source text of an attribute of a variable block.
func (v *Variable) Source(attr string) string {
	a, ok := v.Block.Body.Attributes[attr]
	if !ok {
		return ""
	}
	src, err := os.ReadFile(v.File)
	if err != nil {
		return ""
	}
	r := a.Expr.Range()
	return string(src[r.Start.Byte:r.End.Byte])
}

// Validate evaluates the validation blocks of a variable for a value, as
// Terraform does before a plan. It returns the error messages of the
// conditions that fail.
func (v *Variable) Validate(val cty.Value) ([]string, error) {
	if v.Defaults != nil {
		val = v.Defaults.Apply(val)
	}
	conv, err := convert.Convert(val, v.Type)
	if err != nil {
		return []string{"type: " + err.Error()}, nil
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{v.Name: conv})},
		Functions: functions(),
	}
	var failed []string
	for _, b := range v.Block.Body.Blocks {
		if b.Type != "validation" {
			continue
		}
		cond, diags := b.Body.Attributes["condition"].Expr.Value(ctx)
		if diags.HasErrors() {
			return nil, fmt.Errorf("var.%s validation: %s", v.Name, diags.Error())
		}
		if !cond.IsKnown() || cond.IsNull() {
			return nil, fmt.Errorf("var.%s validation is not known", v.Name)
		}
		if cond.False() {
			msg, _ := b.Body.Attributes["error_message"].Expr.Value(ctx)
			failed = append(failed, msg.AsString())
		}
	}
	return failed, nil
}

// Find returns the resource with this address ("type.name" or "data.type.name").
func (m *Module) Find(addr string) *Resource {
	for _, r := range m.Resources {
		if r.Addr() == addr {
			return r
		}
	}
	return nil
}

// OfType returns the managed resources of a type.
func (m *Module) OfType(typ string) []*Resource {
	var out []*Resource
	for _, r := range m.Resources {
		if r.Mode == "resource" && r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// Instance is a module evaluated with a set of input values.
type Instance struct {
	Module   *Module
	Path     string // e.g. "envs/production/module.ecs"
	Parent   *Instance
	loader   *Loader
	vars     map[string]cty.Value
	locals   map[string]cty.Value
	busy     map[string]bool
	children map[string]*Instance
	outputs  cty.Value
	computed map[string]cty.Value // resource type -> object of names (Loader.Computed)
	// Problems collects what Terraform would reject.
	Problems *[]string
}

// Instantiate evaluates the module in dir with the given input values
// (absent inputs take their defaults).
func (l *Loader) Instantiate(dir string, inputs map[string]cty.Value) (*Instance, error) {
	var problems []string
	return l.instantiate(dir, inputs, dir, nil, &problems)
}

func (l *Loader) instantiate(dir string, inputs map[string]cty.Value, path string, parent *Instance, problems *[]string) (*Instance, error) {
	m, err := l.Load(dir)
	if err != nil {
		return nil, err
	}
	in := &Instance{
		Module: m, Path: path, Parent: parent, loader: l,
		vars: map[string]cty.Value{}, locals: map[string]cty.Value{}, busy: map[string]bool{},
		children: map[string]*Instance{}, computed: map[string]cty.Value{}, Problems: problems,
	}
	for name := range inputs {
		if _, ok := m.Variables[name]; !ok {
			in.problem("input %q is not a variable of %s", name, dir)
		}
	}
	for name, v := range m.Variables {
		val, given := inputs[name]
		if !given {
			if v.Default == nil {
				val = cty.NullVal(v.Type)
			} else {
				d, diags := v.Default.Value(nil)
				if diags.HasErrors() {
					return nil, fmt.Errorf("%s: default of var.%s: %s", path, name, diags.Error())
				}
				val = d
			}
		}
		if v.Defaults != nil {
			val = v.Defaults.Apply(val)
		}
		conv, err := convert.Convert(val, v.Type)
		if err != nil {
			return nil, fmt.Errorf("%s: var.%s: %v", path, name, err)
		}
		in.vars[name] = conv
	}
	in.checkReferences()
	return in, nil
}

func (in *Instance) problem(format string, args ...any) {
	*in.Problems = append(*in.Problems, in.Path+": "+fmt.Sprintf(format, args...))
}

// Var returns the value of a variable.
func (in *Instance) Var(name string) cty.Value { return in.vars[name] }

// Local evaluates a local value.
func (in *Instance) Local(name string) (cty.Value, error) {
	if v, ok := in.locals[name]; ok {
		return v, nil
	}
	expr, ok := in.Module.Locals[name]
	if !ok {
		return cty.NilVal, fmt.Errorf("%s: no local.%s", in.Path, name)
	}
	if in.busy[name] {
		return cty.NilVal, fmt.Errorf("%s: local.%s refers to itself", in.Path, name)
	}
	in.busy[name] = true
	defer delete(in.busy, name)
	v, err := in.Eval(expr, nil)
	if err != nil {
		return cty.NilVal, fmt.Errorf("local.%s: %w", name, err)
	}
	in.locals[name] = v
	return v, nil
}

// Child evaluates the module call `name`.
func (in *Instance) Child(name string) (*Instance, error) {
	if c, ok := in.children[name]; ok {
		return c, nil
	}
	call, ok := in.Module.Calls[name]
	if !ok {
		return nil, fmt.Errorf("%s: no module %q", in.Path, name)
	}
	src, ok := call.Body.Attributes["source"]
	if !ok {
		return nil, fmt.Errorf("%s: module %q has no source", in.Path, name)
	}
	sv, diags := src.Expr.Value(nil)
	if diags.HasErrors() || sv.Type() != cty.String {
		return nil, fmt.Errorf("%s: module %q: source must be a literal string", in.Path, name)
	}
	source := sv.AsString()
	if !strings.HasPrefix(source, "./") && !strings.HasPrefix(source, "../") {
		return nil, fmt.Errorf("%s: module %q: only local sources can be evaluated offline, not %q", in.Path, name, source)
	}
	inputs := map[string]cty.Value{}
	for an, a := range call.Body.Attributes {
		switch an {
		case "source", "version", "count", "for_each", "providers", "depends_on":
			continue
		}
		v, err := in.Eval(a.Expr, nil)
		if err != nil {
			return nil, fmt.Errorf("module %q input %s: %w", name, an, err)
		}
		inputs[an] = v
	}
	c, err := in.loader.instantiate(filepath.Join(in.Module.Dir, source), inputs, in.Path+"/module."+name, in, in.Problems)
	if err != nil {
		return nil, err
	}
	in.children[name] = c
	return c, nil
}

// Outputs evaluates every output of the instance.
func (in *Instance) Outputs() (cty.Value, error) {
	if in.outputs != cty.NilVal {
		return in.outputs, nil
	}
	vals := map[string]cty.Value{}
	for name, b := range in.Module.Outputs {
		a, ok := b.Body.Attributes["value"]
		if !ok {
			return cty.NilVal, fmt.Errorf("%s: output %s has no value", in.Path, name)
		}
		v, err := in.Eval(a.Expr, nil)
		if err != nil {
			return cty.NilVal, fmt.Errorf("output %s: %w", name, err)
		}
		vals[name] = v
	}
	for name, v := range in.loader.OutputMocks[in.relPath()] {
		if _, ok := vals[name]; !ok {
			return cty.NilVal, fmt.Errorf("%s: mocked output %q is not an output of the module", in.Path, name)
		}
		vals[name] = v
	}
	in.outputs = cty.ObjectVal(vals)
	return in.outputs, nil
}

// relPath is the instance's path below the root instance ("" for the root).
func (in *Instance) relPath() string {
	root := in
	for root.Parent != nil {
		root = root.Parent
	}
	return strings.TrimPrefix(strings.TrimPrefix(in.Path, root.Path), "/")
}

// Output evaluates one output.
func (in *Instance) Output(name string) (cty.Value, error) {
	all, err := in.Outputs()
	if err != nil {
		return cty.NilVal, err
	}
	if !all.Type().HasAttribute(name) {
		return cty.NilVal, fmt.Errorf("%s: no output %q", in.Path, name)
	}
	return all.GetAttr(name), nil
}

// Eval evaluates an expression in the instance, with extra variables such
// as each, count or a dynamic block's iterator.
func (in *Instance) Eval(expr hcl.Expression, extra map[string]cty.Value) (cty.Value, error) {
	ctx, err := in.context(expr, extra)
	if err != nil {
		return cty.NilVal, err
	}
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return cty.NilVal, fmt.Errorf("%s: %s", in.Path, diags.Error())
	}
	return v, nil
}

func (in *Instance) context(expr hcl.Expression, extra map[string]cty.Value) (*hcl.EvalContext, error) {
	vars := map[string]cty.Value{}
	locals := map[string]cty.Value{}
	modules := map[string]cty.Value{}
	for _, tr := range expr.Variables() {
		root := tr.RootName()
		if v, ok := extra[root]; ok {
			vars[root] = v
			continue
		}
		switch root {
		case "var":
			vars["var"] = objectOrEmpty(in.vars)
		case "local":
			name, ok := attrStep(tr, 1)
			if !ok {
				return nil, fmt.Errorf("%s: bad local reference", in.Path)
			}
			v, err := in.Local(name)
			if err != nil {
				return nil, err
			}
			locals[name] = v
		case "module":
			name, ok := attrStep(tr, 1)
			if !ok {
				return nil, fmt.Errorf("%s: bad module reference", in.Path)
			}
			c, err := in.Child(name)
			if err != nil {
				return nil, err
			}
			out, err := c.Outputs()
			if err != nil {
				return nil, err
			}
			modules[name] = out
		case "data":
			vars["data"] = in.dataObject()
		case "path":
			vars["path"] = cty.ObjectVal(map[string]cty.Value{
				"module": cty.StringVal(in.Module.Dir), "root": cty.StringVal("."), "cwd": cty.StringVal("."),
			})
		case "terraform":
			vars["terraform"] = cty.ObjectVal(map[string]cty.Value{"workspace": cty.StringVal("default")})
		default:
			// each, count, self outside their scope and resource
			// attributes: unknown until apply, unless Loader.Computed
			// knows the type.
			v, err := in.computedType(root)
			if err != nil {
				return nil, err
			}
			vars[root] = v
		}
	}
	if len(locals) > 0 {
		vars["local"] = cty.ObjectVal(locals)
	}
	if len(modules) > 0 {
		vars["module"] = cty.ObjectVal(modules)
	}
	return &hcl.EvalContext{Variables: vars, Functions: functions()}, nil
}

// computedType is the value of `typ` (an object of resource names) from
// Loader.Computed, or cty.DynamicVal for a type it does not cover.
func (in *Instance) computedType(typ string) (cty.Value, error) {
	fn := in.loader.Computed[typ]
	if fn == nil || len(in.Module.OfType(typ)) == 0 {
		return cty.DynamicVal, nil
	}
	if v, ok := in.computed[typ]; ok {
		return v, nil
	}
	guard := "resource " + typ
	if in.busy[guard] {
		return cty.NilVal, fmt.Errorf("%s: %s refers to itself", in.Path, typ)
	}
	in.busy[guard] = true
	defer delete(in.busy, guard)
	names := map[string]cty.Value{}
	for _, r := range in.Module.OfType(typ) {
		list, err := in.Instances(r)
		if err != nil {
			// Keys unknown before apply: the instances cannot be told apart.
			names[r.Name] = cty.DynamicVal
			continue
		}
		objs := map[string]cty.Value{}
		var tuple []cty.Value
		for _, ri := range list {
			attrs, err := fn(ri.Body)
			if err != nil {
				return cty.NilVal, fmt.Errorf("%s %s: computed attributes: %w", in.Path, r.Addr(), err)
			}
			o := objectOrEmpty(attrs)
			switch {
			case ri.Key == cty.NilVal:
				names[r.Name] = o
			case ri.Key.Type() == cty.String:
				objs[ri.Key.AsString()] = o
			default:
				tuple = append(tuple, o)
			}
		}
		switch {
		case len(objs) > 0:
			names[r.Name] = cty.ObjectVal(objs)
		case tuple != nil:
			names[r.Name] = cty.TupleVal(tuple)
		case r.Block.Body.Attributes["for_each"] != nil:
			names[r.Name] = cty.EmptyObjectVal
		case r.Block.Body.Attributes["count"] != nil:
			names[r.Name] = cty.EmptyTupleVal
		}
	}
	v := cty.ObjectVal(names)
	in.computed[typ] = v
	return v, nil
}

func (in *Instance) dataObject() cty.Value {
	byType := map[string]map[string]cty.Value{}
	for _, r := range in.Module.Resources {
		if r.Mode != "data" {
			continue
		}
		if byType[r.Type] == nil {
			byType[r.Type] = map[string]cty.Value{}
		}
		v, ok := in.loader.Mocks[r.Type]
		_, counted := r.Block.Body.Attributes["count"]
		_, each := r.Block.Body.Attributes["for_each"]
		if !ok || counted || each {
			v = cty.DynamicVal
		}
		byType[r.Type][r.Name] = v
	}
	obj := map[string]cty.Value{}
	for t, names := range byType {
		obj[t] = cty.ObjectVal(names)
	}
	return objectOrEmpty(obj)
}

func objectOrEmpty(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}

func attrStep(tr hcl.Traversal, i int) (string, bool) {
	if len(tr) <= i {
		return "", false
	}
	switch s := tr[i].(type) {
	case hcl.TraverseAttr:
		return s.Name, true
	case hcl.TraverseIndex:
		if s.Key.Type() == cty.String {
			return s.Key.AsString(), true
		}
	}
	return "", false
}

// ResourceInstance is one instance of a resource after count/for_each.
type ResourceInstance struct {
	Resource *Resource
	Key      cty.Value // count.index or each.key; cty.NilVal for a single instance
	Body     Block
}

// KeyString is the instance key as a string ("" for a single instance).
func (ri *ResourceInstance) KeyString() string {
	switch {
	case ri.Key == cty.NilVal:
		return ""
	case ri.Key.Type() == cty.String:
		return ri.Key.AsString()
	default:
		return ri.Key.AsBigFloat().String()
	}
}

// Instances expands count and for_each of a resource.
func (in *Instance) Instances(r *Resource) ([]*ResourceInstance, error) {
	attrs := r.Block.Body.Attributes
	if a, ok := attrs["count"]; ok {
		v, err := in.Eval(a.Expr, nil)
		if err != nil {
			return nil, fmt.Errorf("%s count: %w", r.Addr(), err)
		}
		if !v.IsKnown() || v.IsNull() {
			return nil, fmt.Errorf("%s: count is not known before apply", r.Addr())
		}
		v, err = convert.Convert(v, cty.Number)
		if err != nil {
			return nil, fmt.Errorf("%s count: %w", r.Addr(), err)
		}
		n, _ := v.AsBigFloat().Int64()
		var out []*ResourceInstance
		for i := int64(0); i < n; i++ {
			idx := cty.NumberIntVal(i)
			extra := map[string]cty.Value{"count": cty.ObjectVal(map[string]cty.Value{"index": idx})}
			out = append(out, &ResourceInstance{Resource: r, Key: idx, Body: Block{in: in, body: r.Block.Body, extra: extra}})
		}
		return out, nil
	}
	if a, ok := attrs["for_each"]; ok {
		v, err := in.Eval(a.Expr, nil)
		if err != nil {
			return nil, fmt.Errorf("%s for_each: %w", r.Addr(), err)
		}
		pairs, err := eachPairs(v)
		if err != nil {
			return nil, fmt.Errorf("%s for_each: %w", r.Addr(), err)
		}
		var out []*ResourceInstance
		for _, p := range pairs {
			extra := map[string]cty.Value{"each": cty.ObjectVal(map[string]cty.Value{"key": p[0], "value": p[1]})}
			out = append(out, &ResourceInstance{Resource: r, Key: p[0], Body: Block{in: in, body: r.Block.Body, extra: extra}})
		}
		return out, nil
	}
	return []*ResourceInstance{{Resource: r, Key: cty.NilVal, Body: Block{in: in, body: r.Block.Body}}}, nil
}

// eachPairs turns a for_each value into (key, value) pairs, in key order.
func eachPairs(v cty.Value) ([][2]cty.Value, error) {
	if v.IsNull() {
		return nil, fmt.Errorf("for_each is null")
	}
	if !v.IsKnown() {
		return nil, fmt.Errorf("for_each is not known before apply")
	}
	ty := v.Type()
	var out [][2]cty.Value
	switch {
	case ty.IsSetType():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if !e.IsKnown() {
				return nil, fmt.Errorf("for_each set has an element not known before apply")
			}
			if e.Type() != cty.String {
				return nil, fmt.Errorf("for_each set must hold strings")
			}
			out = append(out, [2]cty.Value{e, e})
		}
	case ty.IsMapType() || ty.IsObjectType():
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out = append(out, [2]cty.Value{k, e})
		}
	default:
		return nil, fmt.Errorf("for_each needs a map or a set of strings, not %s", ty.FriendlyName())
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0].AsString() < out[j][0].AsString() })
	return out, nil
}

// Block is a block body in the scope of its resource instance (and of the
// dynamic blocks around it).
type Block struct {
	in    *Instance
	body  *hclsyntax.Body
	extra map[string]cty.Value
}

// Has tells whether the block sets an attribute.
func (b Block) Has(name string) bool {
	_, ok := b.body.Attributes[name]
	return ok
}

// Expr returns the expression of an attribute, or nil.
func (b Block) Expr(name string) hcl.Expression {
	if a, ok := b.body.Attributes[name]; ok {
		return a.Expr
	}
	return nil
}

// Attr evaluates an attribute; an absent attribute is a null value.
func (b Block) Attr(name string) (cty.Value, error) {
	a, ok := b.body.Attributes[name]
	if !ok {
		return cty.NullVal(cty.DynamicPseudoType), nil
	}
	return b.in.Eval(a.Expr, b.extra)
}

// AttrDecoded evaluates an attribute; when it is jsonencode(x) it returns x,
// so a structure with some unknown leaves can still be inspected.
func (b Block) AttrDecoded(name string) (cty.Value, error) {
	a, ok := b.body.Attributes[name]
	if !ok {
		return cty.NullVal(cty.DynamicPseudoType), nil
	}
	if call, ok := a.Expr.(*hclsyntax.FunctionCallExpr); ok && call.Name == "jsonencode" && len(call.Args) == 1 {
		return b.in.Eval(call.Args[0], b.extra)
	}
	return b.in.Eval(a.Expr, b.extra)
}

// Blocks returns the nested blocks of a type, static ones and those a
// dynamic block generates.
func (b Block) Blocks(typ string) ([]Block, error) {
	var out []Block
	for _, nb := range b.body.Blocks {
		if nb.Type == typ {
			out = append(out, Block{in: b.in, body: nb.Body, extra: b.extra})
			continue
		}
		if nb.Type != "dynamic" || len(nb.Labels) != 1 || nb.Labels[0] != typ {
			continue
		}
		iter := typ
		if a, ok := nb.Body.Attributes["iterator"]; ok {
			iter = hcl.ExprAsKeyword(a.Expr)
		}
		fe, ok := nb.Body.Attributes["for_each"]
		if !ok {
			return nil, fmt.Errorf("dynamic %q without for_each", typ)
		}
		v, err := b.in.Eval(fe.Expr, b.extra)
		if err != nil {
			return nil, fmt.Errorf("dynamic %q for_each: %w", typ, err)
		}
		if !v.IsKnown() {
			return nil, fmt.Errorf("dynamic %q: for_each not known before apply", typ)
		}
		var content *hclsyntax.Body
		for _, cb := range nb.Body.Blocks {
			if cb.Type == "content" {
				content = cb.Body
			}
		}
		if content == nil {
			return nil, fmt.Errorf("dynamic %q without content", typ)
		}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			extra := map[string]cty.Value{}
			for n, x := range b.extra {
				extra[n] = x
			}
			extra[iter] = cty.ObjectVal(map[string]cty.Value{"key": k, "value": e})
			out = append(out, Block{in: b.in, body: content, extra: extra})
		}
	}
	return out, nil
}

// References lists the traversals of an attribute as dotted strings without
// index steps, e.g. "aws_lb.public.arn".
func (b Block) References(name string) []string {
	a, ok := b.body.Attributes[name]
	if !ok {
		return nil
	}
	return TraversalStrings(a.Expr)
}

// TraversalStrings renders the traversals of an expression.
func TraversalStrings(expr hcl.Expression) []string {
	var out []string
	for _, tr := range expr.Variables() {
		var parts []string
		for _, s := range tr {
			switch s := s.(type) {
			case hcl.TraverseRoot:
				parts = append(parts, s.Name)
			case hcl.TraverseAttr:
				parts = append(parts, s.Name)
			}
		}
		out = append(out, strings.Join(parts, "."))
	}
	return out
}

// checkReferences walks every expression of the module and records the
// references Terraform would reject.
func (in *Instance) checkReferences() {
	m := in.Module
	declared := map[string]bool{}
	for _, r := range m.Resources {
		if r.Mode == "resource" {
			declared[r.Type] = true
		}
	}
	var walk func(body *hclsyntax.Body, scope map[string]bool, where string)
	check := func(expr hcl.Expression, scope map[string]bool, where string) {
		for _, tr := range expr.Variables() {
			root := tr.RootName()
			if scope[root] {
				continue
			}
			second, _ := attrStep(tr, 1)
			switch root {
			case "var":
				if _, ok := m.Variables[second]; !ok {
					in.problem("%s: undeclared var.%s", where, second)
				}
			case "local":
				if _, ok := m.Locals[second]; !ok {
					in.problem("%s: undeclared local.%s", where, second)
				}
			case "module":
				call, ok := m.Calls[second]
				if !ok {
					in.problem("%s: undeclared module.%s", where, second)
					continue
				}
				out, _ := attrStep(tr, 2)
				if out == "" {
					continue
				}
				src, _ := call.Body.Attributes["source"].Expr.Value(nil)
				child, err := in.loader.Load(filepath.Join(m.Dir, src.AsString()))
				if err != nil {
					in.problem("%s: module.%s: %v", where, second, err)
					continue
				}
				if _, ok := child.Outputs[out]; !ok {
					in.problem("%s: module.%s has no output %q", where, second, out)
				}
			case "data":
				third, _ := attrStep(tr, 2)
				if m.Find("data."+second+"."+third) == nil {
					in.problem("%s: undeclared data.%s.%s", where, second, third)
				}
			case "path", "terraform", "each", "count", "self":
			default:
				if !declared[root] {
					in.problem("%s: reference to undeclared %s", where, root)
				} else if m.Find(root+"."+second) == nil {
					in.problem("%s: undeclared resource %s.%s", where, root, second)
				}
			}
		}
	}
	walk = func(body *hclsyntax.Body, scope map[string]bool, where string) {
		for _, a := range body.Attributes {
			check(a.Expr, scope, where)
		}
		for _, b := range body.Blocks {
			inner := scope
			if b.Type == "dynamic" && len(b.Labels) == 1 {
				inner = map[string]bool{}
				for k := range scope {
					inner[k] = true
				}
				iter := b.Labels[0]
				if a, ok := b.Body.Attributes["iterator"]; ok {
					iter = hcl.ExprAsKeyword(a.Expr)
				}
				inner[iter] = true
				// for_each is evaluated outside the iterator's scope.
				if fe, ok := b.Body.Attributes["for_each"]; ok {
					check(fe.Expr, scope, where)
				}
				for _, cb := range b.Body.Blocks {
					walk(cb.Body, inner, where)
				}
				continue
			}
			// variable validations refer to var.<self>; types are not expressions.
			if b.Type == "validation" || b.Type == "precondition" || b.Type == "postcondition" || b.Type == "lifecycle" {
				for _, a := range b.Body.Attributes {
					if a.Name == "ignore_changes" || a.Name == "replace_triggered_by" {
						continue
					}
					check(a.Expr, scope, where)
				}
				for _, nb := range b.Body.Blocks {
					walk(nb.Body, scope, where)
				}
				continue
			}
			walk(b.Body, scope, where)
		}
	}
	for _, b := range m.Files {
		for _, blk := range b.Blocks {
			where := blk.Type + " " + strings.Join(blk.Labels, ".")
			switch blk.Type {
			case "variable":
				// type and default are constants; validations see var.<name>.
				for _, nb := range blk.Body.Blocks {
					walk(nb.Body, map[string]bool{}, where)
				}
			case "terraform":
			case "module":
				// providers = { aws = aws.<alias> } names provider
				// configurations, not values: each must be declared here.
				body := *blk.Body
				body.Attributes = map[string]*hclsyntax.Attribute{}
				for name, a := range blk.Body.Attributes {
					if name == "providers" {
						in.checkProviderMap(a.Expr, where)
						continue
					}
					body.Attributes[name] = a
				}
				walk(&body, map[string]bool{}, where)
			default:
				walk(blk.Body, map[string]bool{}, where)
			}
		}
	}
}

// checkProviderMap checks a module call's providers map: every value is a
// provider configuration this module declares (a provider block, with the
// alias when one is named) or receives (configuration_aliases).
func (in *Instance) checkProviderMap(expr hcl.Expression, where string) {
	pairs, diags := hcl.ExprMap(expr)
	if diags.HasErrors() {
		in.problem("%s: providers is not a map: %s", where, diags.Error())
		return
	}
	declared := map[string]bool{}
	for _, p := range in.Module.Providers {
		name := p.Labels[0]
		if a, ok := p.Body.Attributes["alias"]; ok {
			v, d := a.Expr.Value(nil)
			if d.HasErrors() || v.Type() != cty.String {
				in.problem("%s: provider %s alias is not a string", where, name)
				continue
			}
			name += "." + v.AsString()
		}
		declared[name] = true
	}
	for _, tb := range in.Module.Terraform {
		for _, rp := range tb.Body.Blocks {
			if rp.Type != "required_providers" {
				continue
			}
			for _, a := range rp.Body.Attributes {
				obj, ok := a.Expr.(*hclsyntax.ObjectConsExpr)
				if !ok {
					continue
				}
				for _, item := range obj.Items {
					if hcl.ExprAsKeyword(item.KeyExpr) != "configuration_aliases" {
						continue
					}
					list, _ := hcl.ExprList(item.ValueExpr)
					for _, e := range list {
						if tr, d := hcl.AbsTraversalForExpr(e); !d.HasErrors() {
							if alias, ok := attrStep(tr, 1); ok {
								declared[tr.RootName()+"."+alias] = true
							}
						}
					}
				}
			}
		}
	}
	for _, kv := range pairs {
		key := hcl.ExprAsKeyword(kv.Key)
		tr, d := hcl.AbsTraversalForExpr(kv.Value)
		if key == "" || d.HasErrors() {
			in.problem("%s: providers entries are name = provider[.alias]", where)
			continue
		}
		ref := tr.RootName()
		if alias, ok := attrStep(tr, 1); ok {
			ref += "." + alias
		}
		// The module's default aws provider is an unaliased one; it always
		// exists implicitly.
		if !declared[ref] && strings.Contains(ref, ".") {
			in.problem("%s: providers: %s = %s names no provider configuration of %s", where, key, ref, in.Path)
		}
	}
}

// ResourceRef reads an attribute that names one managed resource instance,
// `type.name.attr` or `type.name[key].attr` (key evaluated in the block's
// scope, so each.key works), and returns "type.name", the key (cty.NilVal
// without one) and the attribute. ok is false for any other expression.
// Tests use it to follow a reference whose value is only known after apply,
// such as a security group id or a role ARN.
func (b Block) ResourceRef(name string) (addr string, key cty.Value, attr string, ok bool) {
	a, has := b.body.Attributes[name]
	if !has {
		return "", cty.NilVal, "", false
	}
	var tr hcl.Traversal
	key = cty.NilVal
	switch e := a.Expr.(type) {
	case *hclsyntax.ScopeTraversalExpr:
		tr = e.Traversal
	case *hclsyntax.RelativeTraversalExpr:
		// type.name[expr].attr parses as an index expression followed by
		// a relative traversal.
		ix, isIndex := e.Source.(*hclsyntax.IndexExpr)
		if !isIndex {
			return "", cty.NilVal, "", false
		}
		coll, isTr := ix.Collection.(*hclsyntax.ScopeTraversalExpr)
		if !isTr {
			return "", cty.NilVal, "", false
		}
		k, err := b.in.Eval(ix.Key, b.extra)
		if err != nil || !k.IsKnown() || k.IsNull() {
			return "", cty.NilVal, "", false
		}
		key = k
		tr = append(append(hcl.Traversal{}, coll.Traversal...), e.Traversal...)
	default:
		return "", cty.NilVal, "", false
	}
	var parts []string
	for _, s := range tr {
		switch s := s.(type) {
		case hcl.TraverseRoot:
			parts = append(parts, s.Name)
		case hcl.TraverseAttr:
			parts = append(parts, s.Name)
		case hcl.TraverseIndex:
			if key != cty.NilVal {
				return "", cty.NilVal, "", false
			}
			key = s.Key
		default:
			return "", cty.NilVal, "", false
		}
	}
	if len(parts) != 3 {
		return "", cty.NilVal, "", false
	}
	switch parts[0] {
	case "var", "local", "module", "data", "each", "count", "path", "terraform", "self":
		return "", cty.NilVal, "", false
	}
	return parts[0] + "." + parts[1], key, parts[2], true
}
