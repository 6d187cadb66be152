package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// clock shifts the store's clock, which the API's step-up window reads.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

func withClock(s *testenv.Stack) *clock { c := &clock{}; s.Store.Now = c.now; return c }

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	r, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return r.StatusCode, body(t, r)
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	r, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	return r, body(t, r)
}

// wantPage checks a rendered answer's status and that it says want.
func wantPage(t *testing.T, r *http.Response, page string, status int, want string) {
	t.Helper()
	if r.StatusCode != status || !strings.Contains(html.UnescapeString(page), want) {
		t.Fatalf("got %d, want %d with %q:\n%s", r.StatusCode, status, want, page)
	}
}

func wantFlash(t *testing.T, r *http.Response, flash string) {
	t.Helper()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/security?flash="+flash {
		t.Fatalf("got %d → %q, want 303 → flash %s", r.StatusCode, r.Header.Get("Location"), flash)
	}
}

func login(t *testing.T, s *testenv.Stack, slug, email, password string) *http.Client {
	t.Helper()
	c := s.Client()
	r, err := c.PostForm(s.URL(slug+".localhost", "/login"), url.Values{"email": {email}, "password": {password}})
	expectRedirect(t, r, err, "/")
	// A session is listed once it has been used.
	if st, page := get(t, c, s.URL(slug+".localhost", "/")); st != http.StatusOK {
		t.Fatalf("first page after login: %d %s", st, page)
	}
	return c
}

var sessionRowRE = regexp.MustCompile(`(?s)<tr data-session="(\d+)">.*?</tr>`)

// otherSessions lists the ids of the page's sessions that are not this one.
func otherSessions(page string) []string {
	var ids []string
	for _, m := range sessionRowRE.FindAllStringSubmatch(page, -1) {
		if !strings.Contains(m[0], "this session") {
			ids = append(ids, m[1])
		}
	}
	return ids
}

// TestSecuritySessionsAndPassword: the page lists the member's sessions;
// ending one logs that browser out; another organisation's session ids are
// unknown here; changing the password needs the current one, says what
// happened and logs out every other session.
func TestSecuritySessionsAndPassword(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	c := s.Client()
	signUp(t, s, c, "acme")
	g := s.Client()
	signUp(t, s, g, "globex")
	acme := func(p string) string { return s.URL("acme.localhost", p) }

	status, page := get(t, c, acme("/security"))
	if status != http.StatusOK || !strings.Contains(page, `id="this-session"`) || len(otherSessions(page)) != 0 ||
		!strings.Contains(page, `href="/security"`) || !strings.Contains(page, `src="/static/security.js"`) {
		t.Fatalf("security page %d:\n%s", status, page)
	}

	phone := login(t, s, "acme", "owner@acme.test", pw)
	_, page = get(t, c, acme("/security"))
	others := otherSessions(page)
	if len(others) != 1 {
		t.Fatalf("want one other session listed, got %v:\n%s", others, page)
	}

	// Bad ids: a clear message on the page, not a failure.
	r, page := post(t, c, acme("/security/sessions/abc/revoke"), nil)
	wantPage(t, r, page, http.StatusBadRequest, "That session does not exist.")
	r, page = post(t, c, acme("/security/sessions/999999/revoke"), nil)
	wantPage(t, r, page, http.StatusUnprocessableEntity, "That session does not exist")
	// Globex's session id means nothing on acme's site.
	_, gpage := get(t, g, s.URL("globex.localhost", "/security"))
	gid := regexp.MustCompile(`<tr data-session="(\d+)">`).FindStringSubmatch(gpage)
	if gid == nil {
		t.Fatalf("globex sessions:\n%s", gpage)
	}
	r, page = post(t, c, acme("/security/sessions/"+gid[1]+"/revoke"), nil)
	wantPage(t, r, page, http.StatusUnprocessableEntity, "That session does not exist")
	if st, _ := get(t, g, s.URL("globex.localhost", "/security")); st != http.StatusOK {
		t.Fatalf("globex's session after acme tried to end it: %d", st)
	}

	r, _ = post(t, c, acme("/security/sessions/"+others[0]+"/revoke"), nil)
	wantFlash(t, r, "session_revoked")
	r, err := phone.Get(acme("/security"))
	expectRedirect(t, r, err, "/login")
	status, page = get(t, c, acme("/security?flash=session_revoked"))
	if status != http.StatusOK || !strings.Contains(page, "that device is logged out") || len(otherSessions(page)) != 0 {
		t.Fatalf("after ending the session %d:\n%s", status, page)
	}

	// Log out everywhere else.
	tablet := login(t, s, "acme", "owner@acme.test", pw)
	r, _ = post(t, c, acme("/security/sessions/revoke-others"), nil)
	wantFlash(t, r, "sessions_revoked")
	r, err = tablet.Get(acme("/"))
	expectRedirect(t, r, err, "/login")

	// Password change: bad input is explained on the page.
	laptop := login(t, s, "acme", "owner@acme.test", pw)
	const newPW = "a much better passphrase"
	for _, tc := range []struct {
		form   url.Values
		status int
		want   string
	}{
		{url.Values{"current_password": {"wrong password!"}, "new_password": {newPW}, "confirm_password": {newPW}}, http.StatusUnprocessableEntity, "current password is wrong"},
		{url.Values{"current_password": {pw}, "new_password": {newPW}, "confirm_password": {newPW + "x"}}, http.StatusUnprocessableEntity, "confirmation differ"},
		{url.Values{"current_password": {pw}, "new_password": {"short"}, "confirm_password": {"short"}}, http.StatusUnprocessableEntity, "The new password must be at least"},
		{url.Values{"current_password": {""}, "new_password": {newPW}, "confirm_password": {newPW}}, http.StatusUnprocessableEntity, "The current password is required."},
	} {
		r, page = post(t, c, acme("/security/password"), tc.form)
		wantPage(t, r, page, tc.status, tc.want)
		if strings.Contains(page, newPW) || strings.Contains(page, "wrong password!") {
			t.Fatalf("a password was echoed:\n%s", page)
		}
	}
	r, _ = post(t, c, acme("/security/password"), url.Values{"current_password": {pw}, "new_password": {newPW}, "confirm_password": {newPW}})
	wantFlash(t, r, "password_changed")
	status, page = get(t, c, acme("/security?flash=password_changed"))
	if status != http.StatusOK || !strings.Contains(page, "Your other sessions were signed out.") {
		t.Fatalf("after the change, this session: %d\n%s", status, page)
	}
	r, err = laptop.Get(acme("/"))
	expectRedirect(t, r, err, "/login")
	login(t, s, "acme", "owner@acme.test", newPW)
}

var tokenSecretRE = regexp.MustCompile(`<pre id="token-secret">([^<]+)</pre>`)

// TestSecurityTokens: a token made on the page (with every scope the page
// offers, so the page's list matches the API's) is shown once, works with
// Authorization: Bearer within its scopes, shows its last use, and stops
// working when revoked; another organisation cannot revoke it; bad input
// is explained; an old login is asked to confirm the password first, and
// the form's choices survive that.
func TestSecurityTokens(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	clk := withClock(s)
	c := s.Client()
	signUp(t, s, c, "acme")
	g := s.Client()
	signUp(t, s, g, "globex")
	acme := func(p string) string { return s.URL("acme.localhost", p) }

	form := url.Values{"name": {"ci bot"}, "expires_in_days": {"30"}, "scope_members": {"read"}, "scope_invitations": {"write"}, "scope_audit": {"read"}, "scope_files": {"read"}}
	r, page := post(t, c, acme("/security/tokens"), form)
	m := tokenSecretRE.FindStringSubmatch(page)
	if r.StatusCode != http.StatusCreated || m == nil || !strings.Contains(page, "shown this once") {
		t.Fatalf("token page %d:\n%s", r.StatusCode, page)
	}
	secret := m[1]
	if !strings.Contains(page, "members:read, invitations:write, audit:read, files:read") {
		t.Fatalf("token scopes not shown:\n%s", page)
	}
	// The secret is not on the Security page afterwards.
	_, page = get(t, c, acme("/security"))
	if strings.Contains(page, secret) || !strings.Contains(page, "ci bot") || !strings.Contains(page, "never") {
		t.Fatalf("security page lists the token wrongly:\n%s", page)
	}

	script := s.Client()
	call := func(method, path, body string) int {
		req, _ := http.NewRequest(method, acme(path), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := script.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := call("GET", "/api/members", ""); got != http.StatusOK {
		t.Fatalf("read with the token: %d", got)
	}
	if got := call("DELETE", "/api/members/1", ""); got != http.StatusForbidden {
		t.Fatalf("write with a read-only scope: %d", got)
	}
	if got := call("POST", "/api/invitations", `{"email":"carol@acme.test","role":"member"}`); got != http.StatusCreated {
		t.Fatalf("write with a write scope: %d", got)
	}
	_, page = get(t, c, acme("/security"))
	row := regexp.MustCompile(`(?s)<tr data-token="(\d+)">.*?</tr>`).FindStringSubmatch(page)
	if row == nil || strings.Contains(row[0], "never") || !strings.Contains(row[0], "from ") {
		t.Fatalf("token row after use:\n%s", page)
	}
	id := row[1]

	// Globex cannot revoke it, nor an id that is not a number.
	yes := url.Values{"confirmed": {"yes"}}
	r, page = post(t, g, s.URL("globex.localhost", "/security/tokens/"+id+"/revoke"), yes)
	wantPage(t, r, page, http.StatusUnprocessableEntity, "That token does not exist.")
	r, page = post(t, c, acme("/security/tokens/x1/revoke"), yes)
	wantPage(t, r, page, http.StatusBadRequest, "That token does not exist.")
	if got := call("GET", "/api/members", ""); got != http.StatusOK {
		t.Fatalf("after globex's attempt: %d", got)
	}
	// Revoking asks first (the page without JavaScript); nothing happens
	// until the form comes back confirmed.
	r, page = post(t, c, acme("/security/tokens/"+id+"/revoke"), nil)
	wantPage(t, r, page, http.StatusOK, "Scripts that use it stop working at once.")
	if !strings.Contains(page, `action="/security/tokens/`+id+`/revoke"`) || !strings.Contains(page, `name="confirmed" value="yes"`) {
		t.Fatalf("confirmation page:\n%s", page)
	}
	if got := call("GET", "/api/members", ""); got != http.StatusOK {
		t.Fatalf("the token stopped working before the revocation was confirmed: %d", got)
	}
	r, _ = post(t, c, acme("/security/tokens/"+id+"/revoke"), yes)
	wantFlash(t, r, "token_revoked")
	if got := call("GET", "/api/members", ""); got != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d", got)
	}
	_, page = get(t, c, acme("/security"))
	if !strings.Contains(page, `<span class="badge bad">revoked</span>`) {
		t.Fatalf("revoked token not marked:\n%s", page)
	}

	// Bad input.
	for _, tc := range []struct {
		change url.Values
		want   string
	}{
		{url.Values{"name": {""}}, "The name is required."},
		{url.Values{"scope_members": {"admin"}}, "Access to members is none, read or write."},
		{url.Values{"expires_in_days": {"400"}}, "Choose how long the token lasts."},
		{url.Values{"scope_members": {"none"}, "scope_invitations": {"none"}, "scope_audit": {"none"}, "scope_files": {"none"}}, "Choose at least one scope"},
	} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		for k, v := range tc.change {
			f[k] = v
		}
		r, page = post(t, c, acme("/security/tokens"), f)
		wantPage(t, r, page, http.StatusUnprocessableEntity, tc.want)
	}

	// An old login: confirm the password, then the token is made as asked.
	clk.advance(11 * time.Minute)
	r, page = post(t, c, acme("/security/tokens"), url.Values{"name": {"late"}, "expires_in_days": {"7"}, "scope_files": {"write"}})
	wantPage(t, r, page, http.StatusForbidden, "Confirm it's you")
	for _, hidden := range []string{`name="action" value="token_create"`, `name="name" value="late"`, `name="scope_files" value="write"`, `name="expires_in_days" value="7"`} {
		if !strings.Contains(page, hidden) {
			t.Fatalf("confirmation form lacks %s:\n%s", hidden, page)
		}
	}
	confirm := url.Values{"action": {"token_create"}, "name": {"late"}, "expires_in_days": {"7"}, "scope_files": {"write"}, "password": {"wrong password!"}}
	r, page = post(t, c, acme("/security/reauth"), confirm)
	wantPage(t, r, page, http.StatusUnprocessableEntity, "The password is wrong")
	r, page = post(t, c, acme("/security/reauth"), url.Values{"action": {"no_such"}, "password": {pw}})
	wantPage(t, r, page, http.StatusBadRequest, "Nothing is waiting for confirmation")
	confirm.Set("password", pw)
	r, page = post(t, c, acme("/security/reauth"), confirm)
	if r.StatusCode != http.StatusCreated || tokenSecretRE.FindStringSubmatch(page) == nil || !strings.Contains(page, "files:write") {
		t.Fatalf("after confirming %d:\n%s", r.StatusCode, page)
	}
}

// TestSecurityMFA: the authenticator app is set up from the page (through
// the existing setup flow), recovery codes are regenerated and shown once
// (the old ones stop working), removing the app after a while needs the
// password and a code, and only an owner with a second factor can require
// one of everyone.
func TestSecurityMFA(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	clk := withClock(s)
	c := s.Client()
	signUp(t, s, c, "acme")
	acme := func(p string) string { return s.URL("acme.localhost", p) }

	_, page := get(t, c, acme("/security"))
	if !strings.Contains(page, `id="totp-setup"`) || !strings.Contains(page, `id="mfa-status">Off`) || !strings.Contains(page, `id="mfa-policy-toggle"`) {
		t.Fatalf("before MFA:\n%s", page)
	}
	// Requiring MFA without one's own: refused, explained.
	r, page := post(t, c, acme("/security/mfa-policy"), url.Values{"require": {"true"}})
	wantPage(t, r, page, http.StatusOK, "Require a second factor of every member?")
	r, page = post(t, c, acme("/security/mfa-policy"), url.Values{"require": {"true"}, "confirmed": {"yes"}})
	wantPage(t, r, page, http.StatusConflict, "Set up your own second factor")
	r, page = post(t, c, acme("/security/mfa-policy"), url.Values{"require": {"maybe"}})
	wantPage(t, r, page, http.StatusUnprocessableEntity, "Choose whether a second factor is required.")

	r, _ = post(t, c, acme("/security/totp/setup"), nil)
	expectRedirect(t, r, nil, "/mfa/setup")
	_, page = get(t, c, acme("/mfa/setup"))
	m := regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("setup page:\n%s", page)
	}
	code, _ := totp.GenerateCode(m[1], clk.now())
	r, page = post(t, c, acme("/mfa/setup"), url.Values{"code": {code}})
	codeRE := regexp.MustCompile(`<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>`)
	first := codeRE.FindAllStringSubmatch(page, -1)
	if r.StatusCode != http.StatusOK || len(first) != 10 {
		t.Fatalf("enrolment %d:\n%s", r.StatusCode, page)
	}
	_, page = get(t, c, acme("/security"))
	if !strings.Contains(page, `id="mfa-status">On`) || !strings.Contains(page, `id="recovery-left">10 left`) || !strings.Contains(page, `id="totp-remove"`) {
		t.Fatalf("after enrolment:\n%s", page)
	}

	r, page = post(t, c, acme("/security/recovery-codes"), nil)
	fresh := codeRE.FindAllStringSubmatch(page, -1)
	if r.StatusCode != http.StatusOK || len(fresh) != 10 || !strings.Contains(page, "old recovery codes no longer work") {
		t.Fatalf("new codes %d:\n%s", r.StatusCode, page)
	}
	// An old code no longer finishes a login; a new one does.
	d := s.Client()
	r, err := d.PostForm(acme("/login"), url.Values{"email": {"owner@acme.test"}, "password": {pw}})
	expectRedirect(t, r, err, "/")
	r, page = post(t, d, acme("/mfa"), url.Values{"code": {first[0][1]}})
	wantPage(t, r, page, http.StatusUnprocessableEntity, "wrong")
	r, err = d.PostForm(acme("/mfa"), url.Values{"code": {fresh[0][1]}})
	expectRedirect(t, r, err, "/")

	// The owner, now with a factor, requires it of everyone.
	r, _ = post(t, c, acme("/security/mfa-policy"), url.Values{"require": {"true"}, "confirmed": {"yes"}})
	wantFlash(t, r, "mfa_required")
	_, page = get(t, c, acme("/security"))
	if !strings.Contains(page, "<strong>required</strong>") {
		t.Fatalf("policy not shown as required:\n%s", page)
	}

	// A plain member sees the policy card not at all and cannot change it.
	tn := mustTenant(t, s, "acme")
	other := s.Client()
	signUp(t, s, other, "initech")
	if _, err := s.Store.DB().Exec(`INSERT INTO memberships (tenant_id, user_id, role, created_at) SELECT ?, id, 'member', 0 FROM users WHERE email = ?`, tn, "owner@initech.test"); err != nil {
		t.Fatal(err)
	}
	if err := s.Store.Tenant(tn).SetRequireMFA(context.Background(), false, core.AuditEvent{Action: "tenant.mfa_policy"}); err != nil {
		t.Fatal(err)
	}
	mem := login(t, s, "acme", "owner@initech.test", pw)
	_, page = get(t, mem, acme("/security"))
	if strings.Contains(page, `id="policy-card"`) {
		t.Fatalf("a member sees the policy card:\n%s", page)
	}
	r, page = post(t, mem, acme("/security/mfa-policy"), url.Values{"require": {"false"}})
	wantPage(t, r, page, http.StatusForbidden, "")
	if !strings.Contains(page, `role="alert"`) {
		t.Fatalf("member changing the policy: no error shown:\n%s", page)
	}

	// Later: removing the app needs the password and a code.
	clk.advance(11 * time.Minute)
	r, page = post(t, c, acme("/security/totp/remove"), nil)
	wantPage(t, r, page, http.StatusForbidden, "Confirm it's you")
	if !strings.Contains(page, `id="reauth-code"`) || !strings.Contains(page, `value="totp_remove"`) {
		t.Fatalf("confirmation form:\n%s", page)
	}
	r, page = post(t, c, acme("/security/reauth"), url.Values{"action": {"totp_remove"}, "password": {pw}})
	wantPage(t, r, page, http.StatusUnprocessableEntity, "code")
	r, _ = post(t, c, acme("/security/reauth"), url.Values{"action": {"totp_remove"}, "password": {pw}, "code": {fresh[1][1]}})
	wantFlash(t, r, "totp_removed")
	_, page = get(t, c, acme("/security"))
	if !strings.Contains(page, `id="mfa-status">Off`) {
		t.Fatalf("after removal:\n%s", page)
	}
	// Removing it again: explained.
	r, page = post(t, c, acme("/security/totp/remove"), nil)
	wantPage(t, r, page, http.StatusUnprocessableEntity, "No authenticator app is set up.")

	// Passkeys: a bad id is explained; none of another user's can be named.
	r, page = post(t, c, acme("/security/passkeys/0/remove"), nil)
	wantPage(t, r, page, http.StatusBadRequest, "That passkey does not exist.")
	r, page = post(t, c, acme(fmt.Sprintf("/security/passkeys/%d/remove", 424242)), nil)
	wantPage(t, r, page, http.StatusUnprocessableEntity, "That passkey does not exist.")
}
