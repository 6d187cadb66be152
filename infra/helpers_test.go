package infra_test

import (
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/palisade-hq/palisade/infra/tfeval"
)

var envs = []string{"staging", "production"}

// root evaluates infra/envs/<env> with optional overrides of its variables.
func root(t *testing.T, env string, inputs map[string]cty.Value) *tfeval.Instance {
	t.Helper()
	in, err := tfeval.NewLoader().Instantiate(filepath.Join("envs", env), inputs)
	if err != nil {
		t.Fatalf("evaluate envs/%s: %v", env, err)
	}
	return in
}

func child(t *testing.T, in *tfeval.Instance, name string) *tfeval.Instance {
	t.Helper()
	c, err := in.Child(name)
	if err != nil {
		t.Fatalf("module %s: %v", name, err)
	}
	return c
}

// instances returns the instances of "type.name" keyed by their key ("" for
// a single instance).
func instances(t *testing.T, in *tfeval.Instance, addr string) map[string]*tfeval.ResourceInstance {
	t.Helper()
	r := in.Module.Find(addr)
	if r == nil {
		t.Fatalf("%s: no %s", in.Path, addr)
	}
	list, err := in.Instances(r)
	if err != nil {
		t.Fatalf("%s: %v", in.Path, err)
	}
	out := map[string]*tfeval.ResourceInstance{}
	for _, ri := range list {
		out[ri.KeyString()] = ri
	}
	return out
}

func one(t *testing.T, in *tfeval.Instance, addr string) tfeval.Block {
	t.Helper()
	got := instances(t, in, addr)
	if len(got) != 1 {
		t.Fatalf("%s: want exactly one %s, got %d", in.Path, addr, len(got))
	}
	for _, ri := range got {
		return ri.Body
	}
	panic("unreachable")
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func attr(t *testing.T, b tfeval.Block, name string) cty.Value {
	t.Helper()
	v, err := b.Attr(name)
	if err != nil {
		t.Fatalf("attribute %s: %v", name, err)
	}
	return v
}

func blocks(t *testing.T, b tfeval.Block, typ string) []tfeval.Block {
	t.Helper()
	out, err := b.Blocks(typ)
	if err != nil {
		t.Fatalf("blocks %s: %v", typ, err)
	}
	return out
}

func oneBlock(t *testing.T, b tfeval.Block, typ string) tfeval.Block {
	t.Helper()
	bs := blocks(t, b, typ)
	if len(bs) != 1 {
		t.Fatalf("want one %s block, got %d", typ, len(bs))
	}
	return bs[0]
}

// goValue turns a known cty value into plain Go values (string, int64 or
// float64, bool, []any, map[string]any); unknown leaves become "<unknown>".
func goValue(v cty.Value) any {
	if !v.IsKnown() {
		return "<unknown>"
	}
	if v.IsNull() {
		return nil
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return v.AsString()
	case ty == cty.Number:
		f := v.AsBigFloat()
		if f.IsInt() {
			i, _ := f.Int64()
			return i
		}
		x, _ := f.Float64()
		return x
	case ty == cty.Bool:
		return v.True()
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType():
		out := []any{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, goValue(e))
		}
		return out
	case ty.IsMapType() || ty.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = goValue(e)
		}
		return out
	}
	return fmt.Sprintf("<%s>", ty.FriendlyName())
}

func wantString(t *testing.T, what string, v cty.Value, want string) {
	t.Helper()
	if !v.IsKnown() || v.IsNull() || v.Type() != cty.String || v.AsString() != want {
		t.Errorf("%s = %v, want %q", what, goValue(v), want)
	}
}

func wantNumber(t *testing.T, what string, v cty.Value, want int64) {
	t.Helper()
	if !v.IsKnown() || v.IsNull() {
		t.Errorf("%s = %v, want %d", what, goValue(v), want)
		return
	}
	if v.Type() == cty.String {
		if v.AsString() != fmt.Sprint(want) {
			t.Errorf("%s = %q, want %d", what, v.AsString(), want)
		}
		return
	}
	if v.Type() != cty.Number || v.AsBigFloat().Cmp(new(big.Float).SetInt64(want)) != 0 {
		t.Errorf("%s = %v, want %d", what, goValue(v), want)
	}
}

func wantBool(t *testing.T, what string, v cty.Value, want bool) {
	t.Helper()
	if !v.IsKnown() || v.IsNull() || v.Type() != cty.Bool || v.True() != want {
		t.Errorf("%s = %v, want %v", what, goValue(v), want)
	}
}

// wantSet compares string collections regardless of order.
func wantSet(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	g := append([]string(nil), got...)
	w := append([]string(nil), want...)
	sort.Strings(g)
	sort.Strings(w)
	if strings.Join(g, "\x00") != strings.Join(w, "\x00") {
		t.Errorf("%s = %q, want %q", what, g, w)
	}
}

func strings_(v cty.Value) []string {
	var out []string
	if !v.IsKnown() || v.IsNull() {
		return nil
	}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsKnown() && !e.IsNull() && e.Type() == cty.String {
			out = append(out, e.AsString())
		} else {
			out = append(out, "<unknown>")
		}
	}
	return out
}

// setNonNull fails when an attribute is absent or null (an unknown value,
// such as a KMS key ARN known only after apply, counts as set).
func setNonNull(t *testing.T, what string, b tfeval.Block, name string) {
	t.Helper()
	if !b.Has(name) {
		t.Errorf("%s: %s is not set", what, name)
		return
	}
	if v := attr(t, b, name); v.IsNull() {
		t.Errorf("%s: %s is null", what, name)
	}
}

func refersTo(b tfeval.Block, name, prefix string) bool {
	for _, r := range b.References(name) {
		if strings.HasPrefix(r, prefix) {
			return true
		}
	}
	return false
}

// walk visits every module instance under in (in included).
func walk(t *testing.T, in *tfeval.Instance, visit func(*tfeval.Instance)) {
	t.Helper()
	visit(in)
	for _, name := range keys(in.Module.Calls) {
		walk(t, child(t, in, name), visit)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func equalAny(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// sourceOf returns the text of a resource block.
func sourceOf(r *tfeval.Resource) []byte {
	src, err := os.ReadFile(r.File)
	if err != nil {
		return nil
	}
	rng := r.Block.Range()
	return src[rng.Start.Byte:rng.End.Byte]
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// moduleDirs lists infra/modules/* and infra/envs/*.
func moduleDirs() ([]string, error) {
	var out []string
	for _, pat := range []string{"modules/*", "envs/*"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			return nil, err
		}
		out = append(out, m...)
	}
	sort.Strings(out)
	return out, nil
}
