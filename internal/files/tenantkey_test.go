package files_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/palisade-hq/palisade/internal/files"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// fakeKMS stands in for AWS KMS, which cannot run here: the JSON protocol
// of the five operations tenant keys use, with AWS's rules that matter to
// them (an alias names one key and cannot be created twice; a key pending
// deletion stays describable; the window is 7 to 30 days).
type fakeKMS struct {
	mu      sync.Mutex
	keys    map[string]*fakeKey // by ARN
	aliases map[string]string   // alias → key ARN
	calls   []string
	n       int
	// beforeAlias runs before CreateAlias answers (to stage a race).
	beforeAlias func()
}

type fakeKey struct {
	arn      string
	tags     map[string]string
	state    string
	rotation bool
	window   int
	deleteAt time.Time
}

func newFakeKMS(t *testing.T) (*fakeKMS, *kms.Client) {
	f := &fakeKMS{keys: map[string]*fakeKey{}, aliases: map[string]string{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c := kms.NewFromConfig(aws.Config{Region: "eu-west-2", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1})
	return f, c
}

func (f *fakeKMS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
	body, _ := io.ReadAll(r.Body)
	var in map[string]any
	_ = json.Unmarshal(body, &in)
	if op == "CreateAlias" && f.beforeAlias != nil {
		f.beforeAlias()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, op)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	fail := func(typ, msg string) {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	key := func(id string) *fakeKey {
		if a, ok := f.aliases[id]; ok {
			id = a
		}
		return f.keys[id]
	}
	meta := func(k *fakeKey) map[string]any {
		m := map[string]any{"Arn": k.arn, "KeyId": k.arn[strings.LastIndex(k.arn, "/")+1:], "KeyState": k.state}
		if !k.deleteAt.IsZero() {
			m["DeletionDate"] = float64(k.deleteAt.Unix())
		}
		return m
	}
	id, _ := in["KeyId"].(string)
	switch op {
	case "CreateKey":
		f.n++
		k := &fakeKey{arn: fmt.Sprintf("arn:aws:kms:eu-west-2:123456789012:key/%08d-0000-0000-0000-000000000000", f.n), tags: map[string]string{}, state: "Enabled"}
		tags, _ := in["Tags"].([]any)
		for _, tg := range tags {
			m, _ := tg.(map[string]any)
			k.tags[m["TagKey"].(string)] = m["TagValue"].(string)
		}
		f.keys[k.arn] = k
		_ = json.NewEncoder(w).Encode(map[string]any{"KeyMetadata": meta(k)})
	case "CreateAlias":
		name, _ := in["AliasName"].(string)
		target, _ := in["TargetKeyId"].(string)
		if _, ok := f.aliases[name]; ok {
			fail("AlreadyExistsException", "An alias with the name "+name+" already exists")
			return
		}
		if key(target) == nil {
			fail("NotFoundException", "no key "+target)
			return
		}
		f.aliases[name] = key(target).arn
		_, _ = w.Write([]byte("{}"))
	case "DescribeKey":
		k := key(id)
		if k == nil {
			fail("NotFoundException", "Alias "+id+" is not found.")
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"KeyMetadata": meta(k)})
	case "EnableKeyRotation":
		k := key(id)
		if k == nil || k.state != "Enabled" {
			fail("KMSInvalidStateException", "key is not enabled")
			return
		}
		k.rotation = true
		_, _ = w.Write([]byte("{}"))
	case "ScheduleKeyDeletion":
		k := key(id)
		days, _ := in["PendingWindowInDays"].(float64)
		switch {
		case k == nil:
			fail("NotFoundException", "no key "+id)
		case k.state == "PendingDeletion":
			fail("KMSInvalidStateException", k.arn+" is pending deletion.")
		case days < 7 || days > 30:
			fail("ValidationException", "PendingWindowInDays must be from 7 to 30")
		default:
			k.state, k.window = "PendingDeletion", int(days)
			k.deleteAt = time.Now().Add(time.Duration(days) * 24 * time.Hour).Truncate(time.Second)
			_ = json.NewEncoder(w).Encode(map[string]any{"KeyId": k.arn, "KeyState": k.state, "DeletionDate": float64(k.deleteAt.Unix()), "PendingWindowInDays": days})
		}
	default:
		fail("UnsupportedOperationException", "fake KMS has no "+op)
	}
}

func (f *fakeKMS) keysOf(tenant string) (live, pending []*fakeKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range f.keys {
		if k.tags[files.KeyTenantTag] != tenant {
			continue
		}
		if k.state == "Enabled" {
			live = append(live, k)
		} else {
			pending = append(pending, k)
		}
	}
	return live, pending
}

// Each tenant gets one key of its own, tagged with the tenant and the
// deployment's scope, with rotation on; provisioning again reuses it.
func TestTenantKeyCreatedOncePerTenant(t *testing.T) {
	ctx := context.Background()
	f, c := newFakeKMS(t)
	k := &files.TenantKeys{KMS: c, Scope: "palisade-production-tenant-", ShredDays: 7, Log: testenv.Logger(t)}
	a, err := k.Ensure(ctx, 42)
	if err != nil {
		t.Fatal(err)
	}
	again, err := k.Ensure(ctx, 42)
	if err != nil || again != a {
		t.Fatalf("second Ensure: %q, %v; want the same key %q", again, err, a)
	}
	other, err := k.Ensure(ctx, 43)
	if err != nil || other == a {
		t.Fatalf("tenant 43 got %q (%v); tenant 42 has %q: tenants must not share a key", other, err, a)
	}
	live, _ := f.keysOf("42")
	if len(live) != 1 || live[0].arn != a {
		t.Fatalf("tenant 42 has %d keys, want 1 (%s)", len(live), a)
	}
	if got := live[0].tags[files.KeyScopeTag]; got != "palisade-production-tenant-" {
		t.Errorf("scope tag %q", got)
	}
	if !live[0].rotation {
		t.Error("rotation is off")
	}
	if f.aliases["alias/palisade-production-tenant-42"] != a {
		t.Errorf("alias: %v", f.aliases)
	}
}

// Two provisioners at once (an api request and the worker's job): both
// create a key, one alias wins, and the loser's key is scheduled for
// deletion instead of being left behind, unused and billed.
func TestTenantKeyRaceLeavesOneKey(t *testing.T) {
	ctx := context.Background()
	f, c := newFakeKMS(t)
	k := &files.TenantKeys{KMS: c, Scope: "pt-", ShredDays: 7, Log: testenv.Logger(t)}
	var arrived sync.WaitGroup
	arrived.Add(2)
	release := make(chan struct{})
	// Both have created their key before either creates the alias.
	f.beforeAlias = func() { arrived.Done(); <-release }
	go func() { arrived.Wait(); close(release) }()
	got := make([]string, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { got[i], errs[i] = k.Ensure(ctx, 7) })
	}
	wg.Wait()
	if errors.Join(errs...) != nil {
		t.Fatal(errs)
	}
	if got[0] != got[1] {
		t.Fatalf("the two provisioners use different keys: %v", got)
	}
	live, pending := f.keysOf("7")
	if len(live) != 1 || len(pending) != 1 || live[0].arn != got[0] {
		t.Fatalf("live %d, pending deletion %d; want 1 and 1 (the loser's)", len(live), len(pending))
	}
}

// Offboarding deletes the objects, then the bucket, then schedules the key:
// the key outlives nothing it protects, and a retried offboarding (bucket
// already gone) still shreds. An offboarded tenant gets no new bucket.
func TestDeleteTenantDataShredsTheKey(t *testing.T) {
	ctx := context.Background()
	s, c := clients(t)
	f, kc := newFakeKMS(t)
	c.KMS = kc
	s.ShredDays = 10
	svc := &files.Service{Settings: s, Clients: c, Log: testenv.Logger(t)}
	if _, _, err := svc.Provisioner().Provision(ctx, 5); err != nil {
		t.Fatal(err)
	}
	live, _ := f.keysOf("5")
	if len(live) != 1 {
		t.Fatalf("provisioning made %d keys for the tenant, want 1", len(live))
	}
	// A retried offboarding after the bucket went but before the key did.
	bucket := s.BucketName(5)
	if _, err := c.S3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket}); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteTenantData(ctx, 5); err != nil {
		t.Fatalf("delete: %v", err)
	}
	live, pending := f.keysOf("5")
	if len(live) != 0 || len(pending) != 1 || pending[0].window != 10 {
		t.Fatalf("after offboarding: %d live keys, %d pending (window %v); want 0, 1 with 10 days", len(live), len(pending), pending)
	}
	if err := svc.DeleteTenantData(ctx, 5); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if _, _, err := svc.Provisioner().Provision(ctx, 5); !errors.Is(err, files.ErrKeyShredded) {
		t.Fatalf("provisioning an offboarded tenant: %v, want ErrKeyShredded", err)
	}
	if _, err := c.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket}); err == nil {
		t.Error("a bucket was made for an offboarded tenant")
	}
	// A tenant that never had a key (keys turned on later) offboards cleanly.
	if err := svc.DeleteTenantData(ctx, 6); err != nil {
		t.Fatalf("delete of a tenant without a key: %v", err)
	}
}
