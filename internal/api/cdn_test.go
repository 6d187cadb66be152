package api_test

import (
	"context"
	"net/http"
	"testing"
)

// cloudflareEdges is part of Cloudflare's published IPv4 and IPv6 ranges
// (infra's cloudflare_ip_ranges holds the whole list).
const cloudflareEdges = "173.245.48.0/20,103.21.244.0/22,2400:cb00::/32"

// TestClientIPFromCloudflare: behind Cloudflare the load balancer's
// X-Forwarded-For ends with an edge's address, and the user's is in
// CF-Connecting-IP. The API (peer 127.0.0.1 standing in for the ALB)
// throttles and audits by that header when the hop before the trusted
// proxies is a Cloudflare edge, and never believes it from anyone else.
func TestClientIPFromCloudflare(t *testing.T) {
	s := newStack(t, "sqlite", map[string]string{
		"PALISADE_LOGIN_MAX_FAILURES_ACCOUNT": "100",
		"PALISADE_LOGIN_MAX_FAILURES_IP":      "3",
		"PALISADE_CDN_PROXIES":                cloudflareEdges,
		"PALISADE_CLIENT_IP_HEADER":           "CF-Connecting-IP",
	})
	s.signUpQuiet("acme")
	tenant := mustTenant(t, s, "acme")
	login := func(xff, cf, email, pw string) resp {
		b := s.browser("acme.localhost:3000")
		b.xff = xff
		if cf != "" {
			b.header = map[string]string{"CF-Connecting-IP": cf}
		}
		return b.do("POST", "/api/auth/login", map[string]string{"email": email, "password": pw})
	}
	lastIP := func(action string) string {
		t.Helper()
		evs, err := s.st.Tenant(tenant.ID).AuditEvents(context.Background(), 0, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Action == action {
				return ev.IP
			}
		}
		t.Fatalf("no %s event in %+v", action, evs)
		return ""
	}

	t.Run("through Cloudflare", func(t *testing.T) {
		// Three failures of one user arriving through different edges.
		for i, edge := range []string{"173.245.48.9", "103.21.244.17", "2400:cb00:2049:1::a29f:1804"} {
			want(t, login("6.6.6.6, "+edge, "203.0.113.7", "nobody"+string(rune('a'+i))+"@acme.test", "wrong password!"), http.StatusUnauthorized)
			if ip := lastIP("auth.login"); ip != "203.0.113.7" {
				t.Fatalf("failure %d audited with %q, want the CF-Connecting-IP 203.0.113.7", i+1, ip)
			}
		}
		// The user's address is closed, even with the right password...
		want(t, login("173.245.48.9", "203.0.113.7", "owner@acme.test", testPassword), http.StatusTooManyRequests)
		if ip := lastIP("auth.login.throttled"); ip != "203.0.113.7" {
			t.Fatalf("throttled attempt audited with %q", ip)
		}
		// ...but the edge is not: another user through the same edge logs in.
		want(t, login("173.245.48.9", "203.0.113.8", "owner@acme.test", testPassword), http.StatusOK)
		if ip := lastIP("auth.login"); ip != "203.0.113.8" {
			t.Fatalf("login audited with %q, want 203.0.113.8", ip)
		}
	})

	t.Run("CF-Connecting-IP from outside the ranges is not believed", func(t *testing.T) {
		// A client that reached the load balancer directly (198.51.100.9)
		// names a victim's address in the header: the failures count
		// against its own address.
		for i := range 3 {
			want(t, login("198.51.100.9", "203.0.113.50", "nobodyx"+string(rune('a'+i))+"@acme.test", "wrong password!"), http.StatusUnauthorized)
			if ip := lastIP("auth.login"); ip != "198.51.100.9" {
				t.Fatalf("failure audited with %q, want the peer chain's 198.51.100.9", ip)
			}
		}
		want(t, login("198.51.100.9", "", "owner@acme.test", testPassword), http.StatusTooManyRequests)
		// The named victim, arriving through Cloudflare, is unaffected.
		want(t, login("173.245.48.9", "203.0.113.50", "owner@acme.test", testPassword), http.StatusOK)
		// A forged edge left of the client's own address changes nothing.
		want(t, login("173.245.48.9, 198.51.100.9", "203.0.113.60", "owner@acme.test", testPassword), http.StatusTooManyRequests)
	})
}
