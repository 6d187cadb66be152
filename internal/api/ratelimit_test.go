package api_test

import (
	"net/http"
	"strconv"
	"testing"
)

// TestRateLimitPerIP: the N+1st request from one address inside the window
// gets 429 with Retry-After and RateLimit headers, on whichever tenant it
// is spent; another address is unaffected.
func TestRateLimitPerIP(t *testing.T) {
	s := newStack(t, "sqlite", map[string]string{
		"PALISADE_RATE_LIMIT_API_PER_IP":     "5",
		"PALISADE_RATE_LIMIT_API_PER_TENANT": "1000",
		"PALISADE_RATE_LIMIT_PERIOD":         "1h",
	})
	a, _ := s.signUp("acme", "ada@acme.test")
	b, _ := s.signUp("globex", "bob@globex.test")
	a.xff, b.xff = "198.51.100.7", "198.51.100.7"
	for i := range 3 {
		r := a.do("GET", "/api/me", nil)
		want(t, r, http.StatusOK)
		if got := r.header.Get("RateLimit-Remaining"); got != strconv.Itoa(4-i) {
			t.Fatalf("request %d: RateLimit-Remaining %q, want %d", i+1, got, 4-i)
		}
		if r.header.Get("RateLimit-Limit") != "5" {
			t.Fatalf("RateLimit-Limit %q", r.header.Get("RateLimit-Limit"))
		}
	}
	// The same address on another tenant spends the same allowance.
	want(t, b.do("GET", "/api/me", nil), http.StatusOK)
	want(t, b.do("GET", "/api/members", nil), http.StatusOK)
	r := a.do("GET", "/api/me", nil)
	want(t, r, http.StatusTooManyRequests)
	if r.errorCode() != "throttled" {
		t.Fatalf("error code %q", r.errorCode())
	}
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 3600 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	if r.header.Get("RateLimit-Remaining") != "0" {
		t.Fatalf("RateLimit-Remaining on 429: %q", r.header.Get("RateLimit-Remaining"))
	}
	// Another address still gets through.
	a.xff = "198.51.100.8"
	want(t, a.do("GET", "/api/me", nil), http.StatusOK)
}

// TestRateLimitPerTenant: requests spread over many addresses still meet
// the tenant's limit, and another tenant is unaffected.
func TestRateLimitPerTenant(t *testing.T) {
	s := newStack(t, "sqlite", map[string]string{
		"PALISADE_RATE_LIMIT_API_PER_IP":     "1000",
		"PALISADE_RATE_LIMIT_API_PER_TENANT": "4",
		"PALISADE_RATE_LIMIT_PERIOD":         "1h",
	})
	a, _ := s.signUp("acme", "ada@acme.test")
	b, _ := s.signUp("globex", "bob@globex.test")
	for i := range 4 {
		a.xff = "203.0.113." + strconv.Itoa(10+i)
		want(t, a.do("GET", "/api/me", nil), http.StatusOK)
	}
	a.xff = "203.0.113.99"
	r := a.do("GET", "/api/members", nil)
	want(t, r, http.StatusTooManyRequests)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	want(t, b.do("GET", "/api/me", nil), http.StatusOK)
}

// TestRateLimitAuthEndpoints: the login endpoint has its own, tighter
// limit, counted separately from the rest of the API.
func TestRateLimitAuthEndpoints(t *testing.T) {
	s := newStack(t, "sqlite", map[string]string{
		"PALISADE_RATE_LIMIT_AUTH_PER_IP":     "1000",
		"PALISADE_RATE_LIMIT_AUTH_PER_TENANT": "3",
		"PALISADE_RATE_LIMIT_PERIOD":          "1h",
	})
	s.signUpQuiet("acme")
	b := s.browser("acme.localhost:3000")
	creds := map[string]string{"email": "owner@acme.test", "password": testPassword}
	for range 3 {
		b.xff = "192.0.2." + strconv.Itoa(len(b.cookies)+1)
		want(t, b.do("POST", "/api/auth/login", creds), http.StatusOK)
	}
	r := b.do("POST", "/api/auth/login", creds)
	want(t, r, http.StatusTooManyRequests)
	// The general API allowance is untouched.
	want(t, b.do("GET", "/api/me", nil), http.StatusOK)
}
