package infra

import (
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// TestEnvironmentsHaveTheirDefaultProvider: each environment configures
// one default (un-aliased) aws provider in its own region, beside any
// aliased ones (the backup copy's). Without it every resource would go to
// whatever region the deployer's shell names; a merge once dropped it, and
// no other check noticed.
func TestEnvironmentsHaveTheirDefaultProvider(t *testing.T) {
	for _, env := range []string{"production", "staging"} {
		t.Run(env, func(t *testing.T) {
			f, diags := hclparse.NewParser().ParseHCLFile(filepath.Join("envs", env, "main.tf"))
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			defaults := 0
			for _, b := range f.Body.(*hclsyntax.Body).Blocks {
				if b.Type != "provider" || len(b.Labels) != 1 || b.Labels[0] != "aws" {
					continue
				}
				if _, aliased := b.Body.Attributes["alias"]; aliased {
					continue
				}
				defaults++
				region, ok := b.Body.Attributes["region"]
				if !ok {
					t.Fatal("the default aws provider sets no region")
				}
				if !refersToVar(region.Expr, "region") {
					t.Errorf("the default aws provider's region is not var.region")
				}
			}
			if defaults != 1 {
				t.Fatalf("%d default aws providers in envs/%s/main.tf, want 1", defaults, env)
			}
		})
	}
}

func refersToVar(e hcl.Expression, name string) bool {
	for _, tr := range e.Variables() {
		if tr.RootName() == "var" && len(tr) > 1 {
			if a, ok := tr[1].(hcl.TraverseAttr); ok && a.Name == name {
				return true
			}
		}
	}
	return false
}
