package deploytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/palisade-hq/palisade/infra/tfeval"
	"github.com/palisade-hq/palisade/internal/testenv"
)

var palisadeBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "deploytest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	palisadeBin, err = testenv.BuildPalisade(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// stack is the local stand-in for one AWS account's data plane.
type stack struct {
	dir        string
	rdsCA      testCA // plays the RDS CA: NOT in the system roots
	amazonCA   testCA // plays Amazon's root CA (ElastiCache): in the system roots
	rootsFile  string // SSL_CERT_FILE: the system roots plus amazonCA
	dbAddr     string
	dbUser     string
	dbPassword string
	dbName     string
	redisAddr  string
	redisToken string
	s3         testenv.S3Env
	clamd      string
	// kms is the stand-in's key state, shared by every role's proxy (the
	// api creates a tenant's key, the worker shreds it).
	kms *kmsStandIn
	// secrets are the Secrets Manager values by secret key (db, redis, app).
	secrets map[string]string
	// rolePasswords are the role users' generated passwords, by role.
	rolePasswords map[string]string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	s3 := testenv.S3(t)
	clamd := testenv.Clamd(t)
	s := &stack{dir: t.TempDir(), s3: s3, clamd: clamd, kms: newKMSStandIn(), dbUser: "palisade", dbPassword: "db-" + testenv.RandomName(), redisToken: "redis-" + testenv.RandomName()}
	s.rdsCA = newTestCA(t, s.dir, "test-rds")
	s.amazonCA = newTestCA(t, s.dir, "test-amazon-root")
	s.rootsFile = systemRootsPlus(t, s.dir, s.amazonCA.CAFile)
	s.dbName = "palisade"
	return s
}

// secretValues renders each aws_secretsmanager_secret_version's
// secret_string as Terraform would write it, with the stand-ins for what
// only an apply knows (the database address, generated passwords).
func (s *stack) secretValues(t *testing.T, m *model) map[string]map[string]string {
	t.Helper()
	standIns := map[string]string{
		"aws_db_instance.this.address": "127.0.0.1",
		"aws_db_instance.this.port":    portOf(s.dbAddr),
		"var.db_username":              s.dbUser,
		"aws_elasticache_replication_group.this.primary_endpoint_address": "127.0.0.1",
		"aws_elasticache_replication_group.this.port":                     portOf(s.redisAddr),
	}
	out := map[string]map[string]string{}
	for _, mod := range []string{"data", "security"} {
		in, err := m.child(mod)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range in.Module.OfType("aws_secretsmanager_secret_version") {
			list, err := in.Instances(r)
			if err != nil {
				t.Fatalf("%s %s: %v", in.Path, r.Addr(), err)
			}
			for _, ri := range list {
				name, extra := r.Name, map[string]cty.Value(nil)
				if ri.Key != cty.NilVal {
					// A secret per role: aws_secretsmanager_secret_version.db_role["api"]
					// writes "<prefix>/db-api", the role user's DSN.
					prefix, ok := forEachSecrets[r.Name]
					if !ok {
						t.Fatalf("%s %s: a for_each secret version the test does not know the secret names of", in.Path, r.Addr())
					}
					name = prefix + ri.KeyString()
					extra = map[string]cty.Value{"each": cty.ObjectVal(map[string]cty.Value{"key": ri.Key, "value": ri.Key})}
					standIns["var.db_role_passwords[each.key]"] = s.rolePassword(ri.KeyString())
					standIns["var.redis_passwords[each.key]"] = s.rolePassword("redis-" + ri.KeyString())
				}
				vals, err := renderSecret(in, r, standIns, extra)
				if err != nil {
					t.Fatalf("%s %s[%q]: %v", in.Path, r.Addr(), ri.KeyString(), err)
				}
				out[name] = vals
			}
		}
	}
	// The master's password is in the secret RDS creates and rotates
	// (manage_master_user_password): JSON username and password.
	out[rdsMasterSecret] = map[string]string{"username": s.dbUser, "password": s.dbPassword}
	return out
}

// rdsMasterSecret stands for the secret RDS manages for the master user
// (module.data db_master_secret_arn); AWS names it rds!db-<uuid>.
const rdsMasterSecret = "rds!db-00000000-0000-0000-0000-000000000000"

// forEachSecrets names the secrets of the for_each secret versions: the
// prefix their instance key completes.
var forEachSecrets = map[string]string{"db_role": "db-", "redis_role": "redis-"}

// rolePassword is the generated password of a role's database user
// (security: random_password.db_role), one per stack.
func (s *stack) rolePassword(role string) string {
	if s.rolePasswords == nil {
		s.rolePasswords = map[string]string{}
	}
	if _, ok := s.rolePasswords[role]; !ok {
		s.rolePasswords[role] = "dbrole" + strings.ReplaceAll(testenv.RandomName(), "-", "") + "0123456789"
	}
	return s.rolePasswords[role]
}

func portOf(addr string) string {
	i := strings.LastIndexByte(addr, ':')
	return addr[i+1:]
}

var interp = regexp.MustCompile(`\$\{([^}]+)\}`)

// renderSecret evaluates secret_string = jsonencode({k = v, ...}): known
// values as they are, unknown ones through standIns by their source text
// (inside a template, per ${...}); anything else unknown becomes a fresh
// test value.
func renderSecret(in *tfeval.Instance, r *tfeval.Resource, standIns map[string]string, extra map[string]cty.Value) (map[string]string, error) {
	a, ok := r.Block.Body.Attributes["secret_string"]
	if !ok {
		return nil, fmt.Errorf("no secret_string")
	}
	call, ok := a.Expr.(*hclsyntax.FunctionCallExpr)
	if !ok || call.Name != "jsonencode" || len(call.Args) != 1 {
		return nil, fmt.Errorf("secret_string is not jsonencode({...})")
	}
	obj, ok := call.Args[0].(*hclsyntax.ObjectConsExpr)
	if !ok {
		return nil, fmt.Errorf("secret_string is not jsonencode of an object")
	}
	src, err := os.ReadFile(r.File)
	if err != nil {
		return nil, err
	}
	text := func(rng hcl.Range) string { return string(src[rng.Start.Byte:rng.End.Byte]) }
	eval := func(expr string) (string, bool) {
		if v, ok := standIns[expr]; ok {
			return v, true
		}
		e, diags := hclsyntax.ParseExpression([]byte(expr), "standin", hcl.InitialPos)
		if diags.HasErrors() {
			return "", false
		}
		v, err := in.Eval(e, extra)
		if err != nil || !v.IsKnown() || v.IsNull() {
			return "", false
		}
		if v.Type() == cty.Number {
			return v.AsBigFloat().Text('f', -1), true
		}
		if v.Type() != cty.String {
			return "", false
		}
		return v.AsString(), true
	}
	out := map[string]string{}
	for _, item := range obj.Items {
		kv, err := item.KeyExpr.Value(nil)
		if err != nil || kv.Type() != cty.String {
			return nil, fmt.Errorf("a key of secret_string is not a literal")
		}
		key := kv.AsString()
		if v, ok := eval(text(item.ValueExpr.Range())); ok {
			out[key] = v
			continue
		}
		if tmpl, isTmpl := item.ValueExpr.(*hclsyntax.TemplateExpr); isTmpl {
			raw := strings.Trim(text(tmpl.Range()), `"`)
			var missing []string
			rendered := interp.ReplaceAllStringFunc(raw, func(m string) string {
				inner := strings.TrimSpace(m[2 : len(m)-1])
				if v, ok := eval(inner); ok {
					return v
				}
				missing = append(missing, inner)
				return m
			})
			if len(missing) > 0 {
				return nil, fmt.Errorf("%s: no stand-in for %v", key, missing)
			}
			out[key] = rendered
			continue
		}
		out[key] = "test-" + key + "-" + testenv.RandomName()
	}
	return out, nil
}

// valueFrom splits "arn:...:secret:<name>-AbCdEf:<json key>::".
func valueFrom(ref string, m *model) (secret, key string, ok bool) {
	if rest, found := strings.CutPrefix(ref, secretARNOf(rdsMasterSecret)+":"); found {
		k, _, _ := strings.Cut(rest, ":")
		return rdsMasterSecret, k, true
	}
	for _, s := range secretNames {
		arn := symbolic("secretsmanager", "secret:"+m.prefix+"/"+s+"-AbCdEf")
		if rest, found := strings.CutPrefix(ref, arn+":"); found {
			k, _, _ := strings.Cut(rest, ":")
			return s, k, true
		}
	}
	return "", "", false
}

// roleRun is one process as ECS or Lambda would start it here.
type roleRun struct {
	name     string // service key, "migrate" or "lambda-scan"
	c        container
	env      map[string]string
	rec      *recorder
	httpAddr string
}

// environment is the task definition's environment and secrets, with the
// stand-ins a loopback machine needs. It fails the test on a value that is
// unknown at plan and has no stand-in.
func (s *stack) environment(t *testing.T, m *model, name string, c container, secrets map[string]map[string]string, rec *recorder, apiURL string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for k, v := range c.env {
		env[k] = v
	}
	for k, ref := range c.secrets {
		sec, key, ok := valueFrom(ref, m)
		if !ok {
			t.Errorf("%s: secret %s = %q is not one of the Secrets Manager secrets Terraform creates", name, k, ref)
			continue
		}
		v, ok := secrets[sec][key]
		if !ok {
			t.Errorf("%s: secret %s reads key %q of secret %s, which Terraform does not write (it writes %v)", name, k, key, sec, sortedKeys(secrets[sec]))
			continue
		}
		env[k] = v
	}
	// Stand-ins: listeners on free loopback ports instead of the container
	// ports; the internal ALB is the booted api; AWS endpoints are the
	// role's recording proxy; the task role's credentials are the S3
	// server's app user.
	env["PALISADE_HTTP_ADDR"] = testenv.FreeAddr(t)
	env["PALISADE_METRICS_ADDR"] = testenv.FreeAddr(t)
	// The internal ALB forwards to the api: here the booted api itself.
	if u, err := url.Parse(env["PALISADE_API_URL"]); err == nil && u.Hostname() == internalALB {
		env["PALISADE_API_URL"] = apiURL
	}
	env["PALISADE_S3_ENDPOINT"] = rec.URL
	env["PALISADE_S3_REGION"] = "us-east-1" // the S3 server's region
	env["PALISADE_S3_ACCESS_KEY"] = s.s3.AccessKey
	env["PALISADE_S3_SECRET_KEY"] = s.s3.SecretKey
	// The bucket owner is this account; here the S3 server's, which is its
	// access key. The recorder checks every S3 request carries it.
	if o, ok := env["PALISADE_S3_EXPECTED_BUCKET_OWNER"]; ok {
		if o != account {
			t.Errorf("%s: PALISADE_S3_EXPECTED_BUCKET_OWNER = %q, want the account id %s", name, o, account)
		}
		env["PALISADE_S3_EXPECTED_BUCKET_OWNER"] = s.s3.AccessKey
		owner := s.s3.AccessKey
		rec.owner.Store(&owner)
	}
	if a := env["PALISADE_CLAMD_ADDR"]; a != "" && env["PALISADE_CLAMD_BINARY"] == "" {
		env["PALISADE_CLAMD_ADDR"] = s.clamd // a clamd the role connects to, not one it starts
	}
	env["AWS_ENDPOINT_URL"] = rec.URL
	env["AWS_REGION"] = region
	env["AWS_ACCESS_KEY_ID"] = s.s3.AccessKey
	env["AWS_SECRET_ACCESS_KEY"] = s.s3.SecretKey
	env["AWS_EC2_METADATA_DISABLED"] = "true"
	env["SSL_CERT_FILE"] = s.rootsFile
	for k, v := range rdsCAEnv(s.rdsCA.CAFile) {
		env[k] = v
	}
	for k, v := range env {
		if strings.Contains(v, "<unknown>") {
			t.Errorf("%s: %s = %q is only known after apply and the test has no stand-in for it", name, k, v)
		}
	}
	return env
}

// rdsCAEnv points the application at the RDS CA bundle, here the test CA
// playing it. The system roots (SSL_CERT_FILE) never hold it, as the
// image's bundle does not hold the RDS CA.
// PALISADE_DB_TLS_CA replaces the built-in RDS bundle of tls=rds with the
// given PEM file (internal/store.Options.TLSCAFile), which keeps the name
// verification: only the root differs from production.
func rdsCAEnv(caFile string) map[string]string {
	return map[string]string{"PALISADE_DB_TLS_CA": caFile}
}

// TestDeployment boots every role as production's task definitions start
// it and records its AWS calls (see the package documentation).
func TestDeployment(t *testing.T) {
	m := loadModel(t)
	s := newStack(t)
	s.dbAddr = tlsMariaDB(t, s.rdsCA, s.dbUser, s.dbPassword, s.dbName)
	s.redisAddr = tlsRedis(t, s.amazonCA, s.redisToken)
	secrets := s.secretValues(t, m)
	// ElastiCache RBAC: each role's user with the access string Terraform
	// gives it; the default user (here the stack's admin) is off in AWS.
	redisUsers(t, s, m, secrets)
	flat := map[string]string{}
	for sec, kv := range secrets {
		b, _ := json.Marshal(kv)
		// GetSecretValue takes the secret's name or its ARN.
		flat[m.prefix+"/"+sec] = string(b)
		flat[secretARNOf(m.prefix+"/"+sec)] = string(b)
	}

	runs := map[string]*roleRun{}
	newRun := func(name string, c container, apiURL string) *roleRun {
		rec := newRecorder(t, name, s.s3, flat)
		rec.kms = s.kms
		r := &roleRun{name: name, c: c, rec: rec}
		r.env = s.environment(t, m, name, c, secrets, rec, apiURL)
		r.httpAddr = r.env["PALISADE_HTTP_ADDR"]
		runs[name] = r
		return r
	}

	// The pipeline's Migrate stage runs the migrate task definition with
	// the release image (deploy/scripts/migrate.sh) before it deploys: as
	// the master user, it creates each role's database user from the role
	// secrets, and every role below then connects as its own user, so a
	// grant the role needs and does not have fails its boot or its flows.
	t.Run("boot/migrate", func(t *testing.T) {
		c, ok := m.containers["migrate"]
		if !ok {
			t.Fatal("no migrate task definition")
		}
		r := newRun("migrate", c, "http://127.0.0.1:1")
		runOnce(t, r, c.command[1:]...)
		checkRoleUsers(t, s, m, secrets)
	})
	order := []string{"realtime", "api", "worker", "scheduler", "tenant", "hq"}
	apiURL := ""
	ready := map[string]bool{}
	for _, svc := range order {
		c, ok := m.containers[svc]
		if !ok {
			t.Errorf("no task definition for %s", svc)
			continue
		}
		// Started by the parent test, so they keep running for the flows
		// (and tenant and hq find the api); each boot subtest judges one.
		r := newRun(svc, c, apiURL)
		if svc == "api" {
			apiURL = "http://" + r.httpAddr
		}
		var p *testenv.Proc
		if (svc != "tenant" && svc != "hq") || ready["api"] {
			p = testenv.StartRoleNoWait(t, palisadeBin, c.role(), r.env)
		}
		ok = t.Run("boot/"+svc, func(t *testing.T) {
			if p == nil {
				// Their /readyz includes the API behind the internal ALB.
				t.Fatalf("%s cannot be ready: the api it calls did not start (see boot/api)", svc)
			}
			waitReady(t, p, r)
			if c.port != 0 {
				checkListener(t, r)
			}
		})
		ready[svc] = ok
	}
	t.Run("flows", func(t *testing.T) {
		runFlows(t, m, s, runs, newRun)
	})
	t.Run("iam", func(t *testing.T) {
		checkIAM(t, m, runs)
	})
}

// runOnce runs a one-shot role and fails, naming the variable, when it
// does not exit 0.
func runOnce(t *testing.T, r *roleRun, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := runBinary(ctx, r.env, args...)
	if err != nil {
		t.Fatalf("%s: palisade %s: %v\n%s", r.name, strings.Join(args, " "), err, out)
	}
	return out
}

// waitReady waits (bounded) for /readyz on the metrics listener.
func waitReady(t *testing.T, p *testenv.Proc, r *roleRun) {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(90 * time.Second) // a hang bound, not a measurement
	last := "no answer"
	for {
		if p.Exited() {
			t.Fatalf("%s (palisade %s) exited before it was ready, as it would in ECS:\n%s", r.name, r.c.role(), lastLines(p.Output(), 15))
		}
		if res, err := c.Get("http://" + r.env["PALISADE_METRICS_ADDR"] + "/readyz"); err == nil {
			b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
			last = fmt.Sprintf("%d %s", res.StatusCode, b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 90s; /readyz: %s\n%s", r.name, last, lastLines(p.Output(), 15))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkListener asserts the role serves on the port the target group
// sends to (moved to a loopback port here) with a healthy /healthz.
func checkListener(t *testing.T, r *roleRun) {
	t.Helper()
	res, err := http.Get("http://" + r.httpAddr + "/healthz")
	if err != nil {
		t.Errorf("%s: nothing on its HTTP listener: %v", r.name, err)
		return
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("%s: /healthz on the HTTP listener = %d", r.name, res.StatusCode)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func runBinary(ctx context.Context, env map[string]string, args ...string) (string, error) {
	cmd := execCommand(ctx, palisadeBin, args...)
	cmd.Env = childEnv(env)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func childEnv(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PALISADE_") && !strings.HasPrefix(k, "PALISADE_TEST_") || strings.HasPrefix(k, "AWS_") || k == "SSL_CERT_FILE" {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

var _ = filepath.Join
