package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/testenv"
)

const pw = "correct horse battery"

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

// signUp goes through the apex sign-up form and the handoff link, as a browser would.
func signUp(t *testing.T, s *testenv.Stack, c *http.Client, slug string) {
	t.Helper()
	form := url.Values{"organisation_name": {"Org " + slug}, "slug": {slug}, "name": {"Owner"}, "email": {"owner@" + slug + ".test"}, "password": {pw}}
	r, err := c.PostForm(s.URL("localhost", "/signup"), form)
	if err != nil {
		t.Fatal(err)
	}
	loc := r.Header.Get("Location")
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, s.URL(slug+".localhost", "/auth/handoff?token=")) {
		t.Fatalf("sign-up answered %d → %q: %s", r.StatusCode, loc, body(t, r))
	}
	r.Body.Close()
	r, err = c.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		t.Fatalf("handoff answered %d → %q: %s", r.StatusCode, r.Header.Get("Location"), body(t, r))
	}
	r.Body.Close()
}

func TestPagesAndHosts(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	c := s.Client()
	signUp(t, s, c, "acme")

	r, _ := c.Get(s.URL("acme.localhost", "/"))
	if page := body(t, r); r.StatusCode != 200 || !strings.Contains(page, "Welcome, Owner") {
		t.Fatalf("dashboard: %d %s", r.StatusCode, page)
	}
	// Security headers on every HTML page.
	for h, wantSub := range map[string]string{
		"Content-Security-Policy": "frame-ancestors 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
	} {
		if !strings.Contains(r.Header.Get(h), wantSub) {
			t.Errorf("%s = %q", h, r.Header.Get(h))
		}
	}
	if r.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("HSTS sent in test env (plain http)")
	}

	anon := s.Client()
	r, _ = anon.Get(s.URL("acme.localhost", "/members"))
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Fatalf("anonymous /members: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	r.Body.Close()
	r, _ = anon.Get(s.URL("nosuch.localhost", "/login"))
	if page := body(t, r); r.StatusCode != 404 || !strings.Contains(page, "No organisation lives at this address") {
		t.Fatalf("unknown tenant: %d %s", r.StatusCode, page)
	}
	r, _ = anon.Get(s.URL("a.b.localhost", "/"))
	if r.StatusCode != 404 {
		t.Fatalf("bad host: %d", r.StatusCode)
	}
	r.Body.Close()
	// The tenant site's proxy never reaches HQ's API.
	r, _ = c.Get(s.URL("acme.localhost", "/api/hq/tenants"))
	if r.StatusCode != 404 {
		t.Fatalf("/api/hq via tenant proxy: %d", r.StatusCode)
	}
	r.Body.Close()
	// A wrong password shows the API's message on the form.
	r, _ = anon.PostForm(s.URL("acme.localhost", "/login"), url.Values{"email": {"owner@acme.test"}, "password": {"nope nope nope"}})
	if page := body(t, r); r.StatusCode != 401 || !strings.Contains(page, "email or password is wrong") {
		t.Fatalf("bad login: %d %s", r.StatusCode, page)
	}
}

// TestCrossOriginPostRefused: a form posted from another site is refused,
// on the pages and on the /api/ proxy; the same request from our origin passes.
func TestCrossOriginPostRefused(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	c := s.Client()
	signUp(t, s, c, "acme")
	post := func(path, site, origin string) *http.Response {
		req, _ := http.NewRequest("POST", s.URL("acme.localhost", path), strings.NewReader("email=eve%40evil.test&role=member"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		r, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, tc := range []struct{ name, path, site, origin string }{
		{"page, fetch metadata", "/members/invite", "cross-site", "http://evil.test"},
		{"page, origin only", "/members/invite", "", "http://evil.test"},
		{"sibling tenant", "/members/invite", "same-site", "http://globex.localhost:" + s.PublicPort},
		{"api proxy", "/api/invitations", "cross-site", "http://evil.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(tc.path, tc.site, tc.origin)
			if page := body(t, r); r.StatusCode != http.StatusForbidden || !(strings.Contains(page, "another site") || strings.Contains(page, "cross-origin")) {
				t.Fatalf("got %d %s", r.StatusCode, page)
			}
		})
	}
	invs, _ := s.Store.Tenant(mustTenant(t, s, "acme")).PendingInvitations(context.Background())
	if len(invs) != 0 {
		t.Fatalf("a refused request created %d invitations", len(invs))
	}
	r := post("/members/invite", "same-origin", s.URL("acme.localhost", ""))
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("same-origin invite: %d %s", r.StatusCode, body(t, r))
	}
	r.Body.Close()
}

func mustTenant(t *testing.T, s *testenv.Stack, slug string) int64 {
	t.Helper()
	tn, err := s.Store.TenantBySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return tn.ID
}

// TestProxyForwarding: the API sees the browser's address appended to
// X-Forwarded-For by the web proxy, and the Set-Cookie comes back.
func TestProxyForwarding(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	c := s.Client()
	signUp(t, s, c, "acme")
	req, _ := http.NewRequest("POST", s.URL("acme.localhost", "/api/auth/login"), strings.NewReader(`{"email":"owner@acme.test","password":"`+pw+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", "198.51.100.23")
	fresh := s.Client()
	r, err := fresh.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if page := body(t, r); r.StatusCode != 200 || len(r.Cookies()) == 0 {
		t.Fatalf("login through proxy: %d %s", r.StatusCode, page)
	}
	evs, _ := s.Store.Tenant(mustTenant(t, s, "acme")).AuditEvents(context.Background(), 0, 1)
	// 127.0.0.0/8 is trusted here, so the chain is believed up to the first outside address.
	if len(evs) != 1 || evs[0].Action != "auth.login" || evs[0].IP != "198.51.100.23" {
		t.Fatalf("audit of proxied login: %+v", evs)
	}
	var _ = core.RoleOwner
}

// TestErrorPagesOfferAWayBack: a refused or missing page keeps a way back
// to the start page.
func TestErrorPagesOfferAWayBack(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	c := s.Client()
	signUp(t, s, c, "acme")
	for _, p := range []string{"/invitations/made-up-token", "/files/999999/download"} {
		code, page := get(t, c, s.URL("acme.localhost", p))
		if code < 400 || !strings.Contains(page, `id="message-home" href="/"`) && !strings.Contains(page, `href="/" id="message-home"`) {
			t.Errorf("%s: %d without a way back:\n%s", p, code, page)
		}
	}
}
