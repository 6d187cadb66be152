package deploytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/infra/iameval"
	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/files"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

func execCommand(ctx context.Context, bin string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, bin, args...)
}

// inProcess builds a role's files feature in this process from exactly the
// configuration the role's process got (its MariaDB over TLS too: the scan
// function records its verdict there), with its AWS calls going to the
// role's recording proxy. Only the job queue differs: an embedded Redis,
// since the flows call the jobs directly.
func inProcess(t *testing.T, r *roleRun, rdb redis.UniversalClient) (*files.Service, *store.Store) {
	t.Helper()
	env := maps.Clone(r.env)
	// The SDK reads AWS_* from the process environment when a client is
	// built; each role's clients are built with its own.
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_EC2_METADATA_DISABLED"} {
		t.Setenv(k, env[k])
	}
	ctx := context.Background()
	cfg, err := config.Load(ctx, func(k string) string { return env[k] }, nil, nil)
	if err != nil {
		t.Fatalf("%s: configuration: %v", r.name, err)
	}
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		t.Fatalf("%s: store: %v", r.name, err)
	}
	t.Cleanup(func() { st.Close() })
	// No Migrate here: the role connects as its own database user, which
	// has no DDL; boot/migrate ran the migrations as the pipeline does.
	svc, err := app.NewFiles(ctx, cfg, st, rdb, testenv.Logger(t))
	if err != nil || svc == nil {
		t.Fatalf("%s: files service: %v", r.name, err)
	}
	return svc, st
}

// runFlows runs each role's AWS-facing flows through its proxy: sign-up →
// bucket provisioning (worker job), upload (api signs, the browser PUTs),
// scan and tag (the Lambda's command), download (api), bucket audit
// (worker job), mail (api and worker) and tenant deletion (worker job).
func runFlows(t *testing.T, m *model, s *stack, runs map[string]*roleRun, newRun func(string, container, string) *roleRun) {
	ctx := context.Background()
	api, worker := runs["api"], runs["worker"]
	if api == nil || worker == nil {
		t.Fatal("api and worker runs are needed")
	}
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()

	wsvc, st := inProcess(t, worker, rdb)
	asvc, _ := inProcess(t, api, rdb)

	ev := core.AuditEvent{ActorType: "system", Action: "deploytest", Outcome: "success"}
	tenant, user, err := st.SignUp(ctx, "seam"+strings.ToLower(testenv.RandomName())[:6], "Seam", store.NewUser{Email: "owner@seam.test", Name: "Owner", PasswordHash: "x"}, ev)
	if err != nil {
		t.Fatal(err)
	}
	ts := st.Tenant(tenant.ID)

	t.Run("provision", func(t *testing.T) {
		if err := (files.Jobs{S: wsvc}).Provision(ctx, files.BucketPayload{TenantID: tenant.ID}); err != nil {
			t.Fatalf("worker provisioning job: %v", err)
		}
		// Crypto-shredding needs a key per tenant (issue 16, item 6).
		if worker.env["PALISADE_KMS_TENANT_KEYS"] != "on" {
			t.Errorf("the worker's task definition has PALISADE_KMS_TENANT_KEYS=%q: tenants share a key, so offboarding cannot crypto-shred", worker.env["PALISADE_KMS_TENANT_KEYS"])
		} else if k := worker.rec.kms.tenantKeyOf(wsvc.Settings.BucketName(tenant.ID)); k == nil || k.state != "Enabled" {
			t.Errorf("provisioning left tenant %d without an enabled key of its own: %+v", tenant.ID, k)
		}
	})
	body := []byte("%PDF-1.4 seam test\n")
	var fileID int64
	t.Run("upload", func(t *testing.T) {
		f, up, err := asvc.NewUpload(ctx, tenant.ID, user.ID, "report.pdf", int64(len(body)), "application/pdf", ev)
		if err != nil {
			t.Fatalf("api upload URL: %v", err)
		}
		req, _ := http.NewRequest(up.Method, up.URL, bytes.NewReader(body))
		for k, v := range up.Headers {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("browser PUT to the presigned URL: %d %s", res.StatusCode, b)
		}
		if _, err := asvc.Complete(ctx, ts, f.ID); err != nil {
			t.Fatalf("api completes the upload: %v", err)
		}
		fileID = f.ID
	})
	// The scanner functions run as their image and Terraform configure
	// them; only the Lambda's private /tmp (a folder of the test's) and
	// the internet behind the NAT gateways (ClamAV's CDN, here a local
	// server with the test signature database) are stood in for.
	lambdaRun := func(t *testing.T, key string) (*roleRun, []string) {
		t.Helper()
		fn, ok := m.lambdas[key]
		if !ok {
			t.Fatalf("no %s Lambda function", key)
		}
		image, err := imageEnv("../../deploy/docker/scanner.Dockerfile")
		if err != nil {
			t.Fatal(err)
		}
		fn.env = maps.Clone(fn.env)
		for k, v := range image {
			if _, set := fn.env[k]; !set {
				fn.env[k] = v
			}
		}
		r := newRun("lambda-"+key, fn, "")
		tmp := shortTempDir(t)
		for k := range image {
			if v := r.env[k]; strings.HasPrefix(v, "/tmp/") || strings.HasPrefix(v, "unix:///tmp/") {
				r.env[k] = strings.Replace(v, "/tmp", tmp, 1)
			}
		}
		args := append([]string(nil), fn.command...)
		if len(args) > 0 && args[0] == "palisade" {
			args = args[1:]
		}
		return r, args
	}
	// Terraform creates the mirror bucket; the update function fills it.
	createBucket(t, s, m.lambdas["update"].env["PALISADE_CLAMAV_DEFINITIONS_BUCKET"])
	published := false
	t.Run("definitions", func(t *testing.T) {
		dbDir := os.Getenv("PALISADE_TEST_CLAMD_DATABASE")
		if dbDir == "" {
			testenv.Missing(t, "clamd signature database", "PALISADE_TEST_CLAMD_DATABASE")
		}
		entries, err := os.ReadDir(dbDir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		upstream := httptest.NewServer(http.FileServer(http.Dir(dbDir)))
		defer upstream.Close()
		r, args := lambdaRun(t, "update")
		r.env["PALISADE_CLAMAV_UPSTREAM_URL"] = upstream.URL
		r.env["PALISADE_CLAMAV_DATABASES"] = strings.Join(names, ",")
		out := runOnce(t, r, args...)
		if !strings.Contains(out, `"published":true`) {
			t.Fatalf("update-definitions did not publish the signatures:\n%s", out)
		}
		published = true
	})
	scanned := false
	t.Run("scan", func(t *testing.T) {
		if fileID == 0 || !published {
			t.Fatal("no upload or no signatures: an earlier step of this flow failed")
		}
		f, err := ts.File(ctx, fileID)
		if err != nil {
			t.Fatal(err)
		}
		r, args := lambdaRun(t, "scan")
		sample, err := os.ReadFile("../../internal/scan/testdata/eventbridge-object-created.json")
		if err != nil {
			t.Fatal(err)
		}
		event := strings.NewReplacer("BUCKET", f.Bucket, `"KEY"`, `"`+f.ObjectKey+`"`, "VERSION", f.VersionID).Replace(string(sample))
		evFile := filepath.Join(t.TempDir(), "event.json")
		if err := os.WriteFile(evFile, []byte(event), 0o600); err != nil {
			t.Fatal(err)
		}
		// The Lambda runtime is not emulated: -event calls the handler the
		// runtime would, with the function's command and environment.
		out := runOnce(t, r, append(args, "-event", evFile)...)
		if !strings.Contains(out, `"Clean"`) {
			t.Fatalf("scan did not tag the upload Clean:\n%s", out)
		}
		scanned = true
	})
	t.Run("download", func(t *testing.T) {
		if !scanned {
			t.Fatal("the upload was not scanned: an earlier step of this flow failed")
		}
		d, err := asvc.DownloadURL(ctx, ts, fileID, ev)
		if err != nil {
			t.Fatalf("api download URL: %v", err)
		}
		res, err := http.Get(d.URL)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
			t.Fatalf("browser GET of the presigned URL: %d %q", res.StatusCode, got)
		}
	})
	t.Run("audit", func(t *testing.T) {
		findings, err := wsvc.AuditAll(ctx)
		if err != nil {
			t.Fatalf("worker bucket audit: %v", err)
		}
		// Drift the S3-compatible server causes (it refuses the tag
		// condition policy, so none is found) is not this test's concern;
		// a refused read is, and the IAM check below judges every call.
		for _, f := range findings {
			if strings.Contains(f.Problem, "AccessDenied") {
				t.Errorf("bucket audit could not read %s: %s", f.Setting, f.Problem)
			}
		}
	})
	t.Run("mail", func(t *testing.T) {
		for _, svc := range []*files.Service{asvc, wsvc} {
			if svc.Mailer == nil {
				t.Errorf("no mailer can be built from the task definition's mail settings (MAIL_DRIVER, SMTP_URL): malware notices and account mail would not be sent")
				continue
			}
			if err := svc.Mailer.Send(ctx, core.Mail{To: "owner@seam.test", Subject: "seam test", Body: "hello"}); err != nil {
				t.Errorf("send mail: %v", err)
			}
		}
	})
	t.Run("delete-tenant", func(t *testing.T) {
		if err := wsvc.DeleteTenantData(ctx, tenant.ID); err != nil {
			t.Fatalf("worker tenant deletion: %v", err)
		}
		if k := worker.rec.kms.tenantKeyOf(wsvc.Settings.BucketName(tenant.ID)); k != nil && k.state != "PendingDeletion" {
			t.Errorf("after offboarding the tenant's key is %s, not scheduled for deletion", k.state)
		}
	})
}

// shortTempDir is a private folder with a path short enough for a unix
// socket (108 bytes), removed when the test ends.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dt-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// createBucket makes a bucket Terraform would create, with the S3
// server's keys directly (not through a role's proxy: Terraform's calls
// are not the application's), and removes it with its objects afterwards.
func createBucket(t *testing.T, s *stack, bucket string) {
	t.Helper()
	ctx := context.Background()
	c := adminS3(s.s3)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		var owned *s3types.BucketAlreadyOwnedByYou
		if !errors.As(err, &owned) {
			t.Fatalf("create bucket %s: %v", bucket, err)
		}
	}
	_, _ = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
	t.Cleanup(func() {
		p := s3.NewListObjectVersionsPaginator(c, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				break
			}
			for _, v := range page.Versions {
				_, _ = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: v.Key, VersionId: v.VersionId})
			}
			for _, v := range page.DeleteMarkers {
				_, _ = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: v.Key, VersionId: v.VersionId})
			}
		}
		_, _ = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	})
}

// imageEnv reads the ENV lines of a Dockerfile (the image's environment,
// which a Lambda function's own variables override).
func imageEnv(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return map[string]string{}, nil
		}
		return nil, err
	}
	out := map[string]string{}
	// A line ending in a backslash continues on the next one.
	text := strings.ReplaceAll(string(raw), "\\\n", " ")
	re := regexp.MustCompile(`(?m)^\s*ENV\s+(.+)$`)
	for _, mt := range re.FindAllStringSubmatch(text, -1) {
		for _, kv := range strings.Fields(mt[1]) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				out[k] = strings.Trim(v, `"`)
			}
		}
	}
	return out, nil
}

// implied are the calls AWS makes with the caller's permissions on its
// behalf: SSE-KMS objects need the bucket's key for writes and reads (the
// tenant's own key, or the shared one), through S3 (kms:ViaService).
func implied(r *roleRun, calls []call) []call {
	var out []call
	for _, c := range calls {
		var action string
		switch c.Action {
		case "s3:PutObject":
			action = "kms:GenerateDataKey"
		case "s3:GetObject", "s3:GetObjectVersion":
			action = "kms:Decrypt"
		default:
			continue
		}
		ctx := map[string][]string{"kms:ViaService": {"s3." + region + ".amazonaws.com"}}
		// The bucket's key decides, whoever calls: the scan Lambda reads
		// objects the api's presigned PUT encrypted with the tenant's key.
		key := r.env["PALISADE_KMS_KEY_ID"]
		bucket, _, _ := strings.Cut(strings.TrimPrefix(c.Resource, "arn:aws:s3:::"), "/")
		if k := r.rec.kms.tenantKeyOf(bucket); k != nil {
			key = k.arn
			for t, v := range resourceTags(k) {
				ctx[t] = v
			}
		} else if r.env["PALISADE_KMS_TENANT_KEYS"] == "on" {
			out = append(out, call{Action: action, Resource: "arn:aws:kms:::no-key-for-" + bucket, Detail: "SSE-KMS for " + c.Resource + ": the bucket has no tenant key"})
			continue
		}
		if key != "" {
			out = append(out, call{Action: action, Resource: key, Detail: "SSE-KMS for " + c.Resource, Context: ctx})
		}
	}
	return out
}

// decide is AWS's answer to one call of a role: its identity policies,
// with the tenant bucket policy provisioning writes for objects and buckets
// of tenants, and the key policy for KMS keys (which must allow the caller,
// or the account, so that IAM policies may grant it). The SDK's endpoints
// are HTTPS in AWS (aws:SecureTransport).
func (m *model) decide(rl *role, c call) (iameval.Decision, error) {
	ctx := map[string][]string{"aws:SecureTransport": {"true"}}
	for k, v := range c.Context {
		ctx[k] = v
	}
	req := iameval.Request{Action: c.Action, Resource: c.Resource, Principal: rl.arn, Context: ctx}
	if kp, ok := m.keyPolicies[c.Resource]; ok {
		direct, err := iameval.Evaluate(req, nil, []iameval.Policy{kp})
		if err != nil {
			return direct, err
		}
		id, err := iameval.Evaluate(req, rl.policies, nil)
		if err != nil {
			return id, err
		}
		acct := req
		acct.Principal = "arn:aws:iam::" + account + ":root"
		delegated, err := iameval.Evaluate(acct, nil, []iameval.Policy{kp})
		if err != nil {
			return delegated, err
		}
		switch {
		case !direct.Allowed && len(direct.By) > 0:
			return direct, nil
		case !id.Allowed && len(id.By) > 0:
			return id, nil
		case direct.Allowed:
			return direct, nil
		case delegated.Allowed && id.Allowed:
			return iameval.Decision{Allowed: true, By: append(id.By, delegated.By...)}, nil
		}
		// Neither the key policy nor (through the account) IAM allows it.
		return iameval.Decision{}, nil
	}
	var resource []iameval.Policy
	if bp, ok, err := m.tenantBucketPolicy(c.Resource); err != nil {
		return iameval.Decision{}, err
	} else if ok {
		resource = append(resource, bp)
	}
	return iameval.Evaluate(req, rl.policies, resource)
}

// tenantBucketPolicy is the policy provisioning writes on the tenant bucket
// an S3 ARN belongs to (files.Policy with the task definition's exempt
// roles), ok false for other resources.
func (m *model) tenantBucketPolicy(arn string) (iameval.Policy, bool, error) {
	prefix := m.containers["worker"].env["PALISADE_S3_BUCKET_PREFIX"]
	rest, found := strings.CutPrefix(arn, "arn:aws:s3:::")
	if !found || prefix == "" || !strings.HasPrefix(rest, prefix) {
		return iameval.Policy{}, false, nil
	}
	bucket, _, _ := strings.Cut(rest, "/")
	var exempt []string
	for _, a := range strings.Split(m.containers["worker"].env["PALISADE_S3_EXEMPT_ROLE_ARNS"], ",") {
		if a = strings.TrimSpace(a); a != "" {
			exempt = append(exempt, a)
		}
	}
	var taggers []string
	for _, a := range strings.Split(m.containers["worker"].env["PALISADE_S3_TAGGER_ROLE_ARNS"], ",") {
		if a = strings.TrimSpace(a); a != "" {
			taggers = append(taggers, a)
		}
	}
	doc, err := files.Policy(bucket, exempt, taggers)
	if err != nil {
		return iameval.Policy{}, false, err
	}
	p, err := iameval.ParseJSON("bucket policy of "+bucket, doc)
	return p, err == nil, err
}

// checkIAM evaluates every recorded call of every role against the role's
// policies from Terraform, and lists what is granted but never used.
func checkIAM(t *testing.T, m *model, runs map[string]*roleRun) {
	roleOf := func(name string) *role {
		if fn, ok := strings.CutPrefix(name, "lambda-"); ok {
			return m.lambdaRoles[fn]
		}
		return m.taskRoles[name]
	}
	used := map[*role][]call{}
	for _, name := range sortedKeys(runs) {
		r := runs[name]
		rl := roleOf(name)
		if rl == nil {
			t.Errorf("%s: no IAM role in Terraform", name)
			continue
		}
		for _, f := range r.rec.failures {
			t.Errorf("%s: %s", name, f)
		}
		calls := r.rec.Calls()
		calls = distinctCalls(append(calls, implied(r, calls)...))
		for _, c := range calls {
			if strings.HasPrefix(c.Action, "unknown:") {
				t.Errorf("%s: an AWS request the recorder cannot name: %s", name, c.Detail)
				continue
			}
			d, err := m.decide(rl, c)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if !d.Allowed {
				tag := ""
				if c.Context != nil {
					tag = fmt.Sprintf(" with %v", c.Context)
				} else if c.Action == "s3:GetObject" || c.Action == "s3:GetObjectVersion" {
					tag = " (object untagged)"
				}
				t.Errorf("%s (%s): %s on %s%s is %s (%s)", name, rl.arn, c.Action, c.Resource, tag, d, c.Detail)
			}
		}
		used[rl] = append(used[rl], calls...)
		t.Logf("%s made %d distinct AWS calls", name, len(calls))
	}
	// Execution roles: what the ECS agent does before the container starts.
	for _, svc := range sortedKeys(m.containers) {
		er := m.execRoles[svc]
		c := m.containers[svc]
		var calls []call
		calls = append(calls, call{Action: "ecr:GetAuthorizationToken", Resource: "*"})
		image := c.command // placeholder to keep the shape; the image is the palisade repository
		_ = image
		repo := "arn:aws:ecr:" + region + ":" + account + ":repository/" + m.prefix + "/palisade"
		for _, a := range []string{"ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"} {
			calls = append(calls, call{Action: a, Resource: repo})
		}
		stream := "arn:aws:logs:" + region + ":" + account + ":log-group:" + c.logGroup + ":log-stream:" + c.role() + "/" + svc + "/0123"
		calls = append(calls, call{Action: "logs:CreateLogStream", Resource: stream}, call{Action: "logs:PutLogEvents", Resource: stream})
		for _, ref := range c.secrets {
			arn := ref
			if i := strings.Index(arn, "-AbCdEf"); i > 0 {
				arn = arn[:i+len("-AbCdEf")]
			}
			calls = append(calls, call{Action: "secretsmanager:GetSecretValue", Resource: arn},
				call{Action: "kms:Decrypt", Resource: symbolic("kms", "key/data"), Detail: "secrets are encrypted with the data key"})
		}
		calls = distinctCalls(calls)
		for _, cl := range calls {
			d, err := m.decide(er, cl)
			if err != nil {
				t.Errorf("%s execution role: %v", svc, err)
				continue
			}
			if !d.Allowed {
				t.Errorf("%s execution role: %s on %s is %s", svc, cl.Action, cl.Resource, d)
			}
		}
		used[er] = append(used[er], calls...)
	}
	// Least privilege (ISO 8.2): granted but never used by these flows.
	var report []string
	for rl, calls := range used {
		for _, g := range iameval.Granted(rl.policies) {
			hit := false
			for _, c := range calls {
				if iameval.Match(strings.ToLower(g), strings.ToLower(c.Action)) {
					hit = true
					break
				}
			}
			if !hit {
				report = append(report, fmt.Sprintf("%s: %s", rl.arn, g))
			}
		}
	}
	sort.Strings(report)
	t.Logf("granted but never used by the flows (ECS Exec, tracing and dead letters are expected here; the rest are candidates to remove):\n  %s", strings.Join(report, "\n  "))
}
