package auth_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// requiredControls are the ISO/IEC 27001:2022 Annex A controls the control
// map must cover (the security issue's list).
var requiredControls = []string{"5.15", "5.17", "5.18", "8.2", "8.3", "8.5", "8.7", "8.9", "8.12", "8.15",
	"8.16", "8.20", "8.21", "8.22", "8.23", "8.24", "8.25", "8.28", "8.32"}

// TestControlMapNamesRealTests keeps docs/iso27001-controls.md honest: each
// row names tests that exist in the repository, or says what is not built.
func TestControlMapNamesRealTests(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "iso27001-controls.md"))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]bool{}
	testFunc := regexp.MustCompile(`(?m)^func (Test[A-Za-z0-9_]+)\(`)
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".palisade")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range testFunc.FindAllSubmatch(src, -1) {
			tests[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !tests["TestControlMapNamesRealTests"] {
		t.Fatal("the walk did not find this very test; the repository root is wrong")
	}

	row := regexp.MustCompile(`^\| (\d+\.\d+) \| ([^|]+) \|`)
	named := regexp.MustCompile(`\bTest[A-Za-z0-9_]+\b`)
	seen := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		control := m[1]
		if seen[control] {
			t.Errorf("control %s has two rows", control)
		}
		seen[control] = true
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 5 {
			t.Errorf("control %s: %d columns, want 5 (2022, 2013, control, implementation, tests)", control, len(cells))
			continue
		}
		if !regexp.MustCompile(`^(A\.\d+(\.\d+)*(, )?)+$|^new$`).MatchString(cells[1]) {
			t.Errorf("control %s: 2013 column %q is neither A.x.y numbers nor \"new\"", control, cells[1])
		}
		evidence := named.FindAllString(cells[4], -1)
		for _, name := range named.FindAllString(line, -1) {
			if !tests[name] {
				t.Errorf("control %s names %s, which is not a test in any *_test.go file", control, name)
			}
		}
		if len(evidence) == 0 && !strings.Contains(cells[3], "Not built yet") {
			t.Errorf("control %s names no test and does not say what is not built yet", control)
		}
	}
	for _, c := range requiredControls {
		if !seen[c] {
			t.Errorf("control %s is missing from the map", c)
		}
	}
}
