package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/palisade-hq/palisade/internal/testenv"
)

// virtualAuthenticator gives the browser tab a platform authenticator
// (CTAP2, internal transport) that holds discoverable credentials and
// verifies its user, as a laptop's fingerprint reader would, and approves
// every request without a prompt.
func virtualAuthenticator(t *testing.T, ctx context.Context) webauthn.AuthenticatorID {
	t.Helper()
	return step(t, ctx, "virtual authenticator", func(ctx context.Context, tg *chromedp.Target) (webauthn.AuthenticatorID, error) {
		if _, err := cdp.Call(ctx, tg, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return "", err
		}
		res, err := cdp.Call(ctx, tg, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		}})
		return res.AuthenticatorID, err
	})
}

// credentialCount is how many credentials the virtual authenticator holds.
func credentialCount(t *testing.T, ctx context.Context, id webauthn.AuthenticatorID) int {
	t.Helper()
	return step(t, ctx, "credentials", func(ctx context.Context, tg *chromedp.Target) (int, error) {
		res, err := cdp.Call(ctx, tg, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
		return len(res.Credentials), err
	})
}

// TestSecurityPasskeyTokenSessions walks the Security page in Chromium:
// a passkey is registered with the virtual authenticator and then logs in
// without a password, and finishes a password login as the second factor;
// an API token made on the page works with Authorization: Bearer through
// the /api proxy within its read-only scope, and is refused once revoked
// on the page; another session ended from the page is logged out, and
// this one stays.
func TestSecurityPasskeyTokenSessions(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	// The store's clock, which the API's step-up window reads, moves on
	// for the last part.
	var offset atomic.Int64
	s.Store.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	ctx := browser(t)
	acme := func(p string) string { return s.URL("acme.localhost", p) }

	step(t, ctx, "open sign-up", chromedp.Navigate(s.URL("localhost", "/signup")))
	fill(t, ctx, map[string]string{"#organisation_name": "Acme Ltd", "#slug": "acme", "#name": "Ada Owner", "#email": "ada@acme.test", "#password": pw})
	clickTo(t, ctx, "#signup-submit", "/")
	auth := virtualAuthenticator(t, ctx)

	// Another device logs in (before any second factor exists, so with the
	// password alone) and is ended from the page.
	other := s.Client()
	res, err := other.PostForm(acme("/login"), url.Values{"email": {"ada@acme.test"}, "password": {pw}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res, err = other.Get(acme("/")); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("the other device's first page: %v %v", err, res)
	}
	res.Body.Close()
	step(t, ctx, "open security", chromedp.Navigate(acme("/security")))
	rows := textOf(t, ctx, "#sessions")
	if !strings.Contains(rows, "Go program") || !strings.Contains(rows, "this session") {
		t.Fatalf("sessions listed: %q", rows)
	}
	clickTo(t, ctx, `//table[@id="sessions"]//tr[td[1][contains(., "Go program")]]//button`, "/security")
	if got := textOf(t, ctx, ".flash"); !strings.Contains(got, "logged out") {
		t.Fatalf("after ending the other session: %q", got)
	}
	if got := textOf(t, ctx, "#sessions"); strings.Contains(got, "Go program") {
		t.Fatalf("the ended session is still listed: %q", got)
	}
	res, err = other.Get(acme("/security"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("the ended session still works: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}

	// Register a passkey on the Security page.
	step(t, ctx, "open security", chromedp.Navigate(acme("/security")))
	if got := textOf(t, ctx, "#mfa-status"); !strings.HasPrefix(got, "Off") {
		t.Fatalf("MFA status before: %q", got)
	}
	step(t, ctx, "clear name", chromedp.Clear("#passkey-name"))
	fill(t, ctx, map[string]string{"#passkey-name": "Test laptop"})
	passkeyClick(t, ctx, "#passkey-add", "/security")
	if got := textOf(t, ctx, ".flash"); got != "Passkey added." {
		t.Fatalf("after adding a passkey: %q", got)
	}
	if got := textOf(t, ctx, "#passkeys"); !strings.Contains(got, "Test laptop") {
		t.Fatalf("passkeys listed: %q", got)
	}
	if n := credentialCount(t, ctx, auth); n != 1 {
		t.Fatalf("the authenticator holds %d credentials", n)
	}
	if got := textOf(t, ctx, "#mfa-status"); !strings.HasPrefix(got, "On") {
		t.Fatalf("MFA status after: %q", got)
	}

	// Log out, and back in with the passkey alone.
	clickTo(t, ctx, "#logout", "/login")
	passkeyClick(t, ctx, "#passkey-login", "/")
	if got := textOf(t, ctx, "#whoami"); got != "Ada Owner (owner)" {
		t.Fatalf("after passkey login: %q", got)
	}
	step(t, ctx, "open security", chromedp.Navigate(acme("/security")))
	if got := textOf(t, ctx, "#passkeys"); strings.Contains(got, "never") {
		t.Fatalf("passkey's last use not recorded: %q", got)
	}

	// A password login now asks for the second factor; the passkey gives it.
	clickTo(t, ctx, "#logout", "/login")
	fill(t, ctx, map[string]string{"#email": "ada@acme.test", "#password": pw})
	clickTo(t, ctx, "#login-submit", "/mfa")
	passkeyClick(t, ctx, "#passkey-mfa", "/")
	if got := textOf(t, ctx, "#whoami"); got != "Ada Owner (owner)" {
		t.Fatalf("after passkey second factor: %q", got)
	}

	// An API token with read-only access to members.
	step(t, ctx, "open security", chromedp.Navigate(acme("/security")))
	fill(t, ctx, map[string]string{"#token-name": "e2e script"})
	step(t, ctx, "members read", chromedp.SetValue("#scope-members", "read"))
	step(t, ctx, "expiry", chromedp.SetValue("#token-expiry", "7"))
	clickTo(t, ctx, "#token-create", "/security/tokens")
	secret := strings.TrimSpace(textOf(t, ctx, "#token-secret"))
	if !strings.Contains(textOf(t, ctx, "main"), "members:read") {
		t.Fatalf("token page does not show its scope")
	}
	script := s.Client() // no cookies: only the token speaks
	call := func(method, path string) int {
		req, _ := http.NewRequest(method, acme(path), nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		res, err := script.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := call("GET", "/api/members"); got != http.StatusOK {
		t.Fatalf("read with the token: %d", got)
	}
	if got := call("DELETE", "/api/members/1"); got != http.StatusForbidden {
		t.Fatalf("write with a read-only token: %d", got)
	}
	if got := call("GET", "/api/invitations"); got != http.StatusForbidden {
		t.Fatalf("a resource outside the token's scope: %d", got)
	}
	clickTo(t, ctx, "#token-done", "/security")
	if got := textOf(t, ctx, "#tokens"); !strings.Contains(got, "e2e script") || strings.Contains(got, secret) {
		t.Fatalf("token list: %q", got)
	}
	// Revoking asks first, in a dialog.
	step(t, ctx, "click Revoke", chromedp.Click(`//tr[td[contains(., "e2e script")]]//button`))
	step(t, ctx, "confirm dialog", chromedp.WaitVisible("#confirm-dialog-yes"))
	clickTo(t, ctx, "#confirm-dialog-yes", "/security")
	if got := textOf(t, ctx, ".flash"); !strings.Contains(got, "revoked") {
		t.Fatalf("after revoking: %q", got)
	}
	if got := call("GET", "/api/members"); got != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d", got)
	}

	// Later, removing the passkey needs a fresh proof: the page asks, and
	// the passkey gives it.
	offset.Store(int64(11 * time.Minute))
	step(t, ctx, "open security", chromedp.Navigate(acme("/security")))
	clickTo(t, ctx, `//table[@id="passkeys"]//tr[td[contains(., "Test laptop")]]//button`, "/security/passkeys/1/remove")
	if got := textOf(t, ctx, "h1"); got != "Confirm it's you" {
		t.Fatalf("removing a passkey later: %q", got)
	}
	passkeyClick(t, ctx, "#reauth-passkey", "/security")
	if got := textOf(t, ctx, ".flash"); got != "Passkey removed." {
		t.Fatalf("after confirming with the passkey: %q", got)
	}
	if got := textOf(t, ctx, "#mfa-status"); !strings.HasPrefix(got, "Off") {
		t.Fatalf("MFA status after removing the only passkey: %q", got)
	}
	textOf(t, ctx, "#this-session")
}

// passkeyClick clicks a button whose script runs a WebAuthn ceremony and
// then navigates; if the script shows an error instead, that is the failure.
func passkeyClick(t *testing.T, ctx context.Context, sel, path string) {
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
		if msg, err := chromedp.Run(ctx, chromedp.Evaluate[string]("(function(){var e=document.getElementById('passkey-error');return e&&!e.hidden?e.textContent:''})()")); err == nil && msg != "" {
			t.Fatalf("click %s: the page says %q", sel, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("click %s: no new page within 20s", sel)
}
