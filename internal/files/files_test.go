package files_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/palisade-hq/palisade/internal/files"
	"github.com/palisade-hq/palisade/internal/scan"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// The exact policy document: versitygw refuses tag-condition policies, so
// this is where the deny-unless-Clean rule itself is pinned down.
func TestPolicyDocument(t *testing.T) {
	got, err := files.Policy("palisade-production-tenant-42", []string{
		"arn:aws:iam::123456789012:role/palisade-production-scanner-scan",
		"arn:aws:iam::123456789012:role/palisade-production-worker",
	}, []string{"arn:aws:iam::123456789012:role/palisade-production-scanner-scan"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "Statement": [
    {
      "Action": "s3:*",
      "Condition": {"Bool": {"aws:SecureTransport": "false"}},
      "Effect": "Deny",
      "Principal": "*",
      "Resource": ["arn:aws:s3:::palisade-production-tenant-42", "arn:aws:s3:::palisade-production-tenant-42/*"],
      "Sid": "DenyInsecureTransport"
    },
    {
      "Action": ["s3:GetObject", "s3:GetObjectVersion"],
      "Condition": {
        "ArnNotEquals": {"aws:PrincipalArn": [
          "arn:aws:iam::123456789012:role/palisade-production-scanner-scan",
          "arn:aws:iam::123456789012:role/palisade-production-worker"
        ]},
        "StringNotEquals": {"s3:ExistingObjectTag/ScanStatus": "Clean"}
      },
      "Effect": "Deny",
      "Principal": "*",
      "Resource": "arn:aws:s3:::palisade-production-tenant-42/*",
      "Sid": "DenyReadUnlessScannedClean"
    },
    {
      "Action": ["s3:PutObjectTagging", "s3:PutObjectVersionTagging", "s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"],
      "Condition": {"ArnNotEquals": {"aws:PrincipalArn": ["arn:aws:iam::123456789012:role/palisade-production-scanner-scan"]}},
      "Effect": "Deny",
      "Principal": "*",
      "Resource": "arn:aws:s3:::palisade-production-tenant-42/*",
      "Sid": "DenyTagWritesExceptScanner"
    },
    {
      "Action": "s3:PutObject",
      "Condition": {"ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": ["ScanStatus", "Quarantine"]}},
      "Effect": "Deny",
      "Principal": "*",
      "Resource": "arn:aws:s3:::palisade-production-tenant-42/*",
      "Sid": "DenyUploadWithScanTags"
    }
  ],
  "Version": "2012-10-17"
}`
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(want)); err != nil {
		t.Fatal(err)
	}
	if string(got) != compact.String() {
		t.Fatalf("policy:\n got %s\nwant %s", got, compact.String())
	}
	// Without exempt roles the deny has no exemption at all (fail closed).
	bare, _ := files.Policy("b", nil, nil)
	if strings.Contains(string(bare), "ArnNotEquals") || !strings.Contains(string(bare), `"StringNotEquals":{"s3:ExistingObjectTag/ScanStatus":"Clean"}`) {
		t.Fatalf("policy without exemptions: %s", bare)
	}
}

func TestBucketNames(t *testing.T) {
	s := files.Settings{BucketPrefix: "palisade-staging-tenant-"}
	if got := s.BucketName(7); got != "palisade-staging-tenant-7" {
		t.Fatalf("BucketName = %s", got)
	}
	for bucket, want := range map[string]int64{"palisade-staging-tenant-7": 7, "palisade-staging-tenant-07": 0, "palisade-staging-tenant-x": 0, "other-7": 0, "palisade-staging-tenant--1": 0} {
		id, ok := s.TenantOfBucket(bucket)
		if (want != 0) != ok || (ok && id != want) {
			t.Errorf("TenantOfBucket(%q) = %d, %v; want %d", bucket, id, ok, want)
		}
	}
}

func TestValidName(t *testing.T) {
	for name, ok := range map[string]bool{"report.pdf": true, "Q3 — résumé.docx": true, "": false, "a/b": false, `a\b`: false, "..": false, "a\nb": false, strings.Repeat("x", 256): false} {
		if _, err := files.ValidName(name); (err == nil) != ok {
			t.Errorf("ValidName(%q) error = %v, want ok=%v", name, err, ok)
		}
	}
}

func clients(t *testing.T) (files.Settings, files.Clients) {
	t.Helper()
	env := testenv.S3(t)
	s := files.Settings{Endpoint: env.Endpoint, Region: "us-east-1", AccessKey: env.AccessKey, SecretKey: env.SecretKey, PathStyle: true,
		BucketPrefix: "pf-" + testenv.RandomName() + "-", ExemptRoleARNs: []string{"arn:aws:iam::123456789012:role/scanner"}}
	c, err := files.NewClients(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// Provisioning on versitygw: what it implements is applied and read back
// by the audit; what it lacks becomes a warning, never a silent success,
// and the audit reports it as unverified or missing.
func TestProvisionAndAudit(t *testing.T) {
	ctx := context.Background()
	s, c := clients(t)
	p := &files.Provisioner{S3: c.S3, Settings: s, Log: testenv.Logger(t)}
	bucket, warnings, err := p.Provision(ctx, 1)
	if err != nil {
		t.Fatalf("provision: %v", err)
	}
	if bucket != s.BucketPrefix+"1" {
		t.Fatalf("bucket %s", bucket)
	}
	joined := strings.Join(warnings, "\n")
	for _, w := range []string{"default encryption", "bucket policy"} {
		if !strings.Contains(joined, w) {
			t.Errorf("no warning about %s on versitygw; warnings:\n%s", w, joined)
		}
	}
	// Running it again is harmless.
	if _, _, err := p.Provision(ctx, 1); err != nil {
		t.Fatalf("second provision: %v", err)
	}
	v, err := c.S3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: &bucket})
	if err != nil || v.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("versioning %v, %v", v, err)
	}
	findings, err := p.Audit(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	bySetting := map[string]files.Finding{}
	for _, f := range findings {
		bySetting[f.Setting] = f
	}
	if _, drift := bySetting["versioning"]; drift {
		t.Errorf("versioning reported as drift: %+v", bySetting["versioning"])
	}
	if _, ok := bySetting["bucket policy"]; !ok {
		t.Errorf("the missing policy was not reported: %+v", findings)
	}
	// Drift is noticed: suspend versioning behind the app's back.
	if _, err := c.S3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: &bucket,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}}); err != nil {
		t.Fatal(err)
	}
	findings, _ = p.Audit(ctx, bucket)
	found := false
	for _, f := range findings {
		if f.Setting == "versioning" && !f.Unverified && strings.Contains(f.Problem, "Suspended") {
			found = true
		}
	}
	if !found {
		t.Fatalf("suspended versioning not reported: %+v", findings)
	}
	gone, _ := p.Audit(ctx, s.BucketPrefix+"999")
	if len(gone) != 1 || gone[0].Setting != "bucket" {
		t.Fatalf("audit of a missing bucket: %+v", gone)
	}
}

// The Lambda entry point, fed a real EventBridge "Object Created" event
// (the AWS sample, with our bucket, key and version put in), against the
// test S3 and clamd.
func TestLambdaHandler(t *testing.T) {
	ctx := context.Background()
	s, c := clients(t)
	p := &files.Provisioner{S3: c.S3, Settings: s, Log: testenv.Logger(t)}
	bucket, _, err := p.Provision(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	sample, err := os.ReadFile("../scan/testdata/eventbridge-object-created.json")
	if err != nil {
		t.Fatal(err)
	}
	h := scan.Handler{Scanner: &scan.Scanner{S3: c.S3, Clamd: scan.Clamd{Addr: testenv.Clamd(t)}, Log: testenv.Logger(t)}}
	var recorded []scan.Result
	h.OnResult = func(_ context.Context, r scan.Result) error { recorded = append(recorded, r); return nil }
	for key, want := range map[string]scan.Status{"clean.txt": scan.Clean, "dir/eicar.txt": scan.Infected} {
		body := []byte("hello")
		if want == scan.Infected {
			body = testenv.EICAR()
		}
		put, err := c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(key), Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		raw := strings.NewReplacer("BUCKET", bucket, `"KEY"`, `"`+key+`"`, "VERSION", aws.ToString(put.VersionId)).Replace(string(sample))
		var ev events.EventBridgeEvent
		if err := json.Unmarshal([]byte(raw), &ev); err != nil {
			t.Fatal(err)
		}
		res, err := h.Handle(ctx, ev)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if res.Status != want || res.Cached {
			t.Fatalf("%s: %+v, want %s", key, res, want)
		}
		st, err := scan.ReadStatus(ctx, c.S3, scan.Object{Bucket: bucket, Key: key, VersionID: aws.ToString(put.VersionId)})
		if err != nil || st != want {
			t.Fatalf("%s: tag %q, %v; want %s", key, st, err, want)
		}
		// The same event again (Lambda retries, EventBridge delivers at least
		// once) does not stream the object twice.
		again, err := h.Handle(ctx, ev)
		if err != nil || !again.Cached || again.Status != want {
			t.Fatalf("%s redelivered: %+v, %v", key, again, err)
		}
		if want == scan.Infected {
			tags, _ := c.S3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: &bucket, Key: aws.String(key)})
			q := false
			for _, tg := range tags.TagSet {
				q = q || (aws.ToString(tg.Key) == scan.QuarantineKey && aws.ToString(tg.Value) == "true")
			}
			if !q {
				t.Errorf("infected object lacks the quarantine tag: %+v", tags.TagSet)
			}
		}
	}
	if len(recorded) != 4 {
		t.Fatalf("OnResult ran %d times, want 4", len(recorded))
	}
	var ev events.EventBridgeEvent
	_ = json.Unmarshal([]byte(`{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","detail":{}}`), &ev)
	if _, err := h.Handle(ctx, ev); err == nil {
		t.Fatal("a non-S3 event was accepted")
	}
}

// Offboarding deletes every version and delete marker, then the bucket;
// a second run (a retried job) succeeds on the gone bucket.
func TestDeleteTenantData(t *testing.T) {
	ctx := context.Background()
	s, c := clients(t)
	p := &files.Provisioner{S3: c.S3, Settings: s, Log: testenv.Logger(t)}
	bucket, _, err := p.Provision(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("same"), Body: strings.NewReader("v")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: aws.String("same")}); err != nil {
		t.Fatal(err)
	}
	svc := &files.Service{Settings: s, Clients: c, Log: testenv.Logger(t)}
	if err := svc.DeleteTenantData(ctx, 5); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket}); err == nil {
		t.Fatal("bucket still exists")
	}
	if err := svc.DeleteTenantData(ctx, 5); err != nil {
		t.Fatalf("second delete: %v", err)
	}
}

// Bucket names are predictable, so a name taken by another owner is an
// error, never adopted; a bucket of our own is adopted only with the
// tenant tag provisioning writes. versitygw's root user stands in for the
// other account.
func TestProvisionRefusesBucketsNotOurs(t *testing.T) {
	ctx := context.Background()
	s, c := clients(t)
	p := &files.Provisioner{S3: c.S3, Settings: s, Log: testenv.Logger(t)}

	rootS := s
	rootS.AccessKey, rootS.SecretKey = "palisaderoot", "palisaderootsecret"
	root, err := files.NewClients(ctx, rootS)
	if err != nil {
		t.Fatal(err)
	}
	squatted := s.BucketName(1)
	if _, err := root.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &squatted}); err != nil {
		t.Fatalf("root creates %s: %v", squatted, err)
	}
	t.Cleanup(func() { root.S3.DeleteBucket(context.Background(), &s3.DeleteBucketInput{Bucket: &squatted}) })
	if _, _, err := p.Provision(ctx, 1); !errors.Is(err, files.ErrBucketNotOurs) || !strings.Contains(err.Error(), "BucketAlreadyExists") {
		t.Fatalf("provision into another owner's bucket: %v; want ErrBucketNotOurs (BucketAlreadyExists)", err)
	}

	// Our own bucket without the tenant tag (made by hand, or another
	// tenant's): refused.
	untagged := s.BucketName(2)
	if _, err := c.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &untagged}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Provision(ctx, 2); !errors.Is(err, files.ErrBucketNotOurs) || !strings.Contains(err.Error(), "this account") {
		t.Fatalf("provision into an untagged bucket of ours: %v; want ErrBucketNotOurs", err)
	}
	// Tagged for another tenant: refused too.
	if _, err := c.S3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: &untagged, Tagging: &types.Tagging{TagSet: []types.Tag{
		{Key: aws.String(files.TenantTagKey), Value: aws.String("3")}}}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Provision(ctx, 2); !errors.Is(err, files.ErrBucketNotOurs) {
		t.Fatalf("provision into a bucket tagged for tenant 3: %v; want ErrBucketNotOurs", err)
	}

	// A bucket provisioning made is tagged and adopted on the next run.
	mine, _, err := p.Provision(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := c.S3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: &mine})
	if err != nil || len(tags.TagSet) != 1 || aws.ToString(tags.TagSet[0].Value) != "4" {
		t.Fatalf("tags of %s: %+v, %v", mine, tags, err)
	}
	if _, _, err := p.Provision(ctx, 4); err != nil {
		t.Fatalf("second provision of our own tagged bucket: %v", err)
	}

	// Two provisioners at once (two api replicas, or a request and the
	// worker's job): the second finds the bucket created but not yet tagged
	// and waits for the first's tag instead of refusing it (CI saw a 500).
	racing := s.BucketName(5)
	if _, err := c.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &racing}); err != nil {
		t.Fatal(err)
	}
	tagged := make(chan error, 1)
	go func() {
		time.Sleep(500 * time.Millisecond) // the first provisioner's tag, a moment later
		_, err := c.S3.PutBucketTagging(context.Background(), &s3.PutBucketTaggingInput{Bucket: &racing, Tagging: &types.Tagging{TagSet: []types.Tag{
			{Key: aws.String(files.TenantTagKey), Value: aws.String("5")}}}})
		tagged <- err
	}()
	if _, _, err := p.Provision(ctx, 5); err != nil {
		t.Fatalf("provision beside a concurrent provisioner: %v", err)
	}
	if err := <-tagged; err != nil {
		t.Fatal(err)
	}
}

// Every request of the server client carries x-amz-expected-bucket-owner;
// presigned URLs do not (a browser would have to send the header).
func TestExpectedBucketOwnerOnEveryRequest(t *testing.T) {
	ctx := context.Background()
	env := testenv.S3(t)
	var mu sync.Mutex
	var seen []string
	target, _ := url.Parse(env.Endpoint)
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		mu.Lock()
		seen = append(seen, r.In.Method+" "+r.In.URL.Path+" owner="+r.In.Header.Get(files.ExpectedBucketOwnerHeader))
		mu.Unlock()
		r.SetURL(target)
		r.Out.Host = r.In.Host
	}})
	defer proxy.Close()
	s := files.Settings{Endpoint: proxy.URL, Region: "us-east-1", AccessKey: env.AccessKey, SecretKey: env.SecretKey, PathStyle: true,
		BucketPrefix: "pf-" + testenv.RandomName() + "-", ExpectedBucketOwner: "111122223333"}
	// versitygw checks the header against the bucket owner's account,
	// which is the access key there: another account's id is refused.
	other, err := files.NewClients(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := (&files.Provisioner{S3: other.S3, Settings: s, Log: testenv.Logger(t)}).Provision(ctx, 1); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("provision with another expected owner: %v; want AccessDenied", err)
	}
	s.ExpectedBucketOwner = env.AccessKey
	s.BucketPrefix = "pf-" + testenv.RandomName() + "-"
	mu.Lock()
	seen = nil
	mu.Unlock()
	c, err := files.NewClients(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	p := &files.Provisioner{S3: c.S3, Settings: s, Log: testenv.Logger(t)}
	if _, _, err := p.Provision(ctx, 1); err != nil {
		t.Fatalf("provision through the proxy: %v", err)
	}
	if _, err := p.Audit(ctx, s.BucketName(1)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(seen) < 5 {
		t.Fatalf("only %d requests seen: %v", len(seen), seen)
	}
	for _, r := range seen {
		if !strings.HasSuffix(r, " owner="+env.AccessKey) {
			t.Errorf("request without the expected bucket owner: %s", r)
		}
	}
	mu.Unlock()
	u, err := c.Presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.BucketName(1)), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(u.URL), "expected-bucket-owner") || u.SignedHeader.Get(files.ExpectedBucketOwnerHeader) != "" {
		t.Errorf("presigned URL signs the expected-bucket-owner header: %s %v", u.URL, u.SignedHeader)
	}
}
