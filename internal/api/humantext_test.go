package api_test

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/testenv"
)

// goDuration is a duration in Go's syntax ("15m0s", "72h0m0s", "10m"),
// which people should never read.
var goDuration = regexp.MustCompile(`\b\d+(\.\d+)?(h|m|s|ms)(\d+(m|s))*\b`)

// TestPeopleNeverReadGoDurations: every mail and every refusal that names a
// duration says it in words: the invitation, reset and operator invitation
// mails, the throttle's 429, the step-up refusal and
// its confirmation, in both realms.
func TestPeopleNeverReadGoDurations(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, throttleEnv())
		clk := withClock(s)
		owner, _ := s.signUp("acme", "ada@acme.test")
		check := func(what, text string) {
			t.Helper()
			if m := goDuration.FindString(text); m != "" {
				t.Errorf("%s says %q: %s", what, m, text)
			}
		}

		want(t, owner.do("POST", "/api/invitations", map[string]string{"email": "bob@acme.test", "role": "member"}), http.StatusCreated)
		inv := s.lastMail("bob@acme.test")
		check("invitation mail", inv.Body)
		if !regexp.MustCompile(`within \d+ (days?|hours?)`).MatchString(inv.Body) {
			t.Errorf("invitation mail names no duration in words: %s", inv.Body)
		}
		anon := s.browser(acmeHost)
		want(t, anon.do("POST", "/api/auth/password-reset", map[string]string{"email": "ada@acme.test"}), http.StatusAccepted)
		check("reset mail", s.lastMail("ada@acme.test").Body)

		op, _, codes := s.hqOperator("ops@palisade.test")
		want(t, op.do("POST", "/api/hq/operators", map[string]string{"email": "new@palisade.test", "name": "New"}), http.StatusCreated)
		check("operator invitation mail", s.lastMail("new@palisade.test").Body)

		// Step-up refusals and confirmations, tenant and HQ.
		clk.advance(11 * time.Minute)
		r := owner.do("POST", "/api/tokens", map[string]any{"name": "ci", "scopes": []string{"members:read"}, "expires_in_days": 30})
		want(t, r, http.StatusForbidden)
		check("step-up refusal", string(r.body))
		r = owner.do("POST", "/api/auth/reauth", map[string]string{"password": testPassword})
		want(t, r, http.StatusOK)
		check("step-up confirmation", string(r.body))
		r = op.do("POST", "/api/hq/mfa/totp/replace", nil)
		want(t, r, http.StatusForbidden)
		check("HQ step-up refusal", string(r.body))
		r = op.do("POST", "/api/hq/auth/reauth", map[string]string{"password": testPassword, "code": codes[0]})
		want(t, r, http.StatusOK)
		check("HQ step-up confirmation", string(r.body))

		// The login throttle's 429.
		var last resp
		for range s.cfg.LoginMaxPerAccount + 1 {
			last = s.browser(acmeHost).do("POST", "/api/auth/login", map[string]string{"email": "ada@acme.test", "password": "not the password at all"})
		}
		want(t, last, http.StatusTooManyRequests)
		check("throttle refusal", string(last.body))
	})
}
