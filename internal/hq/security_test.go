package hq_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// page reads a response whatever its status.
func page(t *testing.T, res *http.Response) string {
	t.Helper()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func wantStatus(t *testing.T, res *http.Response, status int, what string) string {
	t.Helper()
	p := page(t, res)
	if res.StatusCode != status {
		t.Fatalf("%s: got %d, want %d\n%s", what, res.StatusCode, status, p)
	}
	return p
}

var secretRE = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)

// TestHQInvitationAndSecurityPages walks HQ as a browser would: an
// operator invites a newcomer (no password on any page), the newcomer
// opens the mailed link, chooses a password, is sent to set up TOTP; the
// link then refuses a second use; the security page changes the password
// (a wrong current one is refused, and so many that the throttle closes),
// lists only live sessions and ends them, and replaces the authenticator
// app keeping the pending secret across a wrong code.
func TestHQInvitationAndSecurityPages(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	ctx := context.Background()
	admin := func(p string) string { return s.URL("admin.localhost", p) }
	if _, err := app.CreateOperator(ctx, s.Store, auth.Hasher{P: auth.FastParams}, "ops@palisade.test", "Ops", "operator passphrase 1"); err != nil {
		t.Fatal(err)
	}
	ops := s.Client()
	wantStatus(t, do(t, ops, "POST", admin("/login"), url.Values{"email": {"ops@palisade.test"}, "password": {"operator passphrase 1"}}), http.StatusSeeOther, "login")
	s.EnrolOperator(t, ops)

	p := wantStatus(t, do(t, ops, "POST", admin("/operators"), url.Values{"email": {"nova@palisade.test"}, "name": {"Nova"}}), http.StatusCreated, "invite")
	if !strings.Contains(p, `id="invited"`) || strings.Contains(p, "one-time-password") || strings.Contains(strings.ToLower(p), "can log in once with") {
		t.Fatalf("operators page after inviting:\n%s", p)
	}
	if !strings.Contains(p, `id="invitations"`) || !strings.Contains(p, "nova@palisade.test") {
		t.Fatalf("pending invitation not listed:\n%s", p)
	}
	mails, err := s.Store.Outbox(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var link string
	for _, m := range mails {
		if m.To == "nova@palisade.test" {
			link = regexp.MustCompile(`http://admin\.localhost:\d+/invitations/\S+`).FindString(m.Body)
		}
	}
	if link == "" {
		t.Fatalf("no invitation link mailed: %+v", mails)
	}
	u, _ := url.Parse(link)
	// The dev outbox in HQ shows it too.
	if p := body(t, do(t, ops, "GET", admin("/outbox"), nil)); !strings.Contains(p, "nova@palisade.test") {
		t.Fatalf("invitation not in the HQ outbox:\n%s", p)
	}

	nova := s.Client()
	p = wantStatus(t, do(t, nova, "GET", admin(u.Path), nil), http.StatusOK, "invitation page")
	if !strings.Contains(p, `id="invite-for">nova@palisade.test<`) {
		t.Fatalf("invitation page:\n%s", p)
	}
	wantStatus(t, do(t, nova, "POST", admin(u.Path), url.Values{"password": {"nova passphrase one"}, "password_confirm": {"nova passphrase two"}}), http.StatusUnprocessableEntity, "mismatched passwords")
	wantStatus(t, do(t, nova, "POST", admin(u.Path), url.Values{"password": {"short"}, "password_confirm": {"short"}}), http.StatusUnprocessableEntity, "short password")
	res := do(t, nova, "POST", admin(u.Path), url.Values{"password": {"nova passphrase one"}, "password_confirm": {"nova passphrase one"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/mfa/setup" {
		t.Fatalf("accept: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	// Not in until a second factor is set up.
	if res := do(t, nova, "GET", admin("/tenants"), nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/mfa/setup" {
		t.Fatalf("before enrolment: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	novaCodes := s.EnrolOperator(t, nova)
	body(t, do(t, nova, "GET", admin("/tenants"), nil))

	// The link is spent; a made-up one is unknown.
	p = wantStatus(t, do(t, s.Client(), "GET", admin(u.Path), nil), http.StatusConflict, "used link")
	if !strings.Contains(p, "already used") {
		t.Fatalf("used link page:\n%s", p)
	}
	wantStatus(t, do(t, s.Client(), "POST", admin(u.Path), url.Values{"password": {"someone else's pass"}, "password_confirm": {"someone else's pass"}}), http.StatusConflict, "reused link")
	wantStatus(t, do(t, s.Client(), "GET", admin("/invitations/made-up-token"), nil), http.StatusNotFound, "unknown link")

	// Security page: a second, password-only session of nova is listed
	// as such; the change of password ends it.
	halfway := s.Client()
	wantStatus(t, do(t, halfway, "POST", admin("/login"), url.Values{"email": {"nova@palisade.test"}, "password": {"nova passphrase one"}}), http.StatusSeeOther, "second login")
	p = body(t, do(t, nova, "GET", admin("/security"), nil))
	if strings.Count(p, `<tr id="session-`) != 2 || !strings.Contains(p, "this session") || !strings.Contains(p, "password only") {
		t.Fatalf("security page sessions:\n%s", p)
	}
	p = wantStatus(t, do(t, nova, "POST", admin("/security/password"), url.Values{"current_password": {"not the password"}, "new_password": {"nova passphrase new"}, "new_password_confirm": {"nova passphrase new"}}), http.StatusUnprocessableEntity, "wrong current password")
	if !strings.Contains(p, "The password is wrong") {
		t.Fatalf("wrong current password page:\n%s", p)
	}
	p = wantStatus(t, do(t, nova, "POST", admin("/security/password"), url.Values{"current_password": {"nova passphrase one"}, "new_password": {"nova passphrase new"}, "new_password_confirm": {"nova passphrase new"}}), http.StatusUnprocessableEntity, "no code")
	if !strings.Contains(p, "code from your authenticator app") {
		t.Fatalf("password change without a code:\n%s", p)
	}
	res = do(t, nova, "POST", admin("/security/password"), url.Values{"current_password": {"nova passphrase one"}, "new_password": {"nova passphrase new"}, "new_password_confirm": {"nova passphrase new"}, "code": {novaCodes[0]}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/security?done=password" {
		t.Fatalf("password change: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	p = body(t, do(t, nova, "GET", admin("/security?done=password"), nil))
	if strings.Count(p, `<tr id="session-`) != 1 || !strings.Contains(p, "other sessions were ended") {
		t.Fatalf("after the change:\n%s", p)
	}
	if res := do(t, halfway, "GET", admin("/mfa"), nil); res.StatusCode != http.StatusOK {
		t.Fatalf("mfa page: %d", res.StatusCode)
	}
	if res := do(t, halfway, "POST", admin("/mfa"), url.Values{"code": {"123456"}}); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("ended half session: %d %s", res.StatusCode, res.Header.Get("Location"))
	}

	// Replacing the authenticator app (the login is recent: no step-up
	// needed yet). A wrong code keeps the same pending secret.
	p = body(t, do(t, nova, "POST", admin("/security/totp"), url.Values{}))
	m := secretRE.FindStringSubmatch(p)
	if m == nil {
		t.Fatalf("replacement page:\n%s", p)
	}
	p = wantStatus(t, do(t, nova, "POST", admin("/security/totp/confirm"), url.Values{"code": {"000000"}}), http.StatusUnprocessableEntity, "wrong code")
	if m2 := secretRE.FindStringSubmatch(p); m2 == nil || m2[1] != m[1] {
		t.Fatalf("pending secret replaced after a wrong code:\n%s", p)
	}
	code, err := totp.GenerateCode(m[1], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p = body(t, do(t, nova, "POST", admin("/security/totp/confirm"), url.Values{"code": {code}}))
	if !strings.Contains(p, `id="recovery-codes"`) {
		t.Fatalf("after replacement:\n%s", p)
	}

	// The per-account throttle answers through the page with 429.
	var last *http.Response
	for range s.Config.LoginMaxPerAccount + 1 {
		last = do(t, ops, "POST", admin("/security/password"), url.Values{"current_password": {"wrong guess here"}, "new_password": {"whatever passphrase"}, "new_password_confirm": {"whatever passphrase"}})
		page(t, last)
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("throttled password change: %d %v", last.StatusCode, last.Header)
	}
}
