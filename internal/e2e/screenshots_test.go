package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestScreenshots saves PNGs of the main pages, at 1280 px (desktop) and
// 390 px (phone), into the folder named by PALISADE_SCREENSHOTS (relative
// paths are from the module root). It runs only when that is set:
// scripts/screenshots.sh is the one command that regenerates
// docs/screenshots/.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("PALISADE_SCREENSHOTS")
	if dir == "" {
		t.Skip("set PALISADE_SCREENSHOTS=docs/screenshots (or run scripts/screenshots.sh) to regenerate the screenshots")
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(moduleRoot(t), dir)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	s := testenv.NewStack(t, "sqlite", nil)
	demo := seedDemo(t, s)
	ctx := browser(t)

	// The login page first, logged out; then the owner's pages.
	shoot(t, ctx, dir, "login", s.URL("acme.localhost", "/login"))
	step(t, ctx, "viewport", chromedp.EmulateViewport(1280, 800))
	step(t, ctx, "owner login", chromedp.Navigate(s.URL("acme.localhost", "/login")))
	fill(t, ctx, map[string]string{"#email": "ada@acme.test", "#password": pw})
	clickTo(t, ctx, "#login-submit", "/")
	shoot(t, ctx, dir, "home", s.URL("acme.localhost", "/"))
	shoot(t, ctx, dir, "members", s.URL("acme.localhost", "/members"))
	shoot(t, ctx, dir, "files", s.URL("acme.localhost", "/files"))
	shoot(t, ctx, dir, "security", s.URL("acme.localhost", "/security"))

	// HQ: the operator logs in and enrols the mandatory second factor.
	shoot(t, ctx, dir, "hq-login", s.URL("admin.localhost", "/login"))
	step(t, ctx, "viewport", chromedp.EmulateViewport(1280, 800))
	step(t, ctx, "hq login", chromedp.Navigate(s.URL("admin.localhost", "/login")))
	fill(t, ctx, map[string]string{"#email": "otto@palisade.test", "#password": pw})
	clickTo(t, ctx, "#login-submit", "/mfa/setup")
	code, err := totp.GenerateCode(textOf(t, ctx, "#totp-secret"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	fill(t, ctx, map[string]string{"#code": code})
	clickTo(t, ctx, "#mfa-submit", "/mfa/setup")
	clickTo(t, ctx, "#mfa-continue", "/tenants")
	shoot(t, ctx, dir, "hq-tenants", s.URL("admin.localhost", "/tenants"))
	shoot(t, ctx, dir, "hq-tenant", s.URL("admin.localhost", fmt.Sprintf("/tenants/%d", demo.tenantID)))
}

// shoot saves name-1280.png and name-390.png of the page at u.
func shoot(t *testing.T, ctx context.Context, dir, name, u string) {
	t.Helper()
	for _, vp := range []struct {
		w, h int64
	}{{1280, 800}, {390, 844}} {
		step(t, ctx, "viewport", chromedp.EmulateViewport(vp.w, vp.h))
		step(t, ctx, "open "+u, chromedp.Navigate(u))
		step(t, ctx, "page shown", chromedp.WaitVisible("main"))
		png := step(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
		if len(png) < 8 || string(png[1:4]) != "PNG" {
			t.Fatalf("%s: not a PNG (%d bytes)", name, len(png))
		}
		file := filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, vp.w))
		if err := os.WriteFile(file, png, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", file)
	}
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	d, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		up := filepath.Dir(d)
		if up == d {
			t.Fatal("no go.mod above the test's folder")
		}
		d = up
	}
}

type demoData struct {
	tenantID int64
}

// seedDemo fills the stack with what the pages should show: acme with an
// owner, members, a pending invitation, files in every scan state, other
// tenants on various plans (one suspended), and an operator with a second
// factor and an open break-glass grant on acme.
func seedDemo(t *testing.T, s *testenv.Stack) demoData {
	t.Helper()
	ctx := context.Background()
	hash, err := hasher().Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	tn, owner, err := s.Store.SignUp(ctx, "acme", "Acme Ltd", store.NewUser{Email: "ada@acme.test", Name: "Ada Lovelace", PasswordHash: hash}, core.AuditEvent{Action: "tenant.signup", ActorType: "system"})
	if err != nil {
		t.Fatal(err)
	}
	ts := s.Store.Tenant(tn.ID)
	for _, m := range []struct {
		email, name string
		role        core.Role
	}{{"grace@acme.test", "Grace Hopper", core.RoleAdmin}, {"alan@acme.test", "Alan Turing", core.RoleMember}, {"katherine@acme.test", "Katherine Johnson", core.RoleMember}} {
		inv, err := ts.CreateInvitation(ctx, m.email, m.role, owner.ID, "hash-"+m.email, time.Now().Add(time.Hour), core.AuditEvent{Action: "invitation.created", ActorType: "user", ActorID: &owner.ID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.AcceptInvitation(ctx, inv, 0, store.NewUser{Email: m.email, Name: m.name, PasswordHash: hash}, core.AuditEvent{Action: "invitation.accepted"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ts.CreateInvitation(ctx, "linus@acme.test", core.RoleMember, owner.ID, "hash-linus", time.Now().Add(72*time.Hour), core.AuditEvent{Action: "invitation.created", ActorType: "user", ActorID: &owner.ID}); err != nil {
		t.Fatal(err)
	}
	for i, f := range []struct {
		name, ct, status string
		size             int64
	}{
		{"Q3 board report.pdf", "application/pdf", store.FileClean, 2_340_000},
		{"Customer list.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", store.FileClean, 184_000},
		{"Office floor plan.png", "image/png", store.FileClean, 920_000},
		{"Contract draft v4.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", store.FilePending, 61_000},
		{"invoice-0423.zip", "application/zip", store.FileInfected, 12_000},
	} {
		rec, err := ts.CreateFile(ctx, store.File{UploaderID: owner.ID, Name: f.name, ContentType: f.ct, Size: f.size, Bucket: "demo"},
			func(id int64) string { return fmt.Sprintf("demo/%d", id) }, core.AuditEvent{Action: "file.upload_url_issued", ActorType: "user", ActorID: &owner.ID})
		if err != nil {
			t.Fatal(err)
		}
		if f.status != store.FilePending {
			if _, _, err := ts.RecordScan(ctx, rec.ID, fmt.Sprintf("v%d", i), f.status, "", core.AuditEvent{Action: "file.scanned", ActorType: "system"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, o := range []struct{ slug, name, plan string }{{"bolt", "Bolt Logistics", "business"}, {"cobalt", "Cobalt Labs", "team"}, {"delta", "Delta Health", "enterprise"}, {"ember", "Ember Studio", "free"}} {
		ot, _, err := s.Store.SignUp(ctx, o.slug, o.name, store.NewUser{Email: "owner@" + o.slug + ".test", Name: "Owner of " + o.name, PasswordHash: hash}, core.AuditEvent{Action: "tenant.signup", ActorType: "system"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Store.UpdateTenant(ctx, ot.ID, o.name, o.plan, core.AuditEvent{Action: "hq.tenant.updated", ActorType: "system"}); err != nil {
			t.Fatal(err)
		}
		if o.slug == "ember" {
			if _, err := s.Store.SetTenantStatus(ctx, ot.ID, core.TenantSuspended, "Payment overdue since March", core.AuditEvent{Action: "hq.tenant.suspended", ActorType: "system"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.Store.UpdateTenant(ctx, tn.ID, tn.Name, "business", core.AuditEvent{Action: "hq.tenant.updated", ActorType: "system"}); err != nil {
		t.Fatal(err)
	}

	op, err := app.CreateOperator(ctx, s.Store, hasher(), "otto@palisade.test", "Otto Operator", pw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.OpenBreakGlass(ctx, op.ID, "Ticket 4711: the board report will not open", 2*time.Hour, core.AuditEvent{Action: "hq.break_glass.opened", ActorType: "operator", ActorID: &op.ID}); err != nil {
		t.Fatal(err)
	}
	// A second session of the owner, for the security page.
	oc := s.Client()
	res, err := oc.PostForm(s.URL("acme.localhost", "/login"), url.Values{"email": {"ada@acme.test"}, "password": {pw}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return demoData{tenantID: tn.ID}
}
