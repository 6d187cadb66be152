package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestBearerTokenThroughProxy: a personal access token made in a browser
// session works through the tenant site's /api proxy from a script that
// sends no cookie and no Origin (not subject to CSRF checks, which guard
// cookie-authenticated browser requests), and only on its own tenant's host.
func TestBearerTokenThroughProxy(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	c := s.Client()
	signUp(t, s, c, "acme")
	signUp(t, s, s.Client(), "globex")

	req, _ := http.NewRequest("POST", s.URL("acme.localhost", "/api/tokens"), strings.NewReader(`{"name":"ci","scopes":["invitations:write"]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", s.URL("acme.localhost", ""))
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("create token through the proxy: %d %v", res.StatusCode, err)
	}
	res.Body.Close()

	script := s.Client() // no cookies of its own
	call := func(host, method, path, body string) int {
		req, _ := http.NewRequest(method, s.URL(host, path), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok.Token)
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
	if got := call("acme.localhost", "POST", "/api/invitations", `{"email":"carol@acme.test","role":"member"}`); got != http.StatusCreated {
		t.Fatalf("bearer POST through the proxy: %d", got)
	}
	if got := call("globex.localhost", "GET", "/api/invitations", ""); got != http.StatusUnauthorized {
		t.Fatalf("acme's token on globex: %d", got)
	}
	if got := call("acme.localhost", "GET", "/api/members", ""); got != http.StatusForbidden {
		t.Fatalf("token without members scope: %d", got)
	}
}
