// Package deploy holds the release pipelines' build specifications and
// scripts (see infra/modules/cicd); these tests check that they parse, that
// everything they name exists, and that the migrate step fails the
// pipeline when the migration fails.
package deploy_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

type buildspec struct {
	Version string `yaml:"version"`
	Env     struct {
		Variables map[string]string `yaml:"variables"`
	} `yaml:"env"`
	Phases map[string]struct {
		OnFailure string   `yaml:"on-failure"`
		Commands  []string `yaml:"commands"`
	} `yaml:"phases"`
	Artifacts struct {
		Files []string `yaml:"files"`
	} `yaml:"artifacts"`
}

func repo(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func readBuildspec(t *testing.T, name string) buildspec {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("buildspec", name))
	if err != nil {
		t.Fatal(err)
	}
	var bs buildspec
	if err := yaml.Unmarshal(b, &bs); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if bs.Version != "0.2" {
		t.Errorf("%s: version %q, want 0.2", name, bs.Version)
	}
	if len(bs.Phases) == 0 {
		t.Fatalf("%s: no phases", name)
	}
	for phase, p := range bs.Phases {
		if !slices.Contains([]string{"install", "pre_build", "build", "post_build"}, phase) {
			t.Errorf("%s: unknown phase %q", name, phase)
		}
		// Without ABORT, CodeBuild goes on to the next phase after a
		// failed command, and could push an untested image.
		if p.OnFailure != "ABORT" {
			t.Errorf("%s: phase %s lacks on-failure: ABORT", name, phase)
		}
	}
	return bs
}

func makeTargets(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo(t), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([a-zA-Z0-9_.-]+):`).FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = true
	}
	return out
}

var (
	makeCall  = regexp.MustCompile(`\bmake\s+((?:[a-z][a-z0-9-]*\s*)+)`)
	pathRef   = regexp.MustCompile(`(?:^|[\s"'=])((?:\./)?(?:deploy|cmd|scripts|dist)/[A-Za-z0-9_./-]+)`)
	goRunPkgs = regexp.MustCompile(`\bgo run (\./cmd/[a-z]+)`)
)

// TestBuildspecsReferToWhatExists: every make target, script and Go
// program the buildspecs call is in the repository.
func TestBuildspecsReferToWhatExists(t *testing.T) {
	targets := makeTargets(t)
	files, err := filepath.Glob("buildspec/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no buildspecs: %v", err)
	}
	for _, f := range files {
		bs := readBuildspec(t, filepath.Base(f))
		for _, p := range bs.Phases {
			for _, cmd := range p.Commands {
				for _, m := range makeCall.FindAllStringSubmatch(cmd, -1) {
					for _, target := range strings.Fields(m[1]) {
						if !targets[target] {
							t.Errorf("%s: `make %s`: no such Makefile target", f, target)
						}
					}
				}
				for _, m := range goRunPkgs.FindAllStringSubmatch(cmd, -1) {
					if _, err := os.Stat(filepath.Join(repo(t), m[1], "main.go")); err != nil {
						t.Errorf("%s: go run %s: %v", f, m[1], err)
					}
				}
				for _, m := range pathRef.FindAllStringSubmatch(cmd, -1) {
					p := strings.TrimPrefix(m[1], "./")
					if strings.HasPrefix(p, "dist/") {
						continue // written by make images
					}
					if _, err := os.Stat(filepath.Join(repo(t), p)); err != nil {
						t.Errorf("%s: refers to %s, which does not exist", f, p)
					}
				}
			}
		}
	}
}

func TestBuildSpecPushesReleaseTagAndWritesImageDefinitions(t *testing.T) {
	bs := readBuildspec(t, "build.yml")
	all := strings.Join(bs.Phases["build"].Commands, "\n")
	for _, want := range []string{
		"release-env.sh",      // the release tag, or fail
		"make test",           // no untested image is pushed
		"make images",         // the image
		`-tag "$RELEASE_TAG"`, // spec 4.3: the release tag, never latest
		"-imagedefinitions imagedefinitions.json",
		`-containers "$CONTAINERS"`,
		"-password-stdin", // the ECR password never on a command line
	} {
		if !strings.Contains(all, want) {
			t.Errorf("build.yml does not contain %q", want)
		}
	}
	if strings.Contains(all, "latest") {
		t.Error("build.yml mentions latest")
	}
	if !slices.Contains(bs.Artifacts.Files, "imagedefinitions.json") {
		t.Errorf("build.yml artifacts %v lack imagedefinitions.json, which the ECS deploy action reads", bs.Artifacts.Files)
	}
	// The steps must run in this order.
	order := []string{"release-env.sh", "make test", "make images", "imagebuild push"}
	last := -1
	for _, step := range order {
		i := strings.Index(all, step)
		if i < last {
			t.Errorf("build.yml runs %q out of order (want %v)", step, order)
		}
		last = i
	}

	ms := readBuildspec(t, "migrate.yml")
	if c := strings.Join(ms.Phases["build"].Commands, "\n"); !strings.Contains(c, "deploy/scripts/migrate.sh") || !strings.Contains(c, "$CODEBUILD_SRC_DIR_image/imagedefinitions.json") {
		t.Errorf("migrate.yml does not run migrate.sh on the build's imagedefinitions.json: %s", c)
	}
}

// TestPipelineModuleRefersToExistingFiles: the buildspec paths in the
// CodeBuild projects exist, and the deploy action reads the file the build
// writes.
func TestPipelineModuleRefersToExistingFiles(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repo(t), "infra", "modules", "cicd", "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	refs := regexp.MustCompile(`"(deploy/[^"]+)"`).FindAllStringSubmatch(src, -1)
	if len(refs) < 2 {
		t.Fatalf("cicd module names %d files under deploy/, want the build and migrate buildspecs", len(refs))
	}
	for _, m := range refs {
		if _, err := os.Stat(filepath.Join(repo(t), m[1])); err != nil {
			t.Errorf("infra/modules/cicd refers to %s: %v", m[1], err)
		}
	}
	if !regexp.MustCompile(`FileName\s*=\s*"imagedefinitions.json"`).MatchString(src) {
		t.Error("the ECS deploy action does not read imagedefinitions.json")
	}
}

// TestReleaseEnv runs release-env.sh in a real git repository.
func TestReleaseEnv(t *testing.T) {
	script := filepath.Join(repo(t), "deploy", "scripts", "release-env.sh")
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
			"GIT_COMMITTER_EMAIL=t@example.com", "GIT_COMMITTER_DATE=2026-11-01T12:00:00Z", "GIT_AUTHOR_DATE=2026-11-01T12:00:00Z")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run := func() (string, error) {
		cmd := exec.Command("bash", script)
		cmd.Dir = dir
		out, err := cmd.Output()
		return string(out), err
	}
	git("init", "-q")
	git("commit", "-q", "--allow-empty", "-m", "one")

	if out, err := run(); err == nil {
		t.Errorf("untagged commit accepted: %s", out)
	}
	git("tag", "latest")
	git("tag", "release-candidate")
	if out, err := run(); err == nil {
		t.Errorf("non-release tags accepted: %s", out)
	}
	git("tag", "v1.2.3")
	git("tag", "v1.10.0")
	out, err := run()
	if err != nil {
		t.Fatalf("tagged commit refused: %v", err)
	}
	for _, want := range []string{"export RELEASE_TAG=v1.10.0\n", "export SOURCE_DATE=2026-11-01T12:00:00Z\n", "export COMMIT="} {
		if !strings.Contains(out, want) {
			t.Errorf("release-env printed %q, want it to contain %q", out, want)
		}
	}
}

// fakeAWS installs an `aws` on PATH that answers the ECS calls of
// migrate.sh from files and records what it was asked.
func fakeAWS(t *testing.T, exitCode string, runFailure bool) (dir string) {
	t.Helper()
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatalf("migrate.sh needs jq (Debian package jq): %v", err)
	}
	dir = t.TempDir()
	taskdef := `{"family":"palisade-production-migrate","taskRoleArn":"arn:aws:iam::1:role/migrate-task","executionRoleArn":"arn:aws:iam::1:role/migrate-exec",
"networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512","runtimePlatform":{"cpuArchitecture":"ARM64","operatingSystemFamily":"LINUX"},
"revision":7,"status":"ACTIVE","containerDefinitions":[{"name":"migrate","image":"repo/palisade:v1.0.0","command":["palisade","migrate"],
"secrets":[{"name":"PALISADE_DB_DSN","valueFrom":"arn:secret:db:dsn::"},{"name":"PALISADE_DB_USER_API","valueFrom":"arn:secret:db-api:dsn::"}]}]}`
	run := `{"tasks":[{"taskArn":"arn:aws:ecs:eu-west-2:1:task/c/abc"}],"failures":[]}`
	if runFailure {
		run = `{"tasks":[],"failures":[{"reason":"RESOURCE:ENI"}]}`
	}
	stopped := `{"tasks":[{"lastStatus":"STOPPED","stoppedReason":"Essential container in task exited","containers":[{"name":"migrate","exitCode":` + exitCode + `}]}]}`
	files := map[string]string{"taskdef.json": taskdef, "run.json": run, "stopped.json": stopped}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := `#!/usr/bin/env bash
d=$(dirname "$0")
echo "$*" >>"$d/calls.log"
case "$2" in
describe-task-definition) jq .taskDefinition <<<"{\"taskDefinition\": $(cat "$d/taskdef.json")}" ;;
register-task-definition)
  f=${4#file://}; cp "$f" "$d/registered.json"
  echo "arn:aws:ecs:eu-west-2:1:task-definition/$(jq -r .family "$f"):1" ;;
run-task) cat "$d/run.json" ;;
describe-tasks)
  n=$(cat "$d/polls" 2>/dev/null || echo 0); echo $((n+1)) >"$d/polls"
  if [ "$n" -lt 1 ]; then echo '{"tasks":[{"lastStatus":"RUNNING","containers":[{"name":"migrate"}]}]}'; else cat "$d/stopped.json"; fi ;;
*) echo "unexpected aws call: $*" >&2; exit 2 ;;
esac
`
	if err := os.WriteFile(filepath.Join(dir, "aws"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runMigrate(t *testing.T, fake string) (string, error) {
	t.Helper()
	defs := filepath.Join(t.TempDir(), "imagedefinitions.json")
	if err := os.WriteFile(defs, []byte(`[{"name":"api","imageUri":"repo/palisade:v1.2.3"},{"name":"worker","imageUri":"repo/palisade:v1.2.3"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(repo(t), "deploy", "scripts", "migrate.sh"), defs)
	cmd.Env = append(os.Environ(), "PATH="+fake+":"+os.Getenv("PATH"), "CLUSTER=palisade-production",
		"TASK_FAMILY=palisade-production-migrate", "CONTAINER=migrate", "SUBNETS=subnet-a,subnet-b", "SECURITY_GROUPS=sg-api", "POLL_SECONDS=0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestMigrateSucceeds(t *testing.T) {
	fake := fakeAWS(t, "0", false)
	out, err := runMigrate(t, fake)
	if err != nil {
		t.Fatalf("migrate.sh failed on exit code 0: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(fake, "registered.json"))
	if err != nil {
		t.Fatal(err)
	}
	var td struct {
		Family               string `json:"family"`
		TaskRoleArn          string `json:"taskRoleArn"`
		ExecutionRoleArn     string `json:"executionRoleArn"`
		ContainerDefinitions []struct {
			Name         string            `json:"name"`
			Image        string            `json:"image"`
			Command      []string          `json:"command"`
			PortMappings []json.RawMessage `json:"portMappings"`
			Secrets      []json.RawMessage `json:"secrets"`
		} `json:"containerDefinitions"`
		Revision *int `json:"revision"`
	}
	if err := json.Unmarshal(b, &td); err != nil {
		t.Fatal(err)
	}
	if td.Family != "palisade-production-migrate" {
		t.Errorf("family %q: want a new revision of the migrate family (the only one with the master DSN)", td.Family)
	}
	if td.TaskRoleArn != "arn:aws:iam::1:role/migrate-task" || td.ExecutionRoleArn != "arn:aws:iam::1:role/migrate-exec" {
		t.Errorf("roles %q %q, want the migrate task's", td.TaskRoleArn, td.ExecutionRoleArn)
	}
	if td.Revision != nil {
		t.Error("read-only field revision passed to register-task-definition")
	}
	if len(td.ContainerDefinitions) != 1 {
		t.Fatalf("%d containers", len(td.ContainerDefinitions))
	}
	c := td.ContainerDefinitions[0]
	if c.Image != "repo/palisade:v1.2.3" || !slices.Equal(c.Command, []string{"palisade", "migrate"}) {
		t.Errorf("container runs %s %v, want the release image and palisade migrate", c.Image, c.Command)
	}
	if len(c.PortMappings) != 0 || len(c.Secrets) != 2 {
		t.Errorf("ports %d (want none), secrets %d (want the migrate task's two)", len(c.PortMappings), len(c.Secrets))
	}
	calls, _ := os.ReadFile(filepath.Join(fake, "calls.log"))
	for _, want := range []string{
		"ecs run-task --cluster palisade-production --task-definition arn:aws:ecs:eu-west-2:1:task-definition/palisade-production-migrate:1 --launch-type FARGATE",
		"awsvpcConfiguration={subnets=[subnet-a,subnet-b],securityGroups=[sg-api],assignPublicIp=DISABLED}",
		"ecs describe-tasks --cluster palisade-production --tasks arn:aws:ecs:eu-west-2:1:task/c/abc",
	} {
		if !strings.Contains(string(calls), want) {
			t.Errorf("aws calls lack %q:\n%s", want, calls)
		}
	}
}

func TestMigrateFailureFailsThePipeline(t *testing.T) {
	for name, tc := range map[string]struct {
		exit       string
		runFailure bool
	}{
		"exit code 1":      {exit: "1"},
		"no exit code":     {exit: "null"},
		"task not started": {exit: "0", runFailure: true},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := runMigrate(t, fakeAWS(t, tc.exit, tc.runFailure))
			if err == nil {
				t.Errorf("migrate.sh succeeded:\n%s", out)
			}
		})
	}
}
