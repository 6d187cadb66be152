package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// extendingPackages are the packages docs/extending.md names symbols of,
// by the name it uses and their directory.
var extendingPackages = map[string]string{
	"api": "internal/api", "s": "internal/api", "app": "internal/app", "bff": "internal/bff",
	"channels": "internal/realtime/channels", "core": "internal/core", "httpx": "internal/httpx",
	"jobs": "internal/jobs", "outbox": "internal/outbox", "store": "internal/store",
	"testenv": "internal/testenv", "ui": "internal/ui", "wire": "internal/wire",
}

// TestExtendingNamesRealThings keeps docs/extending.md true: every path it
// names exists, every pkg.Symbol (or Type.Method, or s.method of the API
// server) is declared in that package, and every Test name is a test. The
// example feature ("projects") and placeholders (000NN) are exempt.
func TestExtendingNamesRealThings(t *testing.T) {
	b, err := os.ReadFile("extending.md")
	if err != nil {
		t.Fatal(err)
	}
	var paths, symbols, tests int
	sym := regexp.MustCompile(`^([A-Za-z]+)\.([A-Za-z][A-Za-z0-9]*)(?:\(.*\))?$`)
	for _, c := range code(string(b)) {
		if strings.Contains(c, "projects") || strings.Contains(c, "Project") || strings.Contains(c, "000NN") {
			continue
		}
		switch m := sym.FindStringSubmatch(c); {
		case strings.HasPrefix(c, "Test"):
			tests++
			if !declared(t, "..", `func `+regexp.QuoteMeta(c)+`\(t \*testing\.T\)`, true) {
				t.Errorf("extending.md names %s, which is no test", c)
			}
		case strings.HasPrefix(c, "/api/"): // a route
			paths++
			if !declared(t, "../internal/api", `"[A-Z]+ `+regexp.QuoteMeta(c)+`"`, false) {
				t.Errorf("extending.md names the route %s, which internal/api does not serve", c)
			}
		case m != nil && m[2] == strings.ToLower(m[2]) && m[1] != "s": // a job's name
			symbols++
			if !declared(t, "../internal", `"`+regexp.QuoteMeta(c)+`"`, false) {
				t.Errorf("extending.md names the job %s, which no package defines", c)
			}
		case strings.Contains(c, "/") && !strings.ContainsAny(c, " ("):
			paths++
			if _, err := os.Stat(filepath.Join("..", strings.TrimSuffix(c, "/"))); err != nil {
				t.Errorf("extending.md names %s, which does not exist", c)
			}
		case m != nil:
			symbols++
			pkg, name := m[1], m[2]
			dir, ok := extendingPackages[pkg]
			if !ok { // Type.Method: a method of a type in one of the packages
				if !declared(t, "../internal", `func \([a-z]+ \*?`+pkg+`\) `+name+`\(`, false) {
					t.Errorf("extending.md names %s, which no package declares", c)
				}
				continue
			}
			decl := `(?m)(^func (\([a-z]+ \*?[A-Z][A-Za-z]*\) )?` + name + `[\[(]|^type ` + name + `\b|^\s*` + name + `\s+(=|[A-Za-z*\[]))`
			if !declared(t, filepath.Join("..", dir), decl, false) {
				t.Errorf("extending.md names %s, which %s does not declare", c, dir)
			}
		}
	}
	if paths < 10 || symbols < 15 || tests < 3 {
		t.Fatalf("checked %d paths, %d symbols and %d tests: the reader no longer finds what extending.md names", paths, symbols, tests)
	}
}

// declared reports whether a Go file under dir (tests only if tests, else
// non-test files) matches the pattern.
func declared(t *testing.T, dir, pattern string, tests bool) bool {
	t.Helper()
	re := regexp.MustCompile(pattern)
	found := false
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || found {
			return err
		}
		if d.IsDir() && p != dir && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") != tests {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		found = re.Match(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
