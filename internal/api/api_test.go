package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/testenv"
)

func TestSignUpLoginLogout(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		apex := s.browser("localhost:3000")
		r := apex.do("POST", "/api/signup", map[string]string{
			"organisation_name": "Acme", "slug": "acme", "name": "Ada", "email": "Ada@Acme.test", "password": testPassword,
		})
		want(t, r, http.StatusCreated)
		var su struct {
			LoginURL string `json:"login_url"`
		}
		r.json(t, &su)
		if !strings.HasPrefix(su.LoginURL, "http://acme.localhost:3000/auth/handoff?token=") {
			t.Fatalf("login url %q", su.LoginURL)
		}
		token := strings.TrimPrefix(su.LoginURL, "http://acme.localhost:3000/auth/handoff?token=")

		// The handoff token works once, on its own tenant only.
		other := s.browser("globex.localhost:3000")
		s.signUpQuiet("globex")
		want(t, other.do("POST", "/api/auth/handoff", map[string]string{"token": token}), http.StatusUnprocessableEntity)
		b := s.browser("acme.localhost:3000")
		r = b.do("POST", "/api/auth/handoff", map[string]string{"token": token})
		// The failed attempt on globex consumed the token: one use, whoever tries.
		want(t, r, http.StatusUnprocessableEntity)

		// Log in with the password; the email is case-insensitive.
		want(t, b.do("GET", "/api/me", nil), http.StatusUnauthorized)
		preLogin := b.cookies["palisade_session"]
		r = b.do("POST", "/api/auth/login", map[string]string{"email": "ADA@acme.test", "password": testPassword})
		want(t, r, http.StatusOK)
		var me struct {
			User core.User `json:"user"`
			Role core.Role `json:"role"`
		}
		r.json(t, &me)
		if me.Role != core.RoleOwner || me.User.Email != "ada@acme.test" {
			t.Fatalf("me after login: %+v", me)
		}
		sessionID := b.cookies["palisade_session"]
		if sessionID == "" || sessionID == preLogin {
			t.Fatalf("session id did not rotate on login: before %q after %q", preLogin, sessionID)
		}
		want(t, b.do("GET", "/api/me", nil), http.StatusOK)

		// Log out; the old cookie, replayed, is dead.
		want(t, b.do("POST", "/api/auth/logout", nil), http.StatusNoContent)
		replay := s.browser("acme.localhost:3000")
		replay.cookies["palisade_session"] = sessionID
		want(t, replay.do("GET", "/api/me", nil), http.StatusUnauthorized)

		// Everything was audited.
		evs, err := s.st.AllAuditEvents(context.Background(), 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, e := range evs {
			seen[e.Action+"/"+e.Outcome] = true
		}
		for _, a := range []string{"tenant.signup/success", "auth.login/success", "auth.logout/success"} {
			if !seen[a] {
				t.Errorf("no audit event %s; have %v", a, seen)
			}
		}
	})
}

// signUpQuiet creates a tenant without logging in.
func (s *stack) signUpQuiet(slug string) {
	s.t.Helper()
	r := s.browser("localhost:3000").do("POST", "/api/signup", map[string]string{
		"organisation_name": slug, "slug": slug, "name": "Owner", "email": "owner@" + slug + ".test", "password": testPassword,
	})
	want(s.t, r, http.StatusCreated)
}

// TestTenantIsolation: for every route that takes an id, a user of tenant A
// gets "not found" for tenant B's object; and tenant A's session on tenant
// B's host is refused.
func TestTenantIsolation(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		a, _ := s.signUp("acme", "ada@acme.test")
		b, _ := s.signUp("globex", "bob@globex.test")

		var meB struct {
			User core.User `json:"user"`
		}
		b.do("GET", "/api/me", nil).json(t, &meB)
		r := b.do("POST", "/api/invitations", map[string]string{"email": "carol@globex.test", "role": "member"})
		want(t, r, http.StatusCreated)
		var inv struct {
			Invitation core.Invitation `json:"invitation"`
		}
		r.json(t, &inv)

		bUser := strconv.FormatInt(meB.User.ID, 10)
		bInv := strconv.FormatInt(inv.Invitation.ID, 10)
		for _, c := range []struct{ method, path string }{
			{"GET", "/api/members/" + bUser},
			{"DELETE", "/api/members/" + bUser},
			{"GET", "/api/invitations/" + bInv},
			{"DELETE", "/api/invitations/" + bInv},
		} {
			if r := a.do(c.method, c.path, nil); r.status != http.StatusNotFound {
				t.Errorf("%s %s as tenant A: got %d, want 404: %s", c.method, c.path, r.status, r.body)
			}
		}
		// B's objects are untouched.
		want(t, b.do("GET", "/api/members/"+bUser, nil), http.StatusOK)
		want(t, b.do("GET", "/api/invitations/"+bInv, nil), http.StatusOK)
		// Lists only show A's own rows.
		var ms struct {
			Members []core.Member `json:"members"`
		}
		a.do("GET", "/api/members", nil).json(t, &ms)
		if len(ms.Members) != 1 || ms.Members[0].Email != "ada@acme.test" {
			t.Errorf("A's member list: %+v", ms.Members)
		}

		// A's session cookie presented on B's host.
		stolen := s.browser("globex.localhost:3000")
		stolen.cookies = a.cookies
		r = stolen.do("GET", "/api/members", nil)
		want(t, r, http.StatusForbidden)
		if r.errorCode() != "forbidden" {
			t.Errorf("error code %q", r.errorCode())
		}
		// A's owner cannot log in on B's host either.
		want(t, s.browser("globex.localhost:3000").do("POST", "/api/auth/login", map[string]string{"email": "ada@acme.test", "password": testPassword}), http.StatusUnauthorized)
	})
}

// TestSessionTimeouts drives the clock, not the wall: the timeouts are
// enforced on the store's clock whatever the session store's TTLs do (the
// embedded miniredis never counts them down, a SQL row outlives its expiry
// until swept), in both realms.
func TestSessionTimeouts(t *testing.T) {
	s := newStack(t, "sqlite", map[string]string{
		"PALISADE_SESSION_IDLE_TIMEOUT":     "30m",
		"PALISADE_SESSION_ABSOLUTE_TIMEOUT": "12h",
	})
	clock := withClock(s)
	t.Run("idle", func(t *testing.T) {
		b, _ := s.signUp("idle", "i@idle.test")
		want(t, b.do("GET", "/api/me", nil), http.StatusOK)
		clock.advance(29 * time.Minute)
		want(t, b.do("GET", "/api/me", nil), http.StatusOK) // activity resets the idle timer
		clock.advance(29 * time.Minute)
		want(t, b.do("GET", "/api/me", nil), http.StatusOK)
		clock.advance(31 * time.Minute)
		want(t, b.do("GET", "/api/me", nil), http.StatusUnauthorized)
		// Ended, not only refused: the security page of a new login does
		// not list it.
		want(t, b.do("POST", "/api/auth/login", map[string]string{"email": "i@idle.test", "password": testPassword}), http.StatusOK)
		var list struct {
			Sessions []json.RawMessage `json:"sessions"`
		}
		r := b.do("GET", "/api/sessions", nil)
		want(t, r, http.StatusOK)
		r.json(t, &list)
		if len(list.Sessions) != 1 {
			t.Fatalf("%d sessions listed after the idle one expired, want the new one only: %s", len(list.Sessions), r.body)
		}
	})
	t.Run("absolute", func(t *testing.T) {
		b, _ := s.signUp("absolute", "a@absolute.test")
		// Activity every 20 minutes keeps the idle timer fresh...
		for range 12 * 3 {
			want(t, b.do("GET", "/api/me", nil), http.StatusOK)
			clock.advance(20 * time.Minute)
		}
		// ...but not past the absolute lifetime.
		clock.advance(time.Minute)
		want(t, b.do("GET", "/api/me", nil), http.StatusUnauthorized)
	})
	t.Run("hq idle", func(t *testing.T) {
		s.createOperator("idle-op@palisade.test")
		b := s.browser("admin.localhost:3000")
		want(t, b.do("POST", "/api/hq/auth/login", map[string]string{"email": "idle-op@palisade.test", "password": testPassword}), http.StatusOK)
		// Logged in, second factor still to enrol: anything but 401.
		if r := b.do("GET", "/api/hq/me", nil); r.status == http.StatusUnauthorized {
			t.Fatalf("fresh HQ session refused: %d %s", r.status, r.body)
		}
		clock.advance(31 * time.Minute)
		want(t, b.do("GET", "/api/hq/me", nil), http.StatusUnauthorized)
	})
}

func TestLoginThrottle(t *testing.T) {
	s := newStack(t, "sqlite", map[string]string{
		"PALISADE_LOGIN_MAX_FAILURES_ACCOUNT": "3",
		"PALISADE_LOGIN_MAX_FAILURES_IP":      "5",
	})
	s.signUpQuiet("acme")
	ctx := context.Background()
	ts := s.st.Tenant(mustTenant(t, s, "acme").ID)
	// A second member, so one address can try two accounts.
	owner, _ := s.st.UserByEmail(ctx, "owner@acme.test")
	inviteAndJoin(t, s, ts.ID(), owner.ID, "bea@acme.test")

	login := func(ip, email, pw string) resp {
		b := s.browser("acme.localhost:3000")
		b.xff = ip
		return b.do("POST", "/api/auth/login", map[string]string{"email": email, "password": pw})
	}
	t.Run("per account", func(t *testing.T) {
		for i := range 3 {
			if r := login(fmt.Sprintf("198.51.100.%d", i+1), "owner@acme.test", "wrong password!"); r.status != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d", i+1, r.status)
			}
		}
		// The fourth try is refused even with the right password and from a new address.
		r := login("198.51.100.99", "owner@acme.test", testPassword)
		want(t, r, http.StatusTooManyRequests)
		if ra, _ := strconv.Atoi(r.header.Get("Retry-After")); ra <= 0 || ra > 15*60 {
			t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
		}
		if !strings.Contains(string(r.body), "try again in") {
			t.Fatalf("message does not say how long to wait: %s", r.body)
		}
	})
	t.Run("per ip, not reset by success", func(t *testing.T) {
		ip := "203.0.113.7"
		for range 2 {
			want(t, login(ip, "nobody@acme.test", "wrong password!"), http.StatusUnauthorized)
		}
		// A success from the same address clears only that account's counter.
		want(t, login(ip, "bea@acme.test", testPassword), http.StatusOK)
		for range 3 {
			want(t, login(ip, "nobody2@acme.test", "wrong password!"), http.StatusUnauthorized)
		}
		// Five failures from this address: now even a right password is refused from it.
		want(t, login(ip, "bea@acme.test", testPassword), http.StatusTooManyRequests)
		// Another address is not affected.
		want(t, login("203.0.113.8", "bea@acme.test", testPassword), http.StatusOK)
	})
}

func mustTenant(t *testing.T, s *stack, slug string) core.Tenant {
	t.Helper()
	tn, err := s.st.TenantBySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// inviteAndJoin adds a member through the store, with the test password.
func inviteAndJoin(t *testing.T, s *stack, tenantID, inviter int64, email string) {
	t.Helper()
	ctx := context.Background()
	ts := s.st.Tenant(tenantID)
	tok, hash := auth.NewToken()
	_ = tok
	inv, err := ts.CreateInvitation(ctx, email, core.RoleMember, inviter, hash, time.Now().Add(time.Hour), core.AuditEvent{Action: "invitation.created"})
	if err != nil {
		t.Fatal(err)
	}
	ph, _ := auth.Hasher{P: auth.FastParams}.Hash(testPassword)
	if _, err := ts.AcceptInvitation(ctx, inv, 0, storeNewUser(email, ph), core.AuditEvent{Action: "invitation.accepted"}); err != nil {
		t.Fatal(err)
	}
}

func TestInvitationFlow(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		owner, _ := s.signUp("acme", "ada@acme.test")
		want(t, owner.do("POST", "/api/invitations", map[string]string{"email": "carol@acme.test", "role": "admin"}), http.StatusCreated)
		want(t, owner.do("POST", "/api/invitations", map[string]string{"email": "carol@acme.test", "role": "owner"}), http.StatusUnprocessableEntity)
		mail := s.lastMail("carol@acme.test")
		token := linkToken(t, mail.Body, "/invitations/")

		anon := s.browser("acme.localhost:3000")
		r := anon.do("GET", "/api/invitation-lookup?token="+token, nil)
		want(t, r, http.StatusOK)
		// A short password is refused with a message that says why.
		r = anon.do("POST", "/api/invitations/accept", map[string]string{"token": token, "name": "Carol", "password": "short"})
		want(t, r, http.StatusUnprocessableEntity)
		if !strings.Contains(string(r.body), "at least 12 characters") {
			t.Fatalf("password message: %s", r.body)
		}
		r = anon.do("POST", "/api/invitations/accept", map[string]string{"token": token, "name": "Carol", "password": testPassword})
		want(t, r, http.StatusOK)
		var me struct {
			Role core.Role `json:"role"`
		}
		r.json(t, &me)
		if me.Role != core.RoleAdmin {
			t.Fatalf("role after accept: %s", me.Role)
		}
		want(t, anon.do("GET", "/api/me", nil), http.StatusOK)
		// The link is spent.
		want(t, s.browser("acme.localhost:3000").do("POST", "/api/invitations/accept", map[string]string{"token": token, "name": "X", "password": testPassword}), http.StatusConflict)
		// Members cannot manage; admins cannot invite admins.
		want(t, anon.do("POST", "/api/invitations", map[string]string{"email": "dan@acme.test", "role": "admin"}), http.StatusForbidden)
		want(t, anon.do("POST", "/api/invitations", map[string]string{"email": "dan@acme.test", "role": "member"}), http.StatusCreated)
	})
}

func TestPasswordReset(t *testing.T) {
	s := newStack(t, "sqlite", nil)
	s.signUpQuiet("acme")
	anon := s.browser("acme.localhost:3000")
	// Unknown addresses get the same answer and no mail.
	want(t, anon.do("POST", "/api/auth/password-reset", map[string]string{"email": "ghost@acme.test"}), http.StatusAccepted)
	// A session from before the reset must die with the old password.
	before := s.browser("acme.localhost:3000")
	want(t, before.do("POST", "/api/auth/login", map[string]string{"email": "owner@acme.test", "password": testPassword}), http.StatusOK)
	want(t, before.do("GET", "/api/me", nil), http.StatusOK)
	want(t, anon.do("POST", "/api/auth/password-reset", map[string]string{"email": "owner@acme.test"}), http.StatusAccepted)
	token := linkToken(t, s.lastMail("owner@acme.test").Body, "token=")
	want(t, anon.do("POST", "/api/auth/password-reset/confirm", map[string]string{"token": token, "password": "a brand new passphrase"}), http.StatusOK)
	want(t, anon.do("POST", "/api/auth/password-reset/confirm", map[string]string{"token": token, "password": "another new passphrase"}), http.StatusUnprocessableEntity)
	want(t, anon.do("POST", "/api/auth/login", map[string]string{"email": "owner@acme.test", "password": testPassword}), http.StatusUnauthorized)
	want(t, anon.do("POST", "/api/auth/login", map[string]string{"email": "owner@acme.test", "password": "a brand new passphrase"}), http.StatusOK)
	// The sessions page lists only the new login: the reset ended the rest.
	if l := s.sessionsOf(t, anon); len(l) != 1 || !l[0].Current {
		t.Fatalf("sessions after the reset: %+v", l)
	}
	want(t, before.do("GET", "/api/me", nil), http.StatusUnauthorized)
}

func TestSuspendedTenantIsRefused(t *testing.T) {
	s := newStack(t, "sqlite", nil)
	b, tn := s.signUp("acme", "ada@acme.test")
	op := s.operator("ops@palisade.test")
	want(t, op.do("POST", fmt.Sprintf("/api/hq/tenants/%d/suspend", tn.ID), map[string]string{"reason": ""}), http.StatusUnprocessableEntity)
	want(t, op.do("POST", fmt.Sprintf("/api/hq/tenants/%d/suspend", tn.ID), map[string]string{"reason": "unpaid invoice"}), http.StatusOK)

	r := b.do("GET", "/api/members", nil)
	want(t, r, http.StatusForbidden)
	if r.errorCode() != "tenant_suspended" || !strings.Contains(string(r.body), "unpaid invoice") {
		t.Fatalf("suspended refusal: %s", r.body)
	}
	want(t, s.browser("acme.localhost:3000").do("POST", "/api/auth/login", map[string]string{"email": "ada@acme.test", "password": testPassword}), http.StatusForbidden)
	// The tenant info route still answers, so the web app can show the page.
	var info struct {
		Tenant core.Tenant `json:"tenant"`
	}
	r = b.do("GET", "/api/tenant", nil)
	want(t, r, http.StatusOK)
	r.json(t, &info)
	if info.Tenant.Status != core.TenantSuspended || info.Tenant.SuspendReason != "unpaid invoice" {
		t.Fatalf("tenant info: %+v", info.Tenant)
	}
	want(t, op.do("POST", fmt.Sprintf("/api/hq/tenants/%d/reactivate", tn.ID), nil), http.StatusOK)
	want(t, b.do("GET", "/api/members", nil), http.StatusOK)
}

// operator creates an HQ operator and returns its logged-in browser.
func (s *stack) operator(email string) *browser {
	s.t.Helper()
	if _, err := app.CreateOperator(context.Background(), s.st, auth.Hasher{P: auth.FastParams}, email, "Ops", testPassword); err != nil {
		s.t.Fatal(err)
	}
	b := s.browser("admin.localhost:3000")
	want(s.t, b.do("POST", "/api/hq/auth/login", map[string]string{"email": email, "password": testPassword}), http.StatusOK)
	// A second factor is mandatory for operators: enrol one, as HQ sends a
	// new operator to do at first login.
	s.enrolTOTP(b, "/api/hq/mfa/totp")
	return b
}

func TestHQRealm(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		tenantUser, _ := s.signUp("acme", "ada@acme.test")
		op := s.operator("ops@palisade.test")

		r := op.do("POST", "/api/hq/tenants", map[string]string{"slug": "initech", "name": "Initech"})
		want(t, r, http.StatusCreated)
		want(t, op.do("POST", "/api/hq/tenants", map[string]string{"slug": "initech", "name": "Again"}), http.StatusConflict)
		want(t, op.do("POST", "/api/hq/tenants", map[string]string{"slug": "admin", "name": "Reserved"}), http.StatusUnprocessableEntity)
		var list struct {
			Tenants []core.Tenant `json:"tenants"`
			Total   int           `json:"total"`
		}
		op.do("GET", "/api/hq/tenants?q=init", nil).json(t, &list)
		if list.Total != 1 || list.Tenants[0].Slug != "initech" {
			t.Fatalf("search: %+v", list)
		}
		want(t, op.do("GET", "/api/hq/tenants?status=deleted", nil), http.StatusUnprocessableEntity)
		want(t, op.do("GET", "/api/hq/tenants/999999", nil), http.StatusNotFound)
		want(t, op.do("GET", "/api/hq/audit", nil), http.StatusOK)
		want(t, op.do("GET", "/api/hq/outbox", nil), http.StatusOK)

		// A tenant session is no HQ session, on either host.
		onAdmin := s.browser("admin.localhost:3000")
		onAdmin.cookies = tenantUser.cookies
		want(t, onAdmin.do("GET", "/api/hq/tenants", nil), http.StatusUnauthorized)
		// HQ routes do not exist on a tenant host, even with an operator cookie.
		onTenant := s.browser("acme.localhost:3000")
		onTenant.cookies = op.cookies
		want(t, onTenant.do("GET", "/api/hq/tenants", nil), http.StatusNotFound)
		// Wrong operator password is refused and audited.
		want(t, s.browser("admin.localhost:3000").do("POST", "/api/hq/auth/login", map[string]string{"email": "ops@palisade.test", "password": "not the password"}), http.StatusUnauthorized)
		want(t, op.do("POST", "/api/hq/auth/logout", nil), http.StatusNoContent)
		want(t, op.do("GET", "/api/hq/me", nil), http.StatusUnauthorized)
	})
}

// TestBadInput: malformed or oversized input, unknown tenants, bad hosts and
// forged cookies each get a clear 4xx, never a 500.
func TestBadInput(t *testing.T) {
	s := newStack(t, "sqlite", nil)
	b, _ := s.signUp("acme", "ada@acme.test")
	long := strings.Repeat("x", 300)
	cases := []struct {
		name   string
		b      *browser
		method string
		path   string
		body   any
		status int
		msg    string
	}{
		{"malformed json", b, "POST", "/api/invitations", `{"email": `, 422, "malformed JSON"},
		{"not an object", b, "POST", "/api/invitations", `[1,2]`, 422, "must be a"},
		{"trailing data", b, "POST", "/api/invitations", `{"email":"a@b.co"} {}`, 422, "single JSON object"},
		{"unknown field", b, "POST", "/api/invitations", `{"email":"a@b.co","admin":true}`, 422, "unknown field"},
		{"wrong type", b, "POST", "/api/invitations", `{"email":42}`, 422, "must be a string"},
		{"empty body", b, "POST", "/api/invitations", ``, 422, "empty"},
		{"huge body", b, "POST", "/api/invitations", `{"email":"` + strings.Repeat("a", 70<<10) + `"}`, 422, "larger than"},
		{"long email", b, "POST", "/api/invitations", map[string]string{"email": long + "@x.co"}, 422, "at most 254"},
		{"bad role", b, "POST", "/api/invitations", map[string]string{"email": "a@b.co", "role": "god"}, 422, "admin or member"},
		{"long name", s.browser("localhost:3000"), "POST", "/api/signup", map[string]string{"organisation_name": long, "slug": "longname", "name": "x", "email": "l@l.co", "password": testPassword}, 422, "at most 100"},
		{"bad slug", s.browser("localhost:3000"), "POST", "/api/signup", map[string]string{"organisation_name": "x", "slug": "Bad Slug!", "name": "x", "email": "l@l.co", "password": testPassword}, 422, "lowercase"},
		{"bad id", b, "GET", "/api/members/abc", nil, 422, "positive whole number"},
		{"bad limit", b, "GET", "/api/members?limit=100000", nil, 422, "from 1 to 200"},
		{"unknown tenant", s.browser("nosuch.localhost:3000"), "POST", "/api/auth/login", map[string]string{"email": "a@b.co", "password": "x"}, 404, "no organisation"},
		{"bad host", s.browser("evil.example.com"), "GET", "/api/tenant", nil, 404, "no organisation"},
		{"nested host", s.browser("a.acme.localhost:3000"), "GET", "/api/tenant", nil, 404, "no organisation"},
		{"forged cookie", &browser{s: s, host: "acme.localhost:3000", cookies: map[string]string{"palisade_session": "forged-token-value"}}, "GET", "/api/me", nil, 401, "log in"},
		{"no endpoint", b, "GET", "/api/nothing-here", nil, 404, "no such endpoint"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.b.do(c.method, c.path, c.body)
			if r.status != c.status || !strings.Contains(string(r.body), c.msg) {
				t.Fatalf("got %d %s, want %d containing %q", r.status, r.body, c.status, c.msg)
			}
		})
	}
	// Nothing half-written: the failed sign-ups left no tenant.
	if _, total, _ := s.st.ListTenants(context.Background(), storeFilter()); total != 1 {
		t.Fatalf("tenants after bad input: %d, want 1", total)
	}
}

// TestOpenAPICoversRoutes keeps routes.go and the document in step.
func TestOpenAPICoversRoutes(t *testing.T) {
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	spec := string(mustSpec(t))
	re := regexp.MustCompile(`mux\.Handle\("(GET|POST|DELETE|PUT|PATCH) (/api/[^"]*)"`)
	matches := re.FindAllStringSubmatch(string(src), -1)
	if len(matches) < 20 {
		t.Fatalf("found only %d routes in routes.go; the pattern is stale", len(matches))
	}
	for _, m := range matches {
		if !strings.Contains(spec, "\n  "+m[2]+":") {
			t.Errorf("route %s %s is not documented in api/openapi.yaml", m[1], m[2])
		}
	}
}

// TestUntrustedForwardedForIgnored: X-Forwarded-For (and X-Forwarded-Host)
// from a peer outside PALISADE_TRUSTED_PROXIES are not believed.
func TestUntrustedForwardedForIgnored(t *testing.T) {
	s := newStack(t, "sqlite", map[string]string{"PALISADE_TRUSTED_PROXIES": "10.0.0.0/16"})
	// The forwarded host is ignored too, so this request is not on any tenant's host.
	b := s.browser("acme.localhost:3000")
	b.xff = "198.51.100.23"
	want(t, b.do("POST", "/api/signup", map[string]string{"organisation_name": "Acme", "slug": "acme", "name": "A", "email": "a@acme.test", "password": testPassword}), http.StatusCreated)
	want(t, b.do("GET", "/api/tenant", nil), http.StatusNotFound)
	evs, err := s.st.AllAuditEvents(context.Background(), 0, 1)
	if err != nil || len(evs) != 1 {
		t.Fatalf("audit: %v %+v", err, evs)
	}
	if evs[0].IP != "127.0.0.1" {
		t.Fatalf("IP recorded from an untrusted peer's header: %q", evs[0].IP)
	}
}

// TestSessionCookieFlags: outside dev the session cookie is Secure, and
// always HttpOnly, SameSite=Lax and host-only (no Domain, so one tenant's
// cookie never travels to another tenant's host).
func TestSessionCookieFlags(t *testing.T) {
	for _, c := range []struct {
		env    string
		secure bool
	}{{"staging", true}, {"test", false}} {
		t.Run(c.env, func(t *testing.T) {
			s := newStack(t, "sqlite", map[string]string{"PALISADE_ENV": c.env, "PALISADE_BASE_URL": "https://localhost:3000"})
			s.signUpQuiet("acme")
			b := s.browser("acme.localhost:3000")
			r := b.do("POST", "/api/auth/login", map[string]string{"email": "owner@acme.test", "password": testPassword})
			want(t, r, http.StatusOK)
			sc := r.header.Get("Set-Cookie")
			if !strings.HasPrefix(sc, "palisade_session=") || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
				t.Fatalf("Set-Cookie %q", sc)
			}
			if strings.Contains(strings.ToLower(sc), "domain=") {
				t.Fatalf("cookie has a Domain: %q", sc)
			}
			if strings.Contains(sc, "Secure") != c.secure {
				t.Fatalf("Secure = %v in %s: %q", !c.secure, c.env, sc)
			}
		})
	}
}
