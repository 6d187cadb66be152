package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// axeSource is axe-core's browser build from the node-clients folder that
// scripts/install-node-clients.sh fills (npm axe-core, pinned).
func axeSource(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PALISADE_TEST_NODE_MODULES")
	if dir == "" {
		testenv.Missing(t, "axe-core", "PALISADE_TEST_NODE_MODULES")
	}
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		// The folder is there but older than axe-core: a failure, not a skip,
		// wherever the folder is set.
		t.Fatalf("axe-core is not in PALISADE_TEST_NODE_MODULES (run scripts/install-node-clients.sh %s): %v", dir, err)
	}
	return string(b)
}

// axeMode is one way of looking at a page: a width and a colour scheme.
type axeMode struct {
	width, height int64
	scheme        string
}

var axeModes = []axeMode{{1280, 900, "light"}, {1280, 900, "dark"}, {390, 844, "light"}, {390, 844, "dark"}}

// axeRun checks the page now open in every mode and returns each serious
// or critical violation as "page [mode]: id (impact) target: help".
const axeRun = `axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(
  r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.slice(0, 6).map(n => n.target.join(" ") + (n.failureSummary ? " — " + n.failureSummary.replace(/\s+/g, " ").slice(0, 160) : ""))
  }))))`

// machineText is what no page may show people: Go's time.Duration syntax
// and byte counts that were never made human (issue 18).
var machineText = []*regexp.Regexp{
	regexp.MustCompile(`\b\d+h\d+m\d+(\.\d+)?s\b`),
	regexp.MustCompile(`\b\d+m\d+(\.\d+)?s\b`),
	regexp.MustCompile(`\b\d+(\.\d+)?(ms|µs|ns)\b`),
	regexp.MustCompile(`(?i)\b\d{4,} ?bytes?\b`),
}

type axeChecker struct {
	t        *testing.T
	src      string
	pages    int
	problems []string
}

func (a *axeChecker) check(ctx context.Context, page string) {
	t := a.t
	t.Helper()
	step(t, ctx, "loaded "+page, chromedp.WaitReady("body"))
	// What people read: no Go duration literal ("15m0s", "72h0m0s") and no
	// raw byte count ("3240000 bytes"), in the text or in hover titles.
	text := step(t, ctx, "text of "+page, chromedp.Evaluate[string](`document.body.innerText + "\n" +
		[...document.querySelectorAll("[title]")].map(e => e.title).join("\n")`))
	for _, re := range machineText {
		if m := re.FindString(text); m != "" {
			a.problems = append(a.problems, fmt.Sprintf("%s: people read %q (%s)", page, m, re))
		}
	}
	if !step(t, ctx, "axe present", chromedp.Evaluate[bool](`typeof axe !== "undefined"`)) {
		step(t, ctx, "inject axe", chromedp.Evaluate[bool](a.src+"\n;true"))
	}
	for _, m := range axeModes {
		step(t, ctx, "viewport", chromedp.EmulateViewport(m.width, m.height))
		step(t, ctx, "colour scheme", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: m.scheme}}})
			return err
		}))
		if got := step(t, ctx, "scheme applied", chromedp.Evaluate[bool](fmt.Sprintf(`matchMedia("(prefers-color-scheme: %s)").matches && innerWidth === %d`, m.scheme, m.width))); !got {
			t.Fatalf("%s: emulating %d px %s did not take", page, m.width, m.scheme)
		}
		raw := step(t, ctx, "axe.run on "+page, chromedp.Evaluate[string](axeRun, chromedp.EvalAwaitPromise))
		var vs []struct {
			ID, Impact, Help string
			Targets          []string
		}
		mustJSON(t, raw, &vs)
		for _, v := range vs {
			a.problems = append(a.problems, fmt.Sprintf("%s [%d px, %s]: %s (%s) %s\n      %s", page, m.width, m.scheme, v.ID, v.Impact, v.Help, strings.Join(v.Targets, "\n      ")))
		}
	}
	a.pages++
}

// visit opens url and checks it.
func (a *axeChecker) visit(ctx context.Context, page, url string) {
	a.t.Helper()
	step(a.t, ctx, "open "+page, chromedp.Navigate(url))
	a.check(ctx, page)
}

// TestAxeEveryPage runs axe-core in the real pages of the tenant app and HQ,
// logged out, as owner, admin and member, and as an operator, at 1280 and
// 390 px in the light and the dark colour scheme: no serious or critical
// violation is allowed.
func TestAxeEveryPage(t *testing.T) {
	a := &axeChecker{t: t, src: axeSource(t)}
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
	for email, role := range map[string]core.Role{"adam@acme.test": core.RoleAdmin, "mia@acme.test": core.RoleMember} {
		inv, err := ts.CreateInvitation(bg, email, role, owner.ID, "hash-"+email, time.Now().Add(time.Hour), core.AuditEvent{Action: "invitation.created"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.AcceptInvitation(bg, inv, 0, newUser(email, hash), core.AuditEvent{Action: "invitation.accepted"}); err != nil {
			t.Fatal(err)
		}
	}
	// A pending invitation whose link we know, for the accept page.
	if _, err := ts.CreateInvitation(bg, "leo@acme.test", core.RoleMember, owner.ID, auth.HashToken("leo-token"), time.Now().Add(time.Hour), core.AuditEvent{Action: "invitation.created"}); err != nil {
		t.Fatal(err)
	}
	// Files in each scan state, for the badges.
	for _, st := range []string{store.FilePending, store.FileClean, store.FileInfected, store.FileError} {
		f, err := ts.CreateFile(bg, store.File{UploaderID: owner.ID, Name: st + ".pdf", ContentType: "application/pdf", Size: 2048, Bucket: "b"}, func(id int64) string { return fmt.Sprintf("t/%d", id) }, core.AuditEvent{Action: "file.created"})
		if err != nil {
			t.Fatal(err)
		}
		if err := ts.MarkFileUploaded(bg, f.ID, 2048, "v1"); err != nil {
			t.Fatal(err)
		}
		if st != store.FilePending {
			if _, _, err := ts.RecordScan(bg, f.ID, "v1", st, "", core.AuditEvent{Action: "file.scanned"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx := browser(t)
	web := func(p string) string { return s.URL("acme.localhost", p) }
	hq := func(p string) string { return s.URL("admin.localhost", p) }

	// The check can fail: an image without a text alternative and grey on
	// grey text (styled through the CSSOM: the pages' CSP refuses inline styles) on the login page are reported.
	a.visit(ctx, "login with planted faults", web("/login"))
	step(t, ctx, "plant faults", chromedp.Evaluate[bool](`(() => { const m = document.querySelector("main");
	  m.insertAdjacentHTML("beforeend", '<img src="/static/none.png" id="planted-img"><p id="planted-grey">faint</p><p>try again in 15m0s; 3240000 bytes</p>');
	  const g = document.getElementById("planted-grey"); g.style.color = "#bbb"; g.style.background = "#ccc"; return true })()`))
	before := len(a.problems)
	a.check(ctx, "login with planted faults")
	planted := strings.Join(a.problems[before:], "\n")
	if !strings.Contains(planted, "image-alt (critical)") || !strings.Contains(planted, "color-contrast (serious)") || !strings.Contains(planted, "#planted-grey") ||
		!strings.Contains(planted, `"15m0s"`) || !strings.Contains(planted, `"3240000 bytes"`) {
		t.Fatalf("axe did not report the planted faults: %q", planted)
	}
	a.problems = a.problems[:before]

	// Logged out.
	a.visit(ctx, "signup", s.URL("localhost", "/signup"))
	a.visit(ctx, "login", web("/login"))
	a.visit(ctx, "forgot", web("/password/forgot"))
	a.visit(ctx, "reset", web("/password/reset?token=abc"))
	a.visit(ctx, "accept", web("/invitations/leo-token"))
	a.visit(ctx, "404 logged out", web("/no-such-page"))
	a.visit(ctx, "hq login", hq("/login"))

	login := func(email string) {
		step(t, ctx, "login page", chromedp.Navigate(web("/login")))
		fill(t, ctx, map[string]string{"#email": email, "#password": pw})
		clickTo(t, ctx, "#login-submit", "/")
	}
	logout := func() {
		step(t, ctx, "a page with the header", chromedp.Navigate(web("/members")))
		clickTo(t, ctx, "#logout", "/login")
	}

	// The owner: every page, the confirmation dialog open, the page that
	// asks without JavaScript, the step-up page and errors.
	login("ada@acme.test")
	a.check(ctx, "owner home")
	a.visit(ctx, "owner /files", web("/files"))
	if n := step(t, ctx, "badges", chromedp.Evaluate[int](`document.querySelectorAll("#files .badge[data-status]").length`)); n != 4 {
		t.Fatalf("the files page shows %d scan badges, want 4", n)
	}
	for _, p := range []string{"/members", "/audit", "/security"} {
		a.visit(ctx, "owner "+p, web(p))
	}
	a.visit(ctx, "owner reauth", web("/security/confirm?action=totp_setup"))
	step(t, ctx, "members", chromedp.Navigate(web("/members")))
	step(t, ctx, "open the dialog", chromedp.Click(`//table[@id="members"]//tr[td[contains(., "mia@acme.test")]]//button`))
	step(t, ctx, "dialog", chromedp.WaitVisible("#confirm-dialog-yes"))
	a.check(ctx, "owner members, confirmation dialog open")
	step(t, ctx, "cancel", chromedp.Click("#confirm-dialog-cancel"))
	mia, err := s.Store.UserByEmail(bg, "mia@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	postTo(t, ctx, fmt.Sprintf("/members/%d/remove", mia.ID), fmt.Sprintf("/members/%d/remove", mia.ID))
	if n := step(t, ctx, "confirm page", chromedp.Evaluate[int](`document.querySelectorAll("#confirm-yes").length`)); n != 1 {
		t.Fatal("removing without confirmed=yes did not ask on a page")
	}
	a.check(ctx, "owner confirm page")
	a.visit(ctx, "owner 404", web("/no-such-page"))

	// An API token: the page that shows it once.
	step(t, ctx, "security", chromedp.Navigate(web("/security")))
	fill(t, ctx, map[string]string{"#token-name": "CI"})
	clickTo(t, ctx, "#token-create", "/security/tokens")
	a.check(ctx, "owner new token")

	// The owner's own second factor: step-up, set-up, recovery codes,
	// then the second-factor page of the next login.
	step(t, ctx, "reauth", chromedp.Navigate(web("/security/confirm?action=totp_setup")))
	fill(t, ctx, map[string]string{"#reauth-password": pw})
	clickTo(t, ctx, "#reauth-submit", "/mfa/setup")
	a.check(ctx, "owner mfa setup")
	ownerCode, err := totp.GenerateCode(textOf(t, ctx, "#totp-secret"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	fill(t, ctx, map[string]string{"#code": ownerCode})
	clickTo(t, ctx, "#mfa-submit", "/mfa/setup")
	a.check(ctx, "owner recovery codes")
	logout()
	step(t, ctx, "login page", chromedp.Navigate(web("/login")))
	fill(t, ctx, map[string]string{"#email": "ada@acme.test", "#password": pw})
	clickTo(t, ctx, "#login-submit", "/mfa")
	a.check(ctx, "owner mfa verify")
	step(t, ctx, "forget the half-done login", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.ClearBrowserCookies, cdp.Empty{})
		return err
	}))

	login("adam@acme.test")
	a.check(ctx, "admin home")
	for _, p := range []string{"/members", "/audit", "/security"} {
		a.visit(ctx, "admin "+p, web(p))
	}
	logout()

	login("mia@acme.test")
	a.check(ctx, "member home")
	for _, p := range []string{"/members", "/files", "/security"} {
		a.visit(ctx, "member "+p, web(p))
	}
	a.visit(ctx, "member 403 audit", web("/audit"))
	logout()

	// HQ: enrolment (secret, recovery codes), then every page, then the
	// second-factor page of a later login.
	if _, err := app.CreateOperator(bg, s.Store, hasher(), "ops@palisade.test", "Otto Ops", pw); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "hq login page", chromedp.Navigate(hq("/login")))
	fill(t, ctx, map[string]string{"#email": "ops@palisade.test", "#password": pw})
	clickTo(t, ctx, "#login-submit", "/mfa/setup")
	a.check(ctx, "hq mfa setup")
	secret := textOf(t, ctx, "#totp-secret")
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	fill(t, ctx, map[string]string{"#code": code})
	clickTo(t, ctx, "#mfa-submit", "/mfa/setup")
	a.check(ctx, "hq recovery codes")
	clickTo(t, ctx, "#mfa-continue", "/tenants")
	a.check(ctx, "hq tenants")
	for _, p := range []string{fmt.Sprintf("/tenants/%d", tn.ID), "/audit", "/queues", "/health", "/operators", "/outbox", "/security", "/no-such-page"} {
		a.visit(ctx, "hq "+p, hq(p))
	}
	step(t, ctx, "hq page with the header", chromedp.Navigate(hq("/tenants")))
	clickTo(t, ctx, "#logout", "/login")
	step(t, ctx, "hq login page", chromedp.Navigate(hq("/login")))
	fill(t, ctx, map[string]string{"#email": "ops@palisade.test", "#password": pw})
	clickTo(t, ctx, "#login-submit", "/mfa")
	a.check(ctx, "hq mfa verify")

	t.Logf("axe checked %d pages in %d modes each", a.pages, len(axeModes))
	if a.pages < 30 {
		t.Errorf("only %d pages were checked", a.pages)
	}
	if len(a.problems) > 0 {
		t.Errorf("%d serious or critical accessibility violations:\n  %s", len(a.problems), strings.Join(a.problems, "\n  "))
	}
}
