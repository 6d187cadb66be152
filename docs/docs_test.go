// Package docs holds Palisade's documentation. Its test keeps the commands
// in the documents true to the code: every `make` target and every
// `palisade` role or subcommand they name must exist.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// roles reads the roles and subcommands from cmd/palisade/run.go itself,
// so a role a colleague adds is known without editing this test.
func roles(t *testing.T) (map[string]bool, map[string]map[string]bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "cmd", "palisade", "run.go"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	top := map[string]bool{}
	subs := map[string]map[string]bool{}
	caseRe := regexp.MustCompile(`(?m)^\s*case ((?:"-{0,2}[a-z][a-z-]*"(?:,\s*)?)+):`)
	// "-version" and "--help" are spellings of a role, not roles.
	quoted := regexp.MustCompile(`"([a-z][a-z-]*)"`)
	subRe := regexp.MustCompile(`rest\[0\] == "([a-z][a-z-]*)"`)
	locs := caseRe.FindAllStringSubmatchIndex(src, -1)
	for i, loc := range locs {
		names := quoted.FindAllStringSubmatch(src[loc[2]:loc[3]], -1)
		end := len(src)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		// A case body ends at the next case or at the end of its function.
		if f := strings.Index(src[loc[1]:end], "\nfunc "); f >= 0 {
			end = loc[1] + f
		}
		body := src[loc[1]:end]
		for _, n := range names {
			top[n[1]] = true
			for _, s := range subRe.FindAllStringSubmatch(body, -1) {
				if subs[n[1]] == nil {
					subs[n[1]] = map[string]bool{}
				}
				subs[n[1]][s[1]] = true
			}
		}
	}
	for _, want := range []string{"api", "web", "hq", "migrate", "version", "dev"} {
		if !top[want] {
			t.Fatalf("reading run.go found roles %v, not %q: the parser no longer matches run.go", keys(top), want)
		}
	}
	return top, subs
}

func makeTargets(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([a-zA-Z0-9_.-]+):`).FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = true
	}
	return out
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var (
	fence      = regexp.MustCompile("(?s)```[a-z]*\n(.*?)```")
	inlineCode = regexp.MustCompile("`([^`\n]+)`")
	makeCmd    = regexp.MustCompile(`(?:^|[\s;&|(])make((?:\s+[A-Za-z0-9_.=$"'/-]+)*)`)
	// "palisade <word>", also as `go run ./cmd/palisade <word>` and
	// inside JSON command arrays ["palisade","hq","create-operator"].
	// A word followed by "(" is Go code, not a command.
	palisadeCmd = regexp.MustCompile(`(?:^|[\s/"\[(])palisade(?:"\s*,\s*"|\s+)([a-z][a-z-]*)(?:(?:"\s*,\s*"|\s+)([a-z][a-z-]*))?(?:[\s"\]),.;:]|$)`)
)

// code returns the command-like text of a Markdown document: fenced blocks
// and inline code spans. Prose is left out ("make sure", "Palisade builds").
func code(doc string) []string {
	var out []string
	for _, m := range fence.FindAllStringSubmatch(doc, -1) {
		out = append(out, m[1])
	}
	rest := fence.ReplaceAllString(doc, "")
	for _, m := range inlineCode.FindAllStringSubmatch(rest, -1) {
		out = append(out, m[1])
	}
	return out
}

func documents(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, extra := range []string{"../README.md", "../CHANGELOG.md", "../infra/README.md"} {
		if _, err := os.Stat(extra); err == nil {
			files = append(files, extra)
		}
	}
	return files
}

func TestCommandsInDocsExist(t *testing.T) {
	top, subs := roles(t)
	targets := makeTargets(t)
	checked := 0
	for _, f := range documents(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, snippet := range code(string(b)) {
			for _, line := range strings.Split(snippet, "\n") {
				for _, m := range makeCmd.FindAllStringSubmatch(line, -1) {
					for _, arg := range strings.Fields(m[1]) {
						if strings.HasPrefix(arg, "-") || strings.Contains(arg, "=") || strings.ContainsAny(arg, `$"'/`) {
							continue // a flag, a variable, or not a target
						}
						checked++
						if !targets[arg] {
							t.Errorf("%s: `make %s`: the Makefile has no target %q (targets: %v)", f, arg, arg, keys(targets))
						}
					}
				}
				for _, m := range palisadeCmd.FindAllStringSubmatch(line, -1) {
					role, sub := m[1], m[2]
					if !top[role] {
						// "palisade-production-api", "palisade-hq/palisade"
						// and the like are names, not commands.
						if strings.Contains(line, "palisade-"+role) {
							continue
						}
						t.Errorf("%s: `palisade %s`: no such role in cmd/palisade/run.go (roles: %v)\n\t%s", f, role, keys(top), strings.TrimSpace(line))
						continue
					}
					checked++
					if sub != "" && subs[role] != nil && !subs[role][sub] {
						t.Errorf("%s: `palisade %s %s`: %s has no subcommand %q (has %v)", f, role, sub, role, sub, keys(subs[role]))
					}
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d commands checked: the document scan is broken", checked)
	}
}

// The checker must catch what it claims to.
func TestCheckerCatchesMistakes(t *testing.T) {
	top, subs := roles(t)
	targets := makeTargets(t)
	if m := makeCmd.FindStringSubmatch("  make release-check"); m == nil || strings.TrimSpace(m[1]) != "release-check" {
		t.Errorf("make not parsed: %v", m)
	}
	if targets["no-such-target"] {
		t.Error("phantom target")
	}
	m := palisadeCmd.FindStringSubmatch(`"command":["palisade","hq","create-operator","-email"]`)
	if m == nil || m[1] != "hq" || m[2] != "create-operator" {
		t.Errorf("JSON command not parsed: %v", m)
	}
	if !subs["hq"]["create-operator"] {
		t.Errorf("hq create-operator not found in run.go: %v", subs)
	}
	m = palisadeCmd.FindStringSubmatch("go run ./cmd/palisade frobnicate")
	if m == nil || top[m[1]] {
		t.Errorf("unknown role not flagged: %v", m)
	}
	if got := code("make sure `make test` runs\n```sh\nmake images\n```\n"); len(got) != 2 {
		t.Errorf("code spans: %q", got)
	}
}

// The documents the specification's section 9 names exist and are not
// stubs.
func TestSpecDocumentsExist(t *testing.T) {
	for _, f := range []string{"deployment-guide.md", "deployment-checklist.md", "cicd-setup.md", "infrastructure.md", "gap-analysis.md", "operations.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Error(err)
			continue
		}
		if len(b) < 2000 {
			t.Errorf("%s has %d bytes: a stub", f, len(b))
		}
	}
	b, err := os.ReadFile("infrastructure.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "```mermaid"); n < 5 {
		t.Errorf("infrastructure.md has %d Mermaid diagrams, want network, traffic, WebSocket, scan and pipelines", n)
	}
}

// Relative links between documents point at files that exist.
func TestRelativeLinksResolve(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)#:\s]+)(#[^)]*)?\)`)
	for _, f := range documents(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			p := filepath.Join(filepath.Dir(f), m[1])
			if _, err := os.Stat(p); err != nil {
				t.Errorf("%s links to %s, which does not exist", f, m[1])
			}
		}
	}
}
