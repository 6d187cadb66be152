package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestClientIPFromCloudflareThroughWeb: the browser → Cloudflare → ALB →
// web → API path. The public listener's peer (127.0.0.1) stands in for the
// public ALB, whose X-Forwarded-For ends with the Cloudflare edge. Both the
// /api/* proxy and the server-rendered login form (bff.Client.Call) pass
// CF-Connecting-IP on, and the API throttles and audits by it; from outside
// Cloudflare's ranges the header is not believed.
func TestClientIPFromCloudflareThroughWeb(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", map[string]string{
		"PALISADE_LOGIN_MAX_FAILURES_ACCOUNT": "100",
		"PALISADE_LOGIN_MAX_FAILURES_IP":      "2",
		"PALISADE_CDN_PROXIES":                "173.245.48.0/20,2400:cb00::/32",
		"PALISADE_CLIENT_IP_HEADER":           "CF-Connecting-IP",
	})
	signUp(t, s, s.Client(), "acme")
	tenantID := mustTenant(t, s, "acme")
	lastIP := func() string {
		t.Helper()
		evs, err := s.Store.Tenant(tenantID).AuditEvents(context.Background(), 0, 1)
		if err != nil || len(evs) != 1 {
			t.Fatalf("audit: %v %+v", err, evs)
		}
		return evs[0].IP
	}
	// jsonLogin goes through the /api/* reverse proxy, formLogin through
	// the login page's call to the API.
	jsonLogin := func(xff, cf, email, password string) int {
		req, _ := http.NewRequest("POST", s.URL("acme.localhost", "/api/auth/login"), strings.NewReader(`{"email":"`+email+`","password":"`+password+`"}`))
		req.Header.Set("Content-Type", "application/json")
		return send(t, s, req, xff, cf)
	}
	formLogin := func(xff, cf, email, password string) int {
		req, _ := http.NewRequest("POST", s.URL("acme.localhost", "/login"), strings.NewReader(url.Values{"email": {email}, "password": {password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return send(t, s, req, xff, cf)
	}
	for name, login := range map[string]func(xff, cf, email, password string) int{"proxy": jsonLogin, "form": formLogin} {
		t.Run(name, func(t *testing.T) {
			client, other, victim, direct := "203.0.113.7", "203.0.113.8", "203.0.113.50", "198.51.100.9"
			if name == "form" {
				client, other, victim, direct = "2001:db8::7", "2001:db8::8", "2001:db8::50", "198.51.100.10"
			}
			for i := range 2 {
				if code := login("173.245.48.9", client, "nobody"+name+string(rune('a'+i))+"@acme.test", "wrong password!"); code == http.StatusSeeOther || code == http.StatusOK {
					t.Fatalf("wrong password accepted: %d", code)
				}
				if ip := lastIP(); ip != client {
					t.Fatalf("failure audited with %q, want the CF-Connecting-IP %s", ip, client)
				}
			}
			if code := login("2400:cb00:2049:1::a29f:1804", client, "owner@acme.test", pw); code != http.StatusTooManyRequests {
				t.Fatalf("third attempt of %s: %d, want 429", client, code)
			}
			if code := login("173.245.48.9", other, "owner@acme.test", pw); code != http.StatusOK && code != http.StatusSeeOther {
				t.Fatalf("another client through the same edge: %d", code)
			}
			if ip := lastIP(); ip != other {
				t.Fatalf("login audited with %q, want %s", ip, other)
			}
			// Straight to the load balancer, naming a victim in the header.
			for i := range 2 {
				login(direct, victim, "nobodyd"+name+string(rune('a'+i))+"@acme.test", "wrong password!")
				if ip := lastIP(); ip != direct {
					t.Fatalf("failure from outside the ranges audited with %q, want %s", ip, direct)
				}
			}
			if code := login("173.245.48.9", victim, "owner@acme.test", pw); code != http.StatusOK && code != http.StatusSeeOther {
				t.Fatalf("the victim named by a forged header is throttled: %d", code)
			}
			if code := login(direct, "", "owner@acme.test", pw); code != http.StatusTooManyRequests {
				t.Fatalf("the forger's own address: %d, want 429", code)
			}
		})
	}
}

// send posts req as a browser behind the edge xff would, with cf as
// CF-Connecting-IP, without following redirects.
func send(t *testing.T, s *testenv.Stack, req *http.Request, xff, cf string) int {
	t.Helper()
	req.Header.Set("X-Forwarded-For", xff)
	if cf != "" {
		req.Header.Set("CF-Connecting-IP", cf)
	}
	c := s.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	r, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	return r.StatusCode
}
