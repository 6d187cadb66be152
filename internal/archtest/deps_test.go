package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/palisade-hq/palisade/"

// deps lists every package pkg builds on (not its tests), as the compiler
// sees them.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", mod+pkg).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list %s: %v\n%s", pkg, err, stderr)
	}
	return strings.Fields(string(out))
}

// rule: pkg must not depend on any package whose path is one of forbidden
// or under it (a trailing "/" forbids only the subpackages).
type rule struct {
	pkg       string
	forbidden []string
	why       string
}

var rules = []rule{
	{"internal/jobs", []string{mod + "internal/store", mod + "internal/realtime", mod + "internal/files", mod + "internal/maintenance", mod + "internal/offboarding", mod + "internal/app"},
		"jobs is plumbing: features define and register their own jobs, internal/app assembles them"},
	{"internal/hq", []string{mod + "internal/store", "modernc.org/sqlite", "github.com/pressly/goose"},
		"the HQ BFF talks to the API over HTTP and links no storage"},
	{"internal/web", []string{mod + "internal/store", "modernc.org/sqlite", "github.com/pressly/goose", mod + "internal/realtime="},
		"the web BFF talks to the API over HTTP and links no storage"},
	{"internal/api", []string{mod + "internal/realtime="},
		"the API signs channels with internal/realtime/channels, not the realtime server"},
	{"internal/realtime/channels", []string{mod + "internal/realtime=", mod + "internal/store", mod + "internal/jobs", mod + "internal/core"},
		"channel names and auth are a leaf every side can import"},
}

// forbids reports whether dep breaks f: "p" forbids p and everything
// under p/, "p=" forbids p alone.
func forbids(f, dep string) bool {
	if exact, ok := strings.CutSuffix(f, "="); ok {
		return dep == exact
	}
	return dep == f || strings.HasPrefix(dep, f+"/")
}

func TestDependencyRules(t *testing.T) {
	for _, r := range rules {
		t.Run(r.pkg, func(t *testing.T) {
			for _, d := range deps(t, r.pkg) {
				for _, f := range r.forbidden {
					if forbids(f, d) {
						t.Errorf("%s depends on %s: %s (docs/architecture.md)", r.pkg, d, r.why)
					}
				}
			}
		})
	}
}

// TestRulesSeeRealDependencies: the check is not vacuous. internal/app
// does build on the store and the realtime server, and the matcher tells
// the realtime server from its channels leaf.
func TestRulesSeeRealDependencies(t *testing.T) {
	var store, server bool
	for _, d := range deps(t, "internal/app") {
		store = store || forbids(mod+"internal/store", d)
		server = server || forbids(mod+"internal/realtime=", d)
	}
	if !store || !server {
		t.Fatalf("internal/app's deps show store=%v realtime server=%v; the dependency listing is broken", store, server)
	}
	if forbids(mod+"internal/realtime=", mod+"internal/realtime/channels") || !forbids(mod+"internal/realtime", mod+"internal/realtime/channels") {
		t.Fatal("forbids mixes up a package and its subpackages")
	}
}
