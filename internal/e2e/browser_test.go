// Package e2e drives Palisade with a real headless Chromium, through the
// same host routing as `palisade dev` and the public ALB.
package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/realtime/publish"
	"github.com/palisade-hq/palisade/internal/testenv"
)

const pw = "correct horse battery"

// browser starts a headless Chromium with flags that keep it off the network.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := testenv.Chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if _, err := chromedp.Run(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// step runs one action with a bound, failing the test with what it was doing.
func step[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML("main"))
		t.Fatalf("%s: %v\nat %s\n%s", what, err, loc, html)
	}
	return v
}

// clickTo clicks an element that navigates, and waits until a new document
// has loaded at path: a click returns before the navigation it starts, so
// the old document is marked first and the wait is for a page without it.
func clickTo(t *testing.T, ctx context.Context, sel, path string) {
	t.Helper()
	step(t, ctx, "mark page", chromedp.Evaluate[bool]("window.__old = true"))
	step(t, ctx, "click "+sel, chromedp.Click(sel))
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		fresh, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("window.__old !== true && document.readyState === 'complete'"))
		if err == nil && fresh {
			loc := step(t, ctx, "location", chromedp.Location())
			if u, err := url.Parse(loc); err != nil || u.Path != path {
				t.Fatalf("click %s: landed on %s, want path %s", sel, loc, path)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	t.Fatalf("click %s: no new page within 20s (at %s)", sel, loc)
}

func fill(t *testing.T, ctx context.Context, fields map[string]string) {
	t.Helper()
	for sel, v := range fields {
		step(t, ctx, "fill "+sel, chromedp.SendKeys(sel, v))
	}
}

func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	step(t, ctx, "wait for "+sel, chromedp.WaitVisible(sel))
	return step(t, ctx, "read "+sel, chromedp.Text(sel))
}

func TestBrowserSignUpInviteSuspend(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	ctx := browser(t)
	if _, err := app.CreateOperator(context.Background(), s.Store, auth.Hasher{P: auth.FastParams}, "ops@palisade.test", "Otto Ops", pw); err != nil {
		t.Fatal(err)
	}

	// Sign up on the apex site; the handoff lands us logged in on our own host.
	step(t, ctx, "open sign-up", chromedp.Navigate(s.URL("localhost", "/signup")))
	fill(t, ctx, map[string]string{"#organisation_name": "Acme Ltd", "#slug": "acme", "#name": "Ada Owner", "#email": "ada@acme.test", "#password": pw})
	clickTo(t, ctx, "#signup-submit", "/")
	if got := textOf(t, ctx, "#welcome"); got != "Welcome, Ada Owner" {
		t.Fatalf("after sign-up: %q", got)
	}
	if loc := step(t, ctx, "location", chromedp.Location()); loc != s.URL("acme.localhost", "/") {
		t.Fatalf("after sign-up we are at %s", loc)
	}

	// Log out, then log in again.
	clickTo(t, ctx, "#logout", "/login")
	if got := textOf(t, ctx, ".flash"); !strings.Contains(got, "logged out") {
		t.Fatalf("after logout: %q", got)
	}
	step(t, ctx, "members needs login", chromedp.Navigate(s.URL("acme.localhost", "/members")))
	step(t, ctx, "login form", chromedp.WaitVisible("#login-submit"))
	fill(t, ctx, map[string]string{"#email": "ada@acme.test", "#password": pw})
	clickTo(t, ctx, "#login-submit", "/")
	textOf(t, ctx, "#welcome")

	// Invite a member.
	step(t, ctx, "open members", chromedp.Navigate(s.URL("acme.localhost", "/members")))
	fill(t, ctx, map[string]string{"#invite-email": "mia@acme.test"})
	clickTo(t, ctx, "#invite-submit", "/members")
	if got := textOf(t, ctx, ".flash"); got != "Invitation sent." {
		t.Fatalf("after invite: %q", got)
	}
	if got := textOf(t, ctx, "#invitations"); !strings.Contains(got, "mia@acme.test") {
		t.Fatalf("pending invitations: %q", got)
	}
	clickTo(t, ctx, "#logout", "/login")

	// The operator reads the invitation in HQ's dev outbox.
	step(t, ctx, "open hq", chromedp.Navigate(s.URL("admin.localhost", "/outbox")))
	step(t, ctx, "hq login form", chromedp.WaitVisible("#login-submit"))
	fill(t, ctx, map[string]string{"#email": "ops@palisade.test", "#password": pw})
	// Operators must have a second factor: a new one is sent to enrolment.
	clickTo(t, ctx, "#login-submit", "/mfa/setup")
	secret := textOf(t, ctx, "#totp-secret")
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	fill(t, ctx, map[string]string{"#code": code})
	clickTo(t, ctx, "#mfa-submit", "/mfa/setup")
	if got := textOf(t, ctx, "#recovery-codes"); len(strings.Fields(got)) != 10 {
		t.Fatalf("recovery codes shown: %q", got)
	}
	clickTo(t, ctx, "#mfa-continue", "/tenants")
	step(t, ctx, "outbox", chromedp.Navigate(s.URL("admin.localhost", "/outbox")))
	mail := textOf(t, ctx, ".mail-body")
	link := regexp.MustCompile(`http://acme\.localhost:\d+/invitations/\S+`).FindString(mail)
	if link == "" {
		t.Fatalf("no invitation link in mail: %q", mail)
	}

	// The invitee accepts and is logged in as a member.
	step(t, ctx, "open invitation", chromedp.Navigate(link))
	if got := textOf(t, ctx, "#invite-for"); got != "mia@acme.test" {
		t.Fatalf("invitation for %q", got)
	}
	fill(t, ctx, map[string]string{"#name": "Mia Member", "#password": pw})
	clickTo(t, ctx, "#accept-submit", "/")
	if got := step(t, ctx, "flash after joining", chromedp.Text(".flash")); !strings.Contains(got, "you have joined") {
		t.Fatalf("no notice after accepting the invitation: %q", got)
	}
	if got := textOf(t, ctx, "#whoami"); got != "Mia Member (member)" {
		t.Fatalf("after accepting: %q", got)
	}

	// The operator suspends the tenant; the member then sees the suspended page.
	step(t, ctx, "hq tenants", chromedp.Navigate(s.URL("admin.localhost", "/tenants?q=acme")))
	clickTo(t, ctx, `//a[text()="acme"]`, "/tenants/1")
	fill(t, ctx, map[string]string{"#reason": "Security review in progress"})
	clickTo(t, ctx, "#suspend", "/tenants/1")
	if got := textOf(t, ctx, "#tenant-status"); got != "suspended" {
		t.Fatalf("tenant status in HQ: %q", got)
	}
	step(t, ctx, "member reloads", chromedp.Navigate(s.URL("acme.localhost", "/members")))
	if got := textOf(t, ctx, "#suspend-reason"); got != "Security review in progress" {
		t.Fatalf("suspended page reason: %q", got)
	}
	if got := textOf(t, ctx, "#suspended h1"); got != "Acme Ltd is suspended" {
		t.Fatalf("suspended page title: %q", got)
	}
}

// TestBrowserLiveChannel: a logged-in page subscribes with the vendored
// laravel-echo through the real auth endpoint, and an event published
// through the Pusher HTTP API shows up without a reload.
func TestBrowserLiveChannel(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	ctx := browser(t)
	step(t, ctx, "open sign-up", chromedp.Navigate(s.URL("localhost", "/signup")))
	fill(t, ctx, map[string]string{"#organisation_name": "Acme Ltd", "#slug": "acme", "#name": "Ada Owner", "#email": "ada@acme.test", "#password": pw})
	clickTo(t, ctx, "#signup-submit", "/")
	step(t, ctx, "subscribed", chromedp.WaitVisible(`#live-status[data-subscribed="true"]`))

	tn, err := s.Store.TenantBySlug(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.Store.UserByEmail(context.Background(), "ada@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	pub := publish.New(s.Realtime.URL, s.Config.RealtimeAppID, s.Config.RealtimeAppKey, s.Config.RealtimeAppSecret, http.DefaultClient)
	channel := fmt.Sprintf("private-tenant.%d.user.%d", tn.ID, u.ID)
	if err := pub.Trigger(context.Background(), []string{channel}, "notice", map[string]string{"message": "Report ready"}, ""); err != nil {
		t.Fatalf("publish: %v", err)
	}
	if got := textOf(t, ctx, "#live-notices li"); got != "Report ready" {
		t.Fatalf("live notice %q", got)
	}
	// Another user's channel of the same tenant gets nothing to this page.
	if err := pub.Trigger(context.Background(), []string{fmt.Sprintf("private-tenant.%d.user.%d", tn.ID, u.ID+1)}, "notice", map[string]string{"message": "not for you"}, ""); err != nil {
		t.Fatal(err)
	}
	if err := pub.Trigger(context.Background(), []string{channel}, "notice", map[string]string{"message": "second"}, ""); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "second notice", chromedp.WaitVisible(`//ul[@id="live-notices"]/li[2]`))
	all := textOf(t, ctx, "#live-notices")
	if strings.Contains(all, "not for you") || !strings.Contains(all, "second") {
		t.Fatalf("notices: %q", all)
	}
}
