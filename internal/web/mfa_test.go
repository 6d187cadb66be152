package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/testenv"
)

func expectRedirect(t *testing.T, r *http.Response, err error, to string) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != to {
		t.Fatalf("got %d → %q, want 303 → %q: %s", r.StatusCode, r.Header.Get("Location"), to, body(t, r))
	}
	r.Body.Close()
}

// TestWebSecondFactor: a member sets up an authenticator app through the
// pages; the next password login is sent to /mfa, where a recovery code
// finishes it. When the organisation requires MFA, a member without it is
// sent to set one up.
func TestWebSecondFactor(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	c := s.Client()
	signUp(t, s, c, "acme")
	acme := func(p string) string { return s.URL("acme.localhost", p) }

	// Enrol from the setup page.
	r, err := c.Get(acme("/mfa/setup"))
	if err != nil {
		t.Fatal(err)
	}
	page := body(t, r)
	m := regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`).FindStringSubmatch(page)
	if r.StatusCode != http.StatusOK || m == nil || !strings.Contains(page, `src="data:image/png;base64,`) {
		t.Fatalf("setup page %d:\n%s", r.StatusCode, page)
	}
	// A voluntary setup says so and can be cancelled or left by logging out.
	if strings.Contains(page, "requires a second factor") || !strings.Contains(page, `id="mfa-setup-cancel"`) || !strings.Contains(page, `id="mfa-setup-logout"`) {
		t.Fatalf("voluntary setup page:\n%s", page)
	}
	code, _ := totp.GenerateCode(m[1], time.Now())
	r, err = c.PostForm(acme("/mfa/setup"), url.Values{"code": {code}})
	if err != nil {
		t.Fatal(err)
	}
	page = body(t, r)
	codes := regexp.MustCompile(`<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>`).FindAllStringSubmatch(page, -1)
	if len(codes) != 10 {
		t.Fatalf("recovery page shows %d codes:\n%s", len(codes), page)
	}

	// Log out and in: the password alone leads to /mfa.
	r, err = c.PostForm(acme("/logout"), nil)
	expectRedirect(t, r, err, "/login?flash=logged_out")
	r, err = c.PostForm(acme("/login"), url.Values{"email": {"owner@acme.test"}, "password": {pw}})
	expectRedirect(t, r, err, "/")
	r, err = c.Get(acme("/members"))
	expectRedirect(t, r, err, "/mfa")
	r, err = c.PostForm(acme("/mfa"), url.Values{"code": {"123456"}})
	if err != nil || r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("wrong code: %v %d", err, r.StatusCode)
	}
	r.Body.Close()
	r, err = c.PostForm(acme("/mfa"), url.Values{"code": {codes[0][1]}})
	expectRedirect(t, r, err, "/")
	r, err = c.Get(acme("/members"))
	if err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("members after MFA: %v %d", err, r.StatusCode)
	}
	r.Body.Close()

	// The organisation requires MFA: a member without it goes to setup.
	tn, err := s.Store.TenantBySlug(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Store.Tenant(tn.ID).SetRequireMFA(context.Background(), true, core.AuditEvent{Action: "tenant.mfa_policy"}); err != nil {
		t.Fatal(err)
	}
	signUp(t, s, s.Client(), "globex") // another tenant is unaffected
	other := s.Client()
	signUp(t, s, other, "initech")
	// initech's owner also joins acme as a member (as an accepted invitation would).
	if _, err := s.Store.DB().Exec(`INSERT INTO memberships (tenant_id, user_id, role, created_at) SELECT ?, id, 'member', 0 FROM users WHERE email = ?`, tn.ID, "owner@initech.test"); err != nil {
		t.Fatal(err)
	}
	r, err = other.PostForm(acme("/login"), url.Values{"email": {"owner@initech.test"}, "password": {pw}})
	expectRedirect(t, r, err, "/")
	r, err = other.Get(acme("/"))
	expectRedirect(t, r, err, "/mfa/setup")
	// A forced setup says why, offers no way round it, and lets the user
	// log out.
	r, err = other.Get(acme("/mfa/setup"))
	if err != nil {
		t.Fatal(err)
	}
	page = body(t, r)
	if r.StatusCode != http.StatusOK || !strings.Contains(page, "Your organisation requires a second factor") || strings.Contains(page, `id="mfa-setup-cancel"`) || !strings.Contains(page, `id="mfa-setup-logout"`) {
		t.Fatalf("forced setup page %d:\n%s", r.StatusCode, page)
	}
	r, err = other.PostForm(acme("/logout"), nil)
	expectRedirect(t, r, err, "/login?flash=logged_out")
	r, err = other.Get(acme("/mfa/setup"))
	expectRedirect(t, r, err, "/login")
	r, err = other.Get(s.URL("initech.localhost", "/"))
	if err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("the member's own tenant does not require MFA: %v %d", err, r.StatusCode)
	}
	r.Body.Close()
}
