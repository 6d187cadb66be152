package infra_test

// The Inputs/Outputs tables of every module README are generated from the
// HCL (like terraform-docs, which is not available offline). The test fails
// when a README is out of date; `go test ./infra -run TestReadme -update`
// rewrites the tables.

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/infra/tfeval"
)

var update = flag.Bool("update", false, "rewrite generated README tables and COST.md")

const (
	docsBegin = "<!-- BEGIN_TF_DOCS -->"
	docsEnd   = "<!-- END_TF_DOCS -->"
)

func TestReadmeTables(t *testing.T) {
	dirs, err := moduleDirs()
	if err != nil {
		t.Fatal(err)
	}
	loader := tfeval.NewLoader()
	for _, dir := range dirs {
		t.Run(dir, func(t *testing.T) {
			m, err := loader.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "README.md")
			readme, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			begin := bytes.Index(readme, []byte(docsBegin))
			end := bytes.Index(readme, []byte(docsEnd))
			if begin < 0 || end < begin {
				t.Fatalf("%s lacks the %s ... %s markers", path, docsBegin, docsEnd)
			}
			table := docsTable(t, m)
			current := string(readme[begin+len(docsBegin) : end])
			if current == table {
				return
			}
			if !*update {
				t.Fatalf("%s: the Inputs/Outputs tables are out of date; run: go test ./infra -run TestReadme -update", path)
			}
			out := string(readme[:begin+len(docsBegin)]) + table + string(readme[end:])
			if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func docsTable(t *testing.T, m *tfeval.Module) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("\n## Inputs\n\n")
	if len(m.Variables) == 0 {
		b.WriteString("None.\n")
	} else {
		b.WriteString("| Name | Description | Type | Default |\n|------|-------------|------|---------|\n")
		for _, v := range sortedVars(m) {
			fmt.Fprintf(&b, "| `%s` | %s | `%s` | %s |\n", v.Name, cell(v.Description), cell(v.Source("type")), defaultCell(v))
		}
	}
	b.WriteString("\n## Outputs\n\n")
	if len(m.Outputs) == 0 {
		b.WriteString("None.\n")
	} else {
		b.WriteString("| Name | Description |\n|------|-------------|\n")
		names := make([]string, 0, len(m.Outputs))
		for n := range m.Outputs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			o := m.Outputs[n]
			desc := ""
			if a, ok := o.Body.Attributes["description"]; ok {
				if v, diags := a.Expr.Value(nil); !diags.HasErrors() {
					desc = v.AsString()
				}
			}
			fmt.Fprintf(&b, "| `%s` | %s |\n", n, cell(desc))
		}
	}
	return b.String()
}

func defaultCell(v *tfeval.Variable) string {
	if v.Default == nil {
		return "required"
	}
	if v.Sensitive {
		return "(sensitive)"
	}
	text := v.Source("default")
	if len(text) > 120 || strings.Contains(text, "\n") {
		return "see `variables.tf`"
	}
	return "`" + cell(text) + "`"
}

func cell(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.Join(strings.Fields(s), " ")
}
