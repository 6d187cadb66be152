package deploy_test

// Issue 15: the Deploy-stage steps (release-step.sh), the schema version the
// Migrate stage records, and the scanner image build. The aws CLI is a fake
// that answers from files and records every call.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fakeSSM is an aws CLI that keeps SSM parameters as files under dir/ssm
// and records each call in dir/calls.log.
func fakeSSM(t *testing.T, params map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "ssm"), 0o755); err != nil {
		t.Fatal(err)
	}
	for k, v := range params {
		if err := os.WriteFile(filepath.Join(dir, "ssm", strings.ReplaceAll(k, "/", "_")), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := `#!/usr/bin/env bash
d=$(dirname "$0")
echo "$*" >>"$d/calls.log"
arg() { local want=$1; shift; while [ $# -gt 0 ]; do [ "$1" = "$want" ] && { echo "$2"; return; }; shift; done; }
name=$(arg --name "$@")
case "$1 $2" in
"ssm get-parameter")
  f="$d/ssm/${name//\//_}"
  [ -f "$f" ] || { echo "An error occurred (ParameterNotFound)" >&2; exit 254; }
  cat "$f"; echo ;;
"ssm put-parameter") printf '%s' "$(arg --value "$@")" >"$d/ssm/${name//\//_}" ;;
"lambda update-function-code") echo '{}' ;;
"lambda wait") ;;
*) echo "unexpected aws call: $*" >&2; exit 2 ;;
esac
`
	if err := os.WriteFile(filepath.Join(dir, "aws"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func param(t *testing.T, fake, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fake, "ssm", strings.ReplaceAll(name, "/", "_")))
	if err != nil {
		return ""
	}
	return string(b)
}

// artifact writes the Build stage's artifact: imagedefinitions.json and
// release.env.
func artifact(t *testing.T, tag string, containers ...string) string {
	t.Helper()
	dir := t.TempDir()
	var defs []string
	for _, c := range containers {
		defs = append(defs, `{"name":"`+c+`","imageUri":"1.dkr.ecr.eu-west-2.amazonaws.com/palisade-production/palisade:`+tag+`"}`)
	}
	files := map[string]string{
		"imagedefinitions.json": "[" + strings.Join(defs, ",") + "]",
		"release.env":           "export RELEASE_TAG=" + tag + "\nexport COMMIT=abc\n",
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func releaseStep(t *testing.T, fake, art, step string, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join(repo(t), "deploy", "scripts", "release-step.sh"), step)
	cmd.Dir = repo(t) // the source: its migrations decide the schema version
	cmd.Env = append(os.Environ(), append([]string{"PATH=" + fake + ":" + os.Getenv("PATH"), "IMAGE_ARTIFACT_DIR=" + art, "POLL_SECONDS=0"}, env...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// schemaVersion is the highest migration of this repository.
func schemaVersion(t *testing.T) int {
	t.Helper()
	out, err := exec.Command("bash", filepath.Join(repo(t), "deploy", "scripts", "schema-version.sh"), repo(t)).Output()
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || n < 1 {
		t.Fatalf("schema-version.sh printed %q", out)
	}
	files, _ := filepath.Glob(filepath.Join(repo(t), "internal", "store", "migrations", "mysql", "*.sql"))
	max := 0
	for _, f := range files {
		v, _ := strconv.Atoi(strings.SplitN(filepath.Base(f), "_", 2)[0])
		if v > max {
			max = v
		}
	}
	if n != max {
		t.Fatalf("schema-version.sh = %d, highest migration file = %d", n, max)
	}
	return n
}

const schemaParam = "/palisade-production/release/schema-version"

// Item 9: tenant and hq deploy only once the database has their schema.
func TestGateWaitsForTheSchema(t *testing.T) {
	need := schemaVersion(t)
	art := artifact(t, "v1.2.3", "tenant")
	for _, tc := range []struct {
		have string
		ok   bool
	}{
		{strconv.Itoa(need), true},
		{strconv.Itoa(need + 1), true},
		{strconv.Itoa(need - 1), false},
		{"0", false},
		{"not-a-number", false},
	} {
		fake := fakeSSM(t, map[string]string{schemaParam: tc.have})
		out, err := releaseStep(t, fake, art, "gate", "SCHEMA_PARAMETER="+schemaParam, "GATE_TIMEOUT_SECONDS=0")
		if (err == nil) != tc.ok {
			t.Errorf("schema %s, release needs %d: gate passed=%v, want %v\n%s", tc.have, need, err == nil, tc.ok, out)
		}
	}
	// A parameter that cannot be read fails the gate rather than passing.
	if out, err := releaseStep(t, fakeSSM(t, nil), art, "gate", "SCHEMA_PARAMETER="+schemaParam, "GATE_TIMEOUT_SECONDS=0"); err == nil {
		t.Errorf("gate passed without a schema parameter:\n%s", out)
	}
}

// Item 9: the gate keeps waiting while the API pipeline migrates.
func TestGatePassesOnceMigrated(t *testing.T) {
	need := schemaVersion(t)
	fake := fakeSSM(t, map[string]string{schemaParam: strconv.Itoa(need - 1)})
	// The fake's third read sees the migrated schema.
	bump := `n=$(grep -c get-parameter "$d/calls.log"); [ "$n" -ge 3 ] && printf '` + strconv.Itoa(need) + `' >"$d/ssm/${name//\//_}"` + "\n"
	b, _ := os.ReadFile(filepath.Join(fake, "aws"))
	script := strings.Replace(string(b), `case "$1 $2" in`, bump+`case "$1 $2" in`, 1)
	if err := os.WriteFile(filepath.Join(fake, "aws"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := releaseStep(t, fake, artifact(t, "v1.2.3", "hq"), "gate", "SCHEMA_PARAMETER="+schemaParam, "GATE_TIMEOUT_SECONDS=600")
	if err != nil {
		t.Fatalf("gate failed although the schema arrived: %v\n%s", err, out)
	}
	calls, _ := os.ReadFile(filepath.Join(fake, "calls.log"))
	if n := strings.Count(string(calls), "ssm get-parameter"); n != 3 {
		t.Errorf("gate read the parameter %d times, want 3 (waited twice):\n%s", n, calls)
	}
}

// Item 8: after a deploy, each container's tag lands in the parameter its
// task definition reads.
func TestRecordWritesTheDeployedTags(t *testing.T) {
	fake := fakeSSM(t, map[string]string{"/palisade-production/release/api/image-tag": "v1.0.0"})
	containers := []string{"api", "worker", "scheduler", "realtime"}
	out, err := releaseStep(t, fake, artifact(t, "v1.4.0", containers...), "record",
		"PARAMETER_PREFIX=/palisade-production/release", "CONTAINERS="+strings.Join(containers, ","))
	if err != nil {
		t.Fatalf("record: %v\n%s", err, out)
	}
	for _, c := range containers {
		if got := param(t, fake, "/palisade-production/release/"+c+"/image-tag"); got != "v1.4.0" {
			t.Errorf("%s image tag parameter = %q, want v1.4.0", c, got)
		}
	}
	// A container the build did not produce fails the step.
	if out, err := releaseStep(t, fakeSSM(t, nil), artifact(t, "v1.4.0", "api"), "record",
		"PARAMETER_PREFIX=/p/release", "CONTAINERS=api,worker"); err == nil {
		t.Errorf("record succeeded without the worker's image:\n%s", out)
	}
}

// Item 5: the API pipeline points both scanner functions at the release's
// scanner image.
func TestScannerStepUpdatesTheFunctions(t *testing.T) {
	fake := fakeSSM(t, nil)
	out, err := releaseStep(t, fake, artifact(t, "v2.0.1", "api"), "scanner",
		"SCANNER_REPO=1.dkr.ecr.eu-west-2.amazonaws.com/palisade-production/scanner",
		"SCANNER_FUNCTIONS=palisade-production-scanner-scan,palisade-production-scanner-update")
	if err != nil {
		t.Fatalf("scanner: %v\n%s", err, out)
	}
	calls, _ := os.ReadFile(filepath.Join(fake, "calls.log"))
	for _, fn := range []string{"palisade-production-scanner-scan", "palisade-production-scanner-update"} {
		want := "lambda update-function-code --function-name " + fn + " --image-uri 1.dkr.ecr.eu-west-2.amazonaws.com/palisade-production/scanner:v2.0.1"
		if !strings.Contains(string(calls), want) {
			t.Errorf("calls lack %q:\n%s", want, calls)
		}
		if !strings.Contains(string(calls), "lambda wait function-updated-v2 --function-name "+fn) {
			t.Errorf("no wait for %s:\n%s", fn, calls)
		}
	}
}

// Item 9: a successful migration records the schema version of its source;
// a failed one records nothing.
func TestMigrateRecordsTheSchemaVersion(t *testing.T) {
	need := schemaVersion(t)
	for _, exit := range []string{"0", "1"} {
		fake := fakeAWS(t, exit, false)
		// Let the migrate fake also answer put-parameter.
		b, _ := os.ReadFile(filepath.Join(fake, "aws"))
		script := strings.Replace(string(b), `*) echo "unexpected aws call`, `put-parameter) echo "$*" >"$d/schema" ;;
*) echo "unexpected aws call`, 1)
		if err := os.WriteFile(filepath.Join(fake, "aws"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		defs := filepath.Join(t.TempDir(), "imagedefinitions.json")
		if err := os.WriteFile(defs, []byte(`[{"name":"api","imageUri":"repo/palisade:v1.2.3"}]`), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", filepath.Join(repo(t), "deploy", "scripts", "migrate.sh"), defs)
		cmd.Dir = repo(t)
		cmd.Env = append(os.Environ(), "PATH="+fake+":"+os.Getenv("PATH"), "CLUSTER=c", "TASK_FAMILY=palisade-production-api",
			"SUBNETS=s", "SECURITY_GROUPS=g", "POLL_SECONDS=0", "SCHEMA_PARAMETER="+schemaParam)
		out, err := cmd.CombinedOutput()
		rec, _ := os.ReadFile(filepath.Join(fake, "schema"))
		if exit == "0" {
			want := "ssm put-parameter --name " + schemaParam + " --value " + strconv.Itoa(need) + " "
			if err != nil || !strings.Contains(string(rec), want) {
				t.Errorf("migration succeeded: err %v, recorded %q, want %q\n%s", err, rec, want, out)
			}
		} else if err == nil || len(rec) != 0 {
			t.Errorf("migration failed: err %v, recorded %q (want nothing)\n%s", err, rec, out)
		}
	}
}

// Item 5: Lambda refuses an image index, so the scanner image is pushed as
// one linux/arm64 manifest, and the build checks what the registry got.
func TestScannerBuildIsOnePlatformManifest(t *testing.T) {
	bs := readBuildspec(t, "scanner.yml")
	cmds := strings.Join(bs.Phases["build"].Commands, "\n")
	for _, want := range []string{"docker buildx build", "--platform linux/arm64", "--provenance=false", "-f deploy/docker/scanner.Dockerfile", "--push", "imagetools inspect --raw"} {
		if !strings.Contains(cmds, want) {
			t.Errorf("scanner.yml lacks %q:\n%s", want, cmds)
		}
	}
	if strings.Contains(cmds, "linux/amd64") || strings.Contains(cmds, ",linux/") {
		t.Errorf("scanner.yml builds more than one platform:\n%s", cmds)
	}
}
