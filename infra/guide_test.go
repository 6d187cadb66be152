package infra_test

// docs/deployment-guide.md is a sequence of commands against this
// Terraform; a renamed output, module, variable or script makes a first
// deployment fail halfway. This test reads the guide and checks every
// Terraform name and deploy script it uses.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestDeploymentGuideNamesWhatExists(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "deployment-guide.md"))
	if err != nil {
		t.Fatal(err)
	}
	guide := string(b)
	in := root(t, "production", nil)
	found := map[string]int{}

	// tofu output [-json|-raw] NAME
	for _, m := range regexp.MustCompile(`tofu output (?:-json |-raw )?([a-z_]+)`).FindAllStringSubmatch(guide, -1) {
		found["output"]++
		if _, ok := in.Module.Outputs[m[1]]; !ok {
			t.Errorf("the guide reads output %q, which envs/production does not have", m[1])
		}
	}
	// -target=module.NAME[.TYPE.NAME]
	for _, m := range regexp.MustCompile(`-target=module\.([a-z_]+)(?:\.([a-z0-9_]+\.[a-z0-9_]+))?`).FindAllStringSubmatch(guide, -1) {
		found["target"]++
		if _, ok := in.Module.Calls[m[1]]; !ok {
			t.Errorf("the guide targets module.%s, which envs/production does not call", m[1])
			continue
		}
		if m[2] != "" && child(t, in, m[1]).Module.Find(m[2]) == nil {
			t.Errorf("the guide targets module.%s.%s, which does not exist", m[1], m[2])
		}
	}
	// The variables of the tfvars file it writes, and -var NAME=.
	tfvars := regexp.MustCompile(`(?s)cat > production\.auto\.tfvars <<'HCL'\n(.*?)\nHCL`).FindStringSubmatch(guide)
	if tfvars == nil {
		t.Fatal("the guide writes no production.auto.tfvars")
	}
	vars := regexp.MustCompile(`(?m)^#?\s*([a-z_]+)\s*=`).FindAllStringSubmatch(tfvars[1], -1)
	vars = append(vars, regexp.MustCompile(`-var ([a-z_]+)=`).FindAllStringSubmatch(guide, -1)...)
	for _, m := range vars {
		found["variable"]++
		if _, ok := in.Module.Variables[m[1]]; !ok {
			t.Errorf("the guide sets variable %q, which envs/production does not declare", m[1])
		}
	}
	// The keys of the task_network output it reads with jq.
	for _, m := range regexp.MustCompile(`jq -r '\.(subnets|security_groups)\b`).FindAllStringSubmatch(guide, -1) {
		found["task_network"]++
		src := string(mustRead(t, filepath.Join("envs", "production", "outputs.tf")))
		if !regexp.MustCompile(`(?s)output "task_network".*?\b` + m[1] + `\s*=`).MatchString(src) {
			t.Errorf("task_network has no key %s", m[1])
		}
	}
	// Scripts, and the environment variables it gives them.
	for _, loc := range regexp.MustCompile(`bash (deploy/scripts/[a-z-]+\.sh)`).FindAllStringSubmatchIndex(guide, -1) {
		found["script"]++
		name := guide[loc[2]:loc[3]]
		script := string(mustRead(t, filepath.Join("..", name)))
		// The assignments of the command: back to the start of its code block.
		cmd := guide[strings.LastIndex(guide[:loc[0]], "```"):loc[0]]
		for _, a := range regexp.MustCompile(`(?:^|[\s(])([A-Z][A-Z_]+)=`).FindAllStringSubmatch(cmd, -1) {
			if !strings.Contains(script, a[1]) {
				t.Errorf("the guide passes %s to %s, which does not read it", a[1], name)
			}
		}
	}
	for _, what := range []string{"output", "target", "variable", "task_network", "script"} {
		if found[what] == 0 {
			t.Errorf("found no %s in the guide: the patterns no longer match it", what)
		}
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
