package api_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/testenv"
	"github.com/palisade-hq/palisade/internal/wire"
)

// bearer is a client that presents only an Authorization header.
func (s *stack) bearer(host, token string) *browser {
	b := s.browser(host)
	b.auth = "Bearer " + token
	return b
}

type tokenResp struct {
	Token    string `json:"token"`
	APIToken struct {
		ID         int64      `json:"id"`
		Hint       string     `json:"hint"`
		LastUsedAt *time.Time `json:"last_used_at"`
	} `json:"api_token"`
}

func (s *stack) createToken(b *browser, scopes []string, days int) tokenResp {
	s.t.Helper()
	r := b.do("POST", "/api/tokens", map[string]any{"name": "ci", "scopes": scopes, "expires_in_days": days})
	want(s.t, r, http.StatusCreated)
	var out tokenResp
	r.json(s.t, &out)
	return out
}

// TestAPITokens: a token is shown once, prefixed for secret scanners, and
// stored only as a hash; it works only on its own tenant, only within its
// scopes, never from a cookie, and not once revoked or expired.
func TestAPITokens(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		// The clock jumps a day ahead (token expiry); sessions live longer
		// here so the owner's session outlasts the jump.
		s := newStack(t, driver, map[string]string{"PALISADE_SESSION_IDLE_TIMEOUT": "48h", "PALISADE_SESSION_ABSOLUTE_TIMEOUT": "72h"})
		clk := withClock(s)
		owner, _ := s.signUp("acme", "ada@acme.test")
		s.signUp("globex", "bob@globex.test")

		tok := s.createToken(owner, []string{"members:read"}, 30)
		if !strings.HasPrefix(tok.Token, "pal_pat_") || len(tok.Token) != 54 || !strings.HasSuffix(tok.Token, tok.APIToken.Hint) {
			t.Fatalf("token %q (hint %q)", tok.Token, tok.APIToken.Hint)
		}
		var stored int
		if err := s.st.DB().QueryRow(`SELECT COUNT(*) FROM api_tokens WHERE token_hash = ? OR token_hash = ?`, tok.Token, strings.TrimPrefix(tok.Token, "pal_pat_")).Scan(&stored); err != nil || stored != 0 {
			t.Fatalf("the token is stored in the clear (%d rows, %v)", stored, err)
		}

		api := s.bearer("acme.localhost:3000", tok.Token)
		want(t, api.do("GET", "/api/members", nil), http.StatusOK)
		want(t, api.do("GET", "/api/me", nil), http.StatusOK)
		// Read scope cannot write, nor read another resource.
		want(t, api.do("DELETE", "/api/members/1", nil), http.StatusForbidden)
		want(t, api.do("GET", "/api/audit", nil), http.StatusForbidden)
		want(t, api.do("POST", "/api/invitations", map[string]string{"email": "x@acme.test", "role": "member"}), http.StatusForbidden)
		// Session-only routes are closed to tokens, so a token cannot mint tokens.
		want(t, api.do("GET", "/api/tokens", nil), http.StatusForbidden)
		want(t, api.do("POST", "/api/tokens", map[string]any{"name": "x", "scopes": []string{"members:write"}}), http.StatusForbidden)

		// Tenant A's token on tenant B's host is unknown there.
		want(t, s.bearer("globex.localhost:3000", tok.Token).do("GET", "/api/members", nil), http.StatusUnauthorized)
		// Never accepted from a cookie.
		jar := s.browser("acme.localhost:3000")
		jar.cookies["palisade_session"] = tok.Token
		want(t, jar.do("GET", "/api/members", nil), http.StatusUnauthorized)
		// A forged token with a valid shape but a wrong checksum, and garbage.
		forged := tok.Token[:len(tok.Token)-1] + map[bool]string{true: "A", false: "B"}[tok.Token[len(tok.Token)-1] != 'A']
		want(t, s.bearer("acme.localhost:3000", forged).do("GET", "/api/members", nil), http.StatusUnauthorized)
		want(t, s.bearer("acme.localhost:3000", "nonsense").do("GET", "/api/members", nil), http.StatusUnauthorized)

		// Last use is recorded.
		var list struct {
			APITokens []struct {
				ID         int64      `json:"id"`
				LastUsedAt *time.Time `json:"last_used_at"`
				LastUsedIP string     `json:"last_used_ip"`
			} `json:"api_tokens"`
		}
		owner.do("GET", "/api/tokens", nil).json(t, &list)
		if len(list.APITokens) != 1 || list.APITokens[0].LastUsedAt == nil || list.APITokens[0].LastUsedIP == "" {
			t.Fatalf("token list %+v", list)
		}

		// A write token writes (with the owner's current role).
		w := s.createToken(owner, []string{"invitations:write"}, 30)
		want(t, s.bearer("acme.localhost:3000", w.Token).do("POST", "/api/invitations", map[string]string{"email": "carol@acme.test", "role": "member"}), http.StatusCreated)
		want(t, s.bearer("acme.localhost:3000", w.Token).do("GET", "/api/invitations", nil), http.StatusOK)

		// Revoked: refused. Revoking someone else's token: not found.
		want(t, owner.do("DELETE", fmt.Sprintf("/api/tokens/%d", tok.APIToken.ID), nil), http.StatusNoContent)
		want(t, api.do("GET", "/api/members", nil), http.StatusUnauthorized)
		other := s.login("globex.localhost:3000", "bob@globex.test")
		want(t, other.do("DELETE", fmt.Sprintf("/api/tokens/%d", w.APIToken.ID), nil), http.StatusNotFound)

		// Expired: refused.
		short := s.createToken(owner, []string{"members:read"}, 1)
		want(t, s.bearer("acme.localhost:3000", short.Token).do("GET", "/api/members", nil), http.StatusOK)
		clk.advance(25 * time.Hour)
		want(t, s.bearer("acme.localhost:3000", short.Token).do("GET", "/api/members", nil), http.StatusUnauthorized)

		// Creating a token needs a recent login (step-up).
		r := owner.do("POST", "/api/tokens", map[string]any{"name": "late", "scopes": []string{"members:read"}})
		want(t, r, http.StatusForbidden)
		wantStep(t, r, wire.KindReauthRequired, wire.ReasonLoginNotRecent)
		want(t, owner.do("POST", "/api/auth/reauth", map[string]string{"password": "wrong password!"}), http.StatusUnprocessableEntity)
		want(t, owner.do("POST", "/api/auth/reauth", map[string]string{"password": testPassword}), http.StatusOK)
		s.createToken(owner, []string{"members:read"}, 365)

		// Input is checked.
		for _, body := range []map[string]any{
			{"name": "", "scopes": []string{"members:read"}},
			{"name": "x", "scopes": []string{}},
			{"name": "x", "scopes": []string{"members:admin"}},
			{"name": "x", "scopes": []string{"tokens:write"}},
			{"name": "x", "scopes": []string{"members:read"}, "expires_in_days": 400},
		} {
			want(t, owner.do("POST", "/api/tokens", body), http.StatusUnprocessableEntity)
		}
	})
}

// TestTokenRefusalsNameTheOwner: a known token refused for its scope, or
// once revoked, is recorded as its owner's act, not an anonymous one.
func TestTokenRefusalsNameTheOwner(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		owner, _ := s.signUp("acme", "ada@acme.test")
		var me struct {
			User struct{ ID int64 } `json:"user"`
		}
		owner.do("GET", "/api/me", nil).json(t, &me)
		tok := s.createToken(owner, []string{"members:read"}, 30)
		api := s.bearer(acmeHost, tok.Token)
		want(t, api.do("GET", "/api/invitations", nil), http.StatusForbidden)
		want(t, owner.do("DELETE", "/api/tokens/"+strconv.FormatInt(tok.APIToken.ID, 10), nil), http.StatusNoContent)
		want(t, api.do("GET", "/api/members", nil), http.StatusUnauthorized)

		evs, err := s.st.AllAuditEvents(t.Context(), 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, ev := range evs {
			if ev.Action != "api_token.scope" && ev.Action != "api_token.refused" {
				continue
			}
			seen[ev.Action] = true
			if ev.ActorType != "user" || ev.ActorID == nil || *ev.ActorID != me.User.ID {
				t.Errorf("%s recorded as %s %v, want user %d", ev.Action, ev.ActorType, ev.ActorID, me.User.ID)
			}
		}
		if !seen["api_token.scope"] || !seen["api_token.refused"] {
			t.Fatalf("refusals not audited: %v", seen)
		}
	})
}
