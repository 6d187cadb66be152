package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/files"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/jobs/jobstest"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// waitText polls sel's text until it is want; the bound only guards
// against a hung test.
func waitText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(function(){var e=document.querySelector(`+jsString(sel)+`);return e?e.textContent:"";})()`))
		if err == nil {
			got = v
			if got == want {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s shows %q, want %q", sel, got, want)
}

func jsString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

// Upload through the page (the browser PUTs to versitygw with progress),
// see "Pending scan" while clamd is away, then "Clean" arrive over the
// realtime channel without a reload once the scheduler's rescan runs;
// download the same bytes; upload EICAR and see it blocked live.
func TestBrowserFileUploadScanDownload(t *testing.T) {
	clamd, startClamd, stopClamd := testenv.PrivateClamd(t, "64M")
	_, redisURL := jobstest.Redis(t)
	env := testenv.FilesEnv(t, clamd)
	env["PALISADE_REDIS_URL"] = redisURL
	s := testenv.NewStack(t, "sqlite", env)
	ctx := browser(t)

	step(t, ctx, "open sign-up", chromedp.Navigate(s.URL("localhost", "/signup")))
	fill(t, ctx, map[string]string{"#organisation_name": "Acme Ltd", "#slug": "acme", "#name": "Ada Owner", "#email": "ada@acme.test", "#password": pw})
	clickTo(t, ctx, "#signup-submit", "/")
	step(t, ctx, "open files", chromedp.Navigate(s.URL("acme.localhost", "/files")))
	step(t, ctx, "subscribed", chromedp.WaitVisible(`#live-status[data-subscribed="true"]`))
	step(t, ctx, "upload form shown", chromedp.WaitVisible("#upload-form"))
	step(t, ctx, "mark page", chromedp.Evaluate[bool]("window.__sameDocument = true"))

	dir := t.TempDir()
	content := "board minutes\n" + strings.Repeat("line of text\n", 5000)
	clean := filepath.Join(dir, "minutes.txt")
	if err := os.WriteFile(clean, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	stopClamd()
	step(t, ctx, "choose file", chromedp.SetUploadFiles("#file-input", []string{clean}))
	step(t, ctx, "upload", chromedp.Click("#upload-submit"))
	waitText(t, ctx, "#upload-text", "Uploaded minutes.txt; scanning for malware.")
	if v := step(t, ctx, "progress", chromedp.Evaluate[float64]("document.getElementById('upload-progress').value")); v != 100 {
		t.Fatalf("progress bar at %v after the upload", v)
	}
	row := `#files tbody tr:first-child`
	waitText(t, ctx, row+" .badge", "Pending scan")
	if n := step(t, ctx, "download disabled", chromedp.Evaluate[int](`document.querySelectorAll('#files tbody tr:first-child a.download').length`)); n != 0 {
		t.Fatal("a download link is offered before the scan")
	}
	// The fresh row has its Delete at once, as a reloaded page would.
	if n := step(t, ctx, "delete offered", chromedp.Evaluate[int](`[...document.querySelectorAll('#files tbody tr:first-child form[action$="/delete"] button')].filter(b => b.textContent === "Delete").length`)); n != 1 {
		t.Fatal("the freshly uploaded row has no Delete")
	}

	// clamd returns; the scheduler's periodic rescan picks the file up.
	startClamd()
	if _, err := files.RescanPendingFiles.Enqueue(context.Background(), jobs.NewClient(mustRedis(t, redisURL)), jobs.Empty{}); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, row+" .badge", "Clean")
	if same := step(t, ctx, "no reload", chromedp.Evaluate[bool]("window.__sameDocument === true")); !same {
		t.Fatal("the page reloaded")
	}
	href := step(t, ctx, "download link", chromedp.AttributeValue(row+" a.download", "href"))
	if !href.Exists || !strings.HasSuffix(href.Value, "/download") {
		t.Fatalf("download link %+v", href)
	}
	got := step(t, ctx, "download", chromedp.Evaluate[string](`fetch(document.querySelector('#files tbody tr:first-child').dataset.fileId ? '/api/files/download-url?file_id=' + document.querySelector('#files tbody tr:first-child').dataset.fileId : '')
		.then(function (r) { return r.json(); }).then(function (j) { return fetch(j.download.url); }).then(function (r) { return r.text(); })`, chromedp.EvalAwaitPromise))
	if got != content {
		t.Fatalf("downloaded %d bytes, want the %d uploaded", len(got), len(content))
	}

	// EICAR: blocked, live.
	bad := filepath.Join(dir, "invoice.txt")
	if err := os.WriteFile(bad, testenv.EICAR(), 0o600); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "choose eicar", chromedp.SetUploadFiles("#file-input", []string{bad}))
	step(t, ctx, "upload eicar", chromedp.Click("#upload-submit"))
	waitText(t, ctx, "#upload-text", "Uploaded invoice.txt; scanning for malware.")
	waitText(t, ctx, row+" .name", "invoice.txt")
	waitText(t, ctx, row+" .badge", "Blocked: malware found")

	// The server-rendered page (no JavaScript needed) says the same.
	step(t, ctx, "reload", chromedp.Reload())
	waitText(t, ctx, `#files tbody tr:nth-child(1) .badge`, "Blocked: malware found")
	waitText(t, ctx, `#files tbody tr:nth-child(2) .badge`, "Clean")
	// The blocked file's download page refuses with the reason.
	id := step(t, ctx, "infected id", chromedp.Evaluate[string](`document.querySelector('#files tbody tr:first-child').dataset.fileId`))
	step(t, ctx, "open blocked download", chromedp.Navigate(s.URL("acme.localhost", "/files/"+id+"/download")))
	if msg := textOf(t, ctx, "main"); !strings.Contains(msg, "malware") {
		t.Fatalf("blocked download page: %q", msg)
	}
}

func mustRedis(t *testing.T, url string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}
