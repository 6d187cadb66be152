package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/files"
	"github.com/palisade-hq/palisade/internal/scan"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// `palisade files audit-buckets` reports drift and fails on it, and
// `palisade scan -event` scans one EventBridge event, through run().
func TestFilesCommands(t *testing.T) {
	ctx := context.Background()
	s3env := testenv.S3(t)
	dsn := filepath.Join(t.TempDir(), "p.db")
	st, err := store.Open(ctx, "sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx, testenv.Logger(t)); err != nil {
		t.Fatal(err)
	}
	tn, err := st.CreateTenant(ctx, "acme", "Acme", core.AuditEvent{Action: "tenant.created", ActorType: "system"})
	if err != nil {
		t.Fatal(err)
	}
	prefix := "pc-" + testenv.RandomName() + "-"
	env := map[string]string{
		"PALISADE_ENV": "test", "PALISADE_DB_DRIVER": "sqlite", "PALISADE_DB_DSN": dsn,
		"PALISADE_S3_ENDPOINT": s3env.Endpoint, "PALISADE_S3_ACCESS_KEY": s3env.AccessKey, "PALISADE_S3_SECRET_KEY": s3env.SecretKey,
		"PALISADE_S3_REGION": "us-east-1", "PALISADE_S3_BUCKET_PREFIX": prefix, "PALISADE_CLAMD_ADDR": testenv.Clamd(t),
	}
	getenv := func(k string) string { return env[k] }
	set := files.Settings{Endpoint: s3env.Endpoint, Region: "us-east-1", AccessKey: s3env.AccessKey, SecretKey: s3env.SecretKey, PathStyle: true, BucketPrefix: prefix}
	c, err := files.NewClients(ctx, set)
	if err != nil {
		t.Fatal(err)
	}
	bucket, warnings, err := (&files.Provisioner{S3: c.S3, Settings: set, Log: testenv.Logger(t)}).Provision(ctx, tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RecordBucket(ctx, tn.ID, bucket, strings.Join(warnings, "\n")); err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	err = run(ctx, []string{"palisade", "files", "audit-buckets", "-json"}, getenv, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "drifted") {
		t.Fatalf("audit on versitygw (which refuses the policy) should report drift; err=%v", err)
	}
	var report struct {
		Findings []files.Finding `json:"findings"`
		Drifted  int             `json:"drifted"`
	}
	line := out.String()[strings.LastIndex(strings.TrimSpace(out.String()), "\n")+1:]
	if err := json.Unmarshal([]byte(line), &report); err != nil {
		t.Fatalf("audit output %q: %v", out.String(), err)
	}
	policy := false
	for _, f := range report.Findings {
		policy = policy || (f.Setting == "bucket policy" && f.Bucket == bucket)
	}
	if report.Drifted == 0 || !policy {
		t.Fatalf("report lacks the missing bucket policy: %+v", report)
	}

	key := "files/1/x"
	put, err := c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(testenv.EICAR())})
	if err != nil {
		t.Fatal(err)
	}
	sample, err := os.ReadFile("../../internal/scan/testdata/eventbridge-object-created.json")
	if err != nil {
		t.Fatal(err)
	}
	event := strings.NewReplacer("BUCKET", bucket, `"KEY"`, `"`+key+`"`, "VERSION", aws.ToString(put.VersionId)).Replace(string(sample))
	evFile := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(evFile, []byte(event), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	// No file row matches this object, so the database recording fails: the
	// command reports it (the tag is already written and stands).
	err = run(ctx, []string{"palisade", "scan", "-event", evFile}, getenv, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "record result") {
		t.Fatalf("scan of an object with no file row: %v\n%s", err, out.String())
	}
	if st, err := scan.ReadStatus(ctx, c.S3, scan.Object{Bucket: bucket, Key: key}); err != nil || st != scan.Infected {
		t.Fatalf("ScanStatus after palisade scan: %q %v", st, err)
	}
}
