package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers/legacy"

	apispec "github.com/palisade-hq/palisade/api"
	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/files"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/jobs/jobstest"
	"github.com/palisade-hq/palisade/internal/obs"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// filesStack is the API plus a job worker on a Redis database of the
// test's own (asynq keys have no prefix, so a shared database would let
// another test's worker take our scans), pointed at the test S3 and clamd.
type filesStack struct {
	*stack
	svc *files.Service
}

func newFilesStack(t *testing.T, driver, clamdAddr string, extra map[string]string) *filesStack {
	t.Helper()
	rdb, url := jobstest.Redis(t)
	env := testenv.FilesEnv(t, clamdAddr)
	env["PALISADE_REDIS_URL"] = url
	env["PALISADE_REDIS_PREFIX"] = "palisade:"
	env["PALISADE_S3_WEBHOOK_TOKEN"] = "hook-token"
	for k, v := range extra {
		env[k] = v
	}
	cfg := testConfig(t, env)
	st := testenv.Store(t, driver)
	log := testenv.Logger(t)
	srv, err := app.NewAPI(cfg, st, rdb, log, obs.NewMetrics(), &httpx.Health{}, app.APIOptions{Hasher: auth.Hasher{P: auth.FastParams}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	doc, err := openapi3.NewLoader().LoadFromData(apispec.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: ts.URL}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	w := app.NewWorker(cfg, st, rdb, log, jobs.NewMetrics(obs.NewMetrics().Registry), app.WorkerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	svc, err := app.NewFiles(context.Background(), cfg, st, rdb, log)
	if err != nil || svc == nil {
		t.Fatalf("files service: %v", err)
	}
	return &filesStack{stack: &stack{t: t, cfg: cfg, st: st, rdb: rdb, srv: ts, router: router}, svc: svc}
}

type uploadResp struct {
	File   store.File `json:"file"`
	Upload struct {
		URL     string            `json:"url"`
		Method  string            `json:"method"`
		Headers map[string]string `json:"headers"`
	} `json:"upload"`
}

func announce(t *testing.T, b *browser, name, ct string, size int) uploadResp {
	t.Helper()
	r := b.do("POST", "/api/files/upload-url", map[string]any{"name": name, "size": size, "content_type": ct})
	want(t, r, http.StatusCreated)
	var out uploadResp
	r.json(t, &out)
	if out.File.Status != "pending" || out.Upload.Method != "PUT" {
		t.Fatalf("announce: %+v", out)
	}
	return out
}

// put sends body to a presigned URL the way a browser would.
func put(t *testing.T, rawURL string, headers map[string]string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest("PUT", rawURL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT: %v", err)
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(msg)
}

func upload(t *testing.T, b *browser, name, ct string, body []byte) store.File {
	t.Helper()
	up := announce(t, b, name, ct, len(body))
	if code, msg := put(t, up.Upload.URL, up.Upload.Headers, body); code != http.StatusOK {
		t.Fatalf("PUT to the presigned URL: %d %s", code, msg)
	}
	r := b.do("POST", fmt.Sprintf("/api/files/%d/complete", up.File.ID), nil)
	want(t, r, http.StatusAccepted)
	return up.File
}

// waitScanned polls until the file leaves pending. The bound is only a
// guard against a hung test, not a performance claim.
func waitScanned(t *testing.T, b *browser, id int64) store.File {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r := b.do("GET", fmt.Sprintf("/api/files/%d", id), nil)
		want(t, r, http.StatusOK)
		var out struct {
			File store.File `json:"file"`
		}
		r.json(t, &out)
		if out.File.Status != store.FilePending {
			return out.File
		}
		if time.Now().After(deadline) {
			t.Fatalf("file %d still pending after 2 minutes", id)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func downloadURL(t *testing.T, b *browser, id int64) (resp, string) {
	t.Helper()
	r := b.do("GET", fmt.Sprintf("/api/files/download-url?file_id=%d", id), nil)
	var out struct {
		Download struct {
			URL string `json:"url"`
		} `json:"download"`
		Status string `json:"status"`
	}
	r.json(t, &out)
	if r.status == http.StatusOK {
		return r, out.Download.URL
	}
	return r, out.Status
}

func zipWith(t *testing.T, name string, body []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create(name)
	w.Write(body)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func TestFilesEndToEnd(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newFilesStack(t, driver, testenv.Clamd(t), nil)
		owner, tenant := s.signUp("acme", "owner@acme.test")

		// A clean file: upload URL → PUT → complete → scan → Clean → download.
		body := append([]byte("quarterly numbers\n"), randBytes(64<<10)...)
		up := announce(t, owner, "q3 report.txt", "text/plain", len(body))
		r, st := downloadURL(t, owner, up.File.ID)
		if r.status != http.StatusConflict || st != "pending" {
			t.Fatalf("download before upload: %d %s", r.status, r.body)
		}
		if code, msg := put(t, up.Upload.URL, up.Upload.Headers, body); code != http.StatusOK {
			t.Fatalf("PUT: %d %s", code, msg)
		}
		want(t, owner.do("POST", fmt.Sprintf("/api/files/%d/complete", up.File.ID), nil), http.StatusAccepted)
		f := waitScanned(t, owner, up.File.ID)
		if f.Status != store.FileClean {
			t.Fatalf("clean file ended %s (%s)", f.Status, f.Signature)
		}
		r, link := downloadURL(t, owner, f.ID)
		want(t, r, http.StatusOK)
		res, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !bytes.Equal(got, body) {
			t.Fatalf("download: %d, %d bytes back of %d", res.StatusCode, len(got), len(body))
		}
		if cd := res.Header.Get("Content-Disposition"); !strings.Contains(cd, "q3 report.txt") {
			t.Errorf("Content-Disposition %q does not name the file", cd)
		}

		// EICAR, bare and zipped, ends Infected and is never handed out.
		for name, data := range map[string][]byte{"eicar.txt": testenv.EICAR(), "bundle.zip": zipWith(t, "inner/eicar.com", testenv.EICAR())} {
			ct := "text/plain"
			if strings.HasSuffix(name, ".zip") {
				ct = "application/zip"
			}
			bad := upload(t, owner, name, ct, data)
			got := waitScanned(t, owner, bad.ID)
			if got.Status != store.FileInfected || !strings.Contains(got.Signature, "EICAR") {
				t.Fatalf("%s ended %s (%q), want infected", name, got.Status, got.Signature)
			}
			r, st := downloadURL(t, owner, bad.ID)
			if r.status != http.StatusForbidden || st != "infected" {
				t.Fatalf("%s download: %d %s", name, r.status, r.body)
			}
		}
		// The quarantine is audited and the admins are told.
		evs, err := s.st.Tenant(tenant.ID).AuditEvents(context.Background(), 0, 200)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, e := range evs {
			seen[e.Action]++
		}
		if seen["file.quarantined"] != 2 || seen["file.download_url_issued"] != 1 || seen["file.scanned"] != 1 {
			t.Errorf("audit actions %v: want 2 file.quarantined, 1 file.scanned, 1 file.download_url_issued", seen)
		}
		if m := s.lastMail("owner@acme.test"); !strings.Contains(m.Subject, "Malware blocked") {
			t.Errorf("owner's last mail is %q, want a malware notice", m.Subject)
		}

		// Another tenant never gets at acme's file, by any route.
		other, _ := s.signUp("beta", "owner@beta.test")
		for _, probe := range []struct{ method, path string }{
			{"GET", fmt.Sprintf("/api/files/download-url?file_id=%d", f.ID)},
			{"GET", fmt.Sprintf("/api/files/%d", f.ID)},
			{"POST", fmt.Sprintf("/api/files/%d/complete", f.ID)},
			{"DELETE", fmt.Sprintf("/api/files/%d", f.ID)},
		} {
			want(t, other.do(probe.method, probe.path, nil), http.StatusNotFound)
		}
		var list struct {
			Files []store.File `json:"files"`
		}
		r = other.do("GET", "/api/files", nil)
		want(t, r, http.StatusOK)
		r.json(t, &list)
		if len(list.Files) != 0 {
			t.Fatalf("beta lists acme's files: %+v", list.Files)
		}
		r = owner.do("GET", "/api/files", nil)
		r.json(t, &list)
		if len(list.Files) != 3 {
			t.Fatalf("acme lists %d files, want 3", len(list.Files))
		}

		// Delete: the object and the record go; the download is gone too.
		want(t, owner.do("DELETE", fmt.Sprintf("/api/files/%d", f.ID), nil), http.StatusNoContent)
		want(t, owner.do("GET", fmt.Sprintf("/api/files/download-url?file_id=%d", f.ID), nil), http.StatusNotFound)
	})
}

func TestFilesUploadValidation(t *testing.T) {
	s := newFilesStack(t, "sqlite", testenv.Clamd(t), map[string]string{"PALISADE_FILES_MAX_BYTES": "1000"})
	owner, _ := s.signUp("acme", "owner@acme.test")
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "", "size": 10, "content_type": "text/plain"}, "name"},
		{map[string]any{"name": "../etc/passwd", "size": 10, "content_type": "text/plain"}, "name"},
		{map[string]any{"name": "a\x00b.txt", "size": 10, "content_type": "text/plain"}, "name"},
		{map[string]any{"name": strings.Repeat("a", 256), "size": 10, "content_type": "text/plain"}, "name"},
		{map[string]any{"name": "a.txt", "size": 0, "content_type": "text/plain"}, "size"},
		{map[string]any{"name": "a.txt", "size": 1001, "content_type": "text/plain"}, "size"},
		{map[string]any{"name": "a.exe", "size": 10, "content_type": "application/x-msdownload"}, "content_type"},
		{map[string]any{"name": "a.txt", "size": 10, "content_type": "not a type"}, "content_type"},
	} {
		r := owner.do("POST", "/api/files/upload-url", tc.body)
		want(t, r, http.StatusUnprocessableEntity)
		var e httpx.ErrorBody
		r.json(t, &e)
		if e.Error.Field != tc.field || e.Error.Message == "" {
			t.Errorf("%v: field %q message %q, want field %q", tc.body, e.Error.Field, e.Error.Message, tc.field)
		}
	}
	want(t, owner.do("GET", "/api/files/download-url?file_id=abc", nil), http.StatusUnprocessableEntity)
	want(t, owner.do("GET", "/api/files/download-url", nil), http.StatusUnprocessableEntity)
	anon := s.browser("acme.localhost:3000")
	want(t, anon.do("POST", "/api/files/upload-url", map[string]any{"name": "a.txt", "size": 1, "content_type": "text/plain"}), http.StatusUnauthorized)
	// Completing before the bytes arrived is a clear conflict.
	up := announce(t, owner, "later.txt", "text/plain", 10)
	r := owner.do("POST", fmt.Sprintf("/api/files/%d/complete", up.File.ID), nil)
	if r.status != http.StatusConflict || r.errorCode() != string(core.KindConflict) {
		t.Fatalf("complete before PUT: %d %s", r.status, r.body)
	}
}

// The object store refuses a presigned PUT that was tampered with, has
// expired, or sends another type or length than was signed.
func TestPresignedUploadIsBound(t *testing.T) {
	s := newFilesStack(t, "sqlite", testenv.Clamd(t), map[string]string{"PALISADE_FILES_UPLOAD_URL_TTL": "2s"})
	owner, _ := s.signUp("acme", "owner@acme.test")
	body := []byte("exactly these bytes")

	up := announce(t, owner, "a.txt", "text/plain", len(body))
	u, _ := url.Parse(up.Upload.URL)
	q := u.Query()
	sig := []byte(q.Get("X-Amz-Signature"))
	sig[0] ^= 1
	if sig[0] < '0' || (sig[0] > '9' && sig[0] < 'a') || sig[0] > 'f' {
		sig[0] = '0'
	}
	q.Set("X-Amz-Signature", string(sig))
	u.RawQuery = q.Encode()
	if code, _ := put(t, u.String(), up.Upload.Headers, body); code != http.StatusForbidden {
		t.Errorf("tampered signature: %d, want 403", code)
	}
	q = u.Query()
	q.Set("X-Amz-Expires", "3600") // stretching the expiry breaks the signature too
	u.RawQuery = q.Encode()
	if code, _ := put(t, u.String(), up.Upload.Headers, body); code != http.StatusForbidden {
		t.Errorf("stretched expiry: %d, want 403", code)
	}
	if code, _ := put(t, up.Upload.URL, map[string]string{"Content-Type": "image/png"}, body); code != http.StatusForbidden {
		t.Errorf("wrong content type: %d, want 403", code)
	}
	if code, _ := put(t, up.Upload.URL, up.Upload.Headers, append(body, randBytes(4096)...)); code < 400 {
		t.Errorf("oversize body: %d, want a refusal", code)
	}
	// Nothing of the above was stored.
	r := owner.do("POST", fmt.Sprintf("/api/files/%d/complete", up.File.ID), nil)
	want(t, r, http.StatusConflict)

	late := announce(t, owner, "late.txt", "text/plain", len(body))
	time.Sleep(3 * time.Second) // past the 2 s expiry
	if code, msg := put(t, late.Upload.URL, late.Upload.Headers, body); code != http.StatusForbidden {
		t.Errorf("expired URL: %d %s, want 403", code, msg)
	}
	// The untouched URL still works, so the refusals above were about the tampering.
	fresh := announce(t, owner, "ok.txt", "text/plain", len(body))
	if code, msg := put(t, fresh.Upload.URL, fresh.Upload.Headers, body); code != http.StatusOK {
		t.Fatalf("genuine PUT: %d %s", code, msg)
	}
}

// Fail closed: without clamd the file stays pending and is refused; once
// clamd is back, the scheduler's rescan job makes it Clean. A file over the
// scan limit never becomes Clean.
func TestFilesFailClosed(t *testing.T) {
	addr, start, stop := testenv.PrivateClamd(t, "64M")
	s := newFilesStack(t, "sqlite", addr, map[string]string{"PALISADE_SCAN_MAX_BYTES": "4096"})
	owner, tenant := s.signUp("acme", "owner@acme.test")
	stop()

	f := upload(t, owner, "notes.txt", "text/plain", []byte("nothing bad here"))
	// Run the scan job's handler directly: the worker's copy may be between
	// retries, and this shows what one attempt does without clamd.
	err := files.Jobs{S: s.svc}.Scan(context.Background(), files.ScanFilePayload{TenantID: tenant.ID, FileID: f.ID})
	if err == nil {
		t.Fatal("a scan without clamd reported success")
	}
	if r, st := downloadURL(t, owner, f.ID); r.status != http.StatusConflict || st != "pending" {
		t.Fatalf("download with clamd down: %d %s", r.status, r.body)
	}
	got, _ := s.st.Tenant(tenant.ID).File(context.Background(), f.ID)
	if got.Status != store.FilePending {
		t.Fatalf("file is %s with clamd down, want pending", got.Status)
	}

	// Nor through HQ: an operator's break-glass grant opens content, not
	// an unscanned file.
	op := s.operator("ops@palisade.test")
	want(t, op.do("POST", fmt.Sprintf("/api/hq/tenants/%d/break-glass", tenant.ID), map[string]any{"reason": "ticket 4712: file will not open", "minutes": 30}), http.StatusCreated)
	hqDownload := fmt.Sprintf("/api/hq/tenants/%d/files/%d/download-url", tenant.ID, f.ID)
	want(t, op.do("GET", hqDownload, nil), http.StatusConflict)

	start()
	if _, err := files.RescanPendingFiles.Enqueue(context.Background(), jobs.NewClient(s.rdb), jobs.Empty{}); err != nil {
		t.Fatal(err)
	}
	if got := waitScanned(t, owner, f.ID); got.Status != store.FileClean {
		t.Fatalf("after clamd returned: %s (%s), want clean", got.Status, got.Signature)
	}
	want(t, owner.do("GET", fmt.Sprintf("/api/files/download-url?file_id=%d", f.ID), nil), http.StatusOK)

	big := upload(t, owner, "big.txt", "text/plain", randBytes(8192))
	if got := waitScanned(t, owner, big.ID); got.Status != store.FileError {
		t.Fatalf("over the scan limit: %s, want error", got.Status)
	}
	if r, st := downloadURL(t, owner, big.ID); r.status != http.StatusForbidden || st != "error" {
		t.Fatalf("download over the scan limit: %d %s", r.status, r.body)
	}
	want(t, op.do("GET", fmt.Sprintf("/api/hq/tenants/%d/files/%d/download-url", tenant.ID, big.ID), nil), http.StatusForbidden)
	want(t, op.do("GET", hqDownload, nil), http.StatusOK)
}

func TestFilesWebhook(t *testing.T) {
	s := newFilesStack(t, "sqlite", testenv.Clamd(t), nil)
	owner, tenant := s.signUp("acme", "owner@acme.test")
	up := announce(t, owner, "hook.txt", "text/plain", 5)
	if code, msg := put(t, up.Upload.URL, up.Upload.Headers, []byte("hello")); code != http.StatusOK {
		t.Fatalf("PUT: %d %s", code, msg)
	}
	f, _ := s.st.Tenant(tenant.ID).File(context.Background(), up.File.ID)
	event := fmt.Sprintf(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":%q},"object":{"key":%q,"size":5}}}]}`,
		f.Bucket, url.QueryEscape(f.ObjectKey))
	hook := s.browser("127.0.0.1")
	want(t, hook.do("POST", "/api/files/s3-events?token=wrong", event), http.StatusUnauthorized)
	r := hook.do("POST", "/api/files/s3-events?token=hook-token", event)
	want(t, r, http.StatusAccepted)
	var out struct{ Queued int }
	r.json(t, &out)
	if out.Queued != 1 {
		t.Fatalf("queued %d scans, want 1", out.Queued)
	}
	if got := waitScanned(t, owner, up.File.ID); got.Status != store.FileClean {
		t.Fatalf("webhook-triggered scan: %s", got.Status)
	}
}

// TestSignUpProvisionsBucket: creating a tenant queues its bucket, and the
// worker creates it before any upload (no scheduler runs in this stack, so
// the minutely sweep is not what made it).
func TestSignUpProvisionsBucket(t *testing.T) {
	s := newFilesStack(t, "sqlite", testenv.Clamd(t), nil)
	_, tenant := s.signUp("acme", "owner@acme.test")
	bucket := s.svc.Settings.BucketName(tenant.ID)
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := s.svc.Clients.S3.HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: &bucket})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("bucket %s not created within 60s of sign-up: %v", bucket, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
