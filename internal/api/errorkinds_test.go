package api_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	apispec "github.com/palisade-hq/palisade/api"
	"github.com/palisade-hq/palisade/internal/wire"
)

// wireKindConsts is every constant of type Kind declared in internal/wire,
// read from the source, so a kind declared but left out of wire.Kinds()
// is caught too.
func wireKindConsts(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../wire/wire.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, sp := range g.Specs {
			vs := sp.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Kind" {
				continue
			}
			for _, v := range vs.Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok {
					t.Fatalf("kind constant %s is not a string literal", vs.Names[0].Name)
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, s)
			}
		}
	}
	return out
}

// errorProps is the properties of the error object of a schema.
func errorProps(t *testing.T, doc *openapi3.T, schema string) openapi3.Schemas {
	t.Helper()
	s := doc.Components.Schemas[schema]
	if s == nil || s.Value.Properties["error"] == nil {
		t.Fatalf("api/openapi.yaml has no schema %s with an error object", schema)
	}
	return s.Value.Properties["error"].Value.Properties
}

func enumOf(t *testing.T, props openapi3.Schemas, name string) []string {
	t.Helper()
	p := props[name]
	if p == nil {
		t.Fatalf("the error object has no %s", name)
	}
	var out []string
	for _, v := range p.Value.Enum {
		s, ok := v.(string)
		if !ok {
			t.Fatalf("%s enum value %v is not a string", name, v)
		}
		out = append(out, s)
	}
	return out
}

// TestOpenAPIErrorKinds keeps the error kinds of internal/wire and the
// OpenAPI document's enum the same set: a kind added on one side only
// fails here.
func TestOpenAPIErrorKinds(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(apispec.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	spec := enumOf(t, errorProps(t, doc, "Error"), "kind")
	consts := wireKindConsts(t)
	var listed []string
	for _, k := range wire.Kinds() {
		listed = append(listed, string(k))
	}
	if len(consts) < 5 {
		t.Fatalf("found only %d kind constants in internal/wire; the parser is stale", len(consts))
	}
	for _, c := range []struct {
		name string
		got  []string
	}{{"constants of internal/wire", consts}, {"wire.Kinds()", listed}} {
		for _, k := range c.got {
			if !slices.Contains(spec, k) {
				t.Errorf("kind %q of the %s is missing from the Error schema's kind enum", k, c.name)
			}
		}
		for _, k := range spec {
			if !slices.Contains(c.got, k) {
				t.Errorf("kind %q of the Error schema's enum is missing from the %s", k, c.name)
			}
		}
		if len(c.got) != len(spec) {
			t.Errorf("the %s hold %d kinds (duplicates?), the enum %d", c.name, len(c.got), len(spec))
		}
	}
	// A scan refusal is an error too: its kinds are kinds of the set.
	for _, k := range enumOf(t, errorProps(t, doc, "ScanRefusal"), "kind") {
		if !slices.Contains(consts, k) {
			t.Errorf("ScanRefusal kind %q is not a kind of internal/wire", k)
		}
	}
}
