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

// dashboardLayout measures the home page: whether it scrolls sideways,
// and which tiles, checklist items and activity rows are not on screen.
const dashboardLayout = `(() => {
  const els = [...document.querySelectorAll(".dash-stat, #checklist li, #activity tbody tr, #scan-counts li")];
  const lost = els.filter(el => {
    const r = el.getBoundingClientRect();
    return r.width === 0 || r.height === 0 || r.left < 0 || r.right > window.innerWidth + 1;
  }).map(el => el.id || el.textContent.trim().slice(0, 40));
  return JSON.stringify({count: els.length, lost, scrollX: document.documentElement.scrollWidth > window.innerWidth + 1});
})()`

// TestBrowserDashboard: at 1280 and at 390 px the home page shows the
// tenant's counts and checklist, fits the screen, and its numbers move
// when the owner sends an invitation through the members page (followed
// from the checklist's link) and when a file is uploaded.
func TestBrowserDashboard(t *testing.T) {
	for _, vp := range []struct {
		name          string
		width, height int64
	}{{"desktop", 1280, 900}, {"phone", 390, 844}} {
		t.Run(vp.name, func(t *testing.T) {
			s := testenv.NewStack(t, "sqlite", nil)
			ctx := browser(t)
			step(t, ctx, "viewport", chromedp.EmulateViewport(vp.width, vp.height))
			step(t, ctx, "open sign-up", chromedp.Navigate(s.URL("localhost", "/signup")))
			fill(t, ctx, map[string]string{"#organisation_name": "Acme Ltd", "#slug": "acme", "#name": "Ada Owner", "#email": "ada@acme.test", "#password": pw})
			clickTo(t, ctx, "#signup-submit", "/")

			layout := func(when string) {
				t.Helper()
				raw := step(t, ctx, "measure", chromedp.Evaluate[string](dashboardLayout))
				var out struct {
					Count   int
					Lost    []string
					ScrollX bool
				}
				mustJSON(t, raw, &out)
				if out.Count < 8 || len(out.Lost) > 0 || out.ScrollX {
					t.Errorf("%s at %d px: %d elements, off screen %v, scrolls sideways %v", when, vp.width, out.Count, out.Lost, out.ScrollX)
				}
			}
			done := func(id string) string {
				t.Helper()
				return step(t, ctx, "step "+id, chromedp.Evaluate[string](fmt.Sprintf(`(document.getElementById("step-%s") || {dataset: {}}).dataset.done || ""`, id)))
			}
			if got := textOf(t, ctx, "#stat-invitations .dash-num"); got != "0" {
				t.Errorf("pending invitations after sign-up: %q", got)
			}
			if got := textOf(t, ctx, "#stat-files .dash-num"); got != "0" {
				t.Errorf("files after sign-up: %q", got)
			}
			if d := done("invite_teammate"); d != "false" {
				t.Errorf("invite step after sign-up: %q", d)
			}
			if got := textOf(t, ctx, "#activity tbody tr:first-child"); !strings.Contains(got, "Logged in") || !strings.Contains(got, "just now") {
				t.Errorf("newest activity after sign-up: %q", got)
			}
			title := step(t, ctx, "exact time", chromedp.Evaluate[string](`document.querySelector("#activity time").title`))
			if !strings.HasSuffix(title, " UTC") {
				t.Errorf("activity time has no exact time on hover: %q", title)
			}
			layout("fresh dashboard")

			// The checklist's link leads to the invitation form.
			clickTo(t, ctx, "#step-invite_teammate a", "/members")
			fill(t, ctx, map[string]string{"#invite-email": "mia@acme.test"})
			clickTo(t, ctx, "#invite-submit", "/members")
			step(t, ctx, "home", chromedp.Navigate(s.URL("acme.localhost", "/")))
			if got := textOf(t, ctx, "#stat-invitations .dash-num"); got != "1" {
				t.Errorf("pending invitations after inviting: %q", got)
			}
			if d := done("invite_teammate"); d != "true" {
				t.Errorf("invite step after inviting: %q", d)
			}
			if got := textOf(t, ctx, "#activity tbody tr:first-child"); !strings.Contains(got, "Invitation sent") || !strings.Contains(got, "Ada Owner") {
				t.Errorf("newest activity after inviting: %q", got)
			}

			// An upload, recorded as the upload path does, scanned clean.
			tn, err := s.Store.TenantBySlug(context.Background(), "acme")
			if err != nil {
				t.Fatal(err)
			}
			owner, err := s.Store.UserByEmail(context.Background(), "ada@acme.test")
			if err != nil {
				t.Fatal(err)
			}
			ts := s.Store.Tenant(tn.ID)
			f, err := ts.CreateFile(context.Background(), store.File{UploaderID: owner.ID, Name: "plan.pdf", ContentType: "application/pdf", Size: 2500000, Bucket: "bk"},
				func(id int64) string { return fmt.Sprintf("files/%d", id) }, core.AuditEvent{ActorType: "user", ActorID: &owner.ID, Action: "file.upload_requested"})
			if err != nil {
				t.Fatal(err)
			}
			if err := ts.MarkFileUploaded(context.Background(), f.ID, 2500000, "v1"); err != nil {
				t.Fatal(err)
			}
			if _, _, err := ts.RecordScan(context.Background(), f.ID, "v1", store.FileClean, "", core.AuditEvent{Action: "file.scanned"}); err != nil {
				t.Fatal(err)
			}
			step(t, ctx, "reload", chromedp.Reload())
			if got := textOf(t, ctx, "#stat-files .dash-num"); got != "1" {
				t.Errorf("files after the upload: %q", got)
			}
			if got := textOf(t, ctx, "#stat-storage .dash-num"); got != "2.5 MB" {
				t.Errorf("storage after the upload: %q", got)
			}
			if got := textOf(t, ctx, "#scan-clean"); !strings.Contains(got, "1") {
				t.Errorf("clean files after the upload: %q", got)
			}
			if d := done("upload_file"); d != "true" {
				t.Errorf("upload step after the upload: %q", d)
			}
			layout("dashboard with data")
		})
	}
}
