package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestBrowserHQFileViewer: on a phone, an operator requests break-glass
// access from the tenant page; the file viewer appears with every action on
// screen and Download only on the Clean file; "End now" closes it again.
func TestBrowserHQFileViewer(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	bg := context.Background()
	hash, err := hasher().Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	tn, owner, err := s.Store.SignUp(bg, "acme", "Acme Ltd", newUser("ada@acme.test", hash), core.AuditEvent{Action: "tenant.signup"})
	if err != nil {
		t.Fatal(err)
	}
	ts := s.Store.Tenant(tn.ID)
	for _, f := range []struct{ name, status string }{{"report.pdf", store.FileClean}, {"scan-me.pdf", store.FilePending}} {
		rec, err := ts.CreateFile(bg, store.File{UploaderID: owner.ID, Name: f.name, ContentType: "application/pdf", Size: 52_000, Bucket: "b"},
			func(id int64) string { return fmt.Sprintf("k/%d", id) }, core.AuditEvent{Action: "file.upload_url_issued"})
		if err != nil {
			t.Fatal(err)
		}
		if f.status == store.FileClean {
			if _, _, err := ts.RecordScan(bg, rec.ID, "v1", f.status, "", core.AuditEvent{Action: "file.scanned"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	page := fmt.Sprintf("/tenants/%d", tn.ID)
	ctx := browser(t)
	hqLogin(t, ctx, s, "ops@palisade.test")
	step(t, ctx, "phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	step(t, ctx, "tenant page", chromedp.Navigate(s.URL("admin.localhost", page)))
	if n := step(t, ctx, "viewer before", chromedp.Evaluate[int](`document.querySelectorAll('#hq-files').length`)); n != 0 {
		t.Fatal("file viewer shown without a grant")
	}
	fill(t, ctx, map[string]string{"#bg-reason": "Ticket 4711: report will not open"})
	clickTo(t, ctx, "#break-glass", page)
	if got := textOf(t, ctx, "#hq-files"); !strings.Contains(got, "report.pdf") || !strings.Contains(got, "scan-me.pdf") || !strings.Contains(got, "PDF") {
		t.Fatalf("file viewer: %q", got)
	}
	links := step(t, ctx, "download links", chromedp.Evaluate[string](`[...document.querySelectorAll('#hq-files a.download')].map(a => a.closest('tr').querySelector('.name').textContent).join(",")`))
	if links != "report.pdf" {
		t.Fatalf("Download links on %q, want only the Clean file", links)
	}
	raw := step(t, ctx, "measure actions", chromedp.Evaluate[string](actionsOnScreen))
	var out struct {
		Count   int
		Lost    []string
		ScrollX bool
	}
	mustJSON(t, raw, &out)
	if out.Count < 2 || len(out.Lost) > 0 || out.ScrollX {
		t.Errorf("tenant page at 390 px: %d actions, lost %v, scrolls sideways %v", out.Count, out.Lost, out.ScrollX)
	}
	clickTo(t, ctx, `//button[text()="End now"]`, page)
	if got := textOf(t, ctx, ".flash"); !strings.Contains(got, "ended") {
		t.Fatalf("after End now: %q", got)
	}
	if n := step(t, ctx, "viewer after", chromedp.Evaluate[int](`document.querySelectorAll('#hq-files').length`)); n != 0 {
		t.Fatal("file viewer still shown after the grant ended")
	}
}
