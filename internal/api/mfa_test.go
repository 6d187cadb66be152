package api_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/testenv"
	"github.com/palisade-hq/palisade/internal/wire"
)

// clock lets a test move the API's clock (store.Now, which TOTP checks and
// step-up use) forward; sessions keep real time.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }
func withClock(s *stack) *clock          { c := &clock{}; s.st.Now = c.now; return c }
func (r resp) field(t *testing.T) string {
	var e struct{ Error struct{ Field string } }
	r.json(t, &e)
	return e.Error.Field
}

// wantStep checks a refusal that asks the client to log in further or
// again: its kind and reason, and in field only what the previous release
// sent there (wire.LegacyField), for its BFFs during a rolling deploy.
func wantStep(t *testing.T, r resp, kind wire.Kind, reason string) {
	t.Helper()
	var e struct{ Error httpx.ErrorDetail }
	r.json(t, &e)
	if r.status != http.StatusForbidden || e.Error.Kind != kind || e.Error.Reason != reason || e.Error.Field != wire.LegacyField(reason) {
		t.Fatalf("got %d kind %q reason %q field %q, want 403 %s (%s) with only the previous release's field: %s", r.status, e.Error.Kind, e.Error.Reason, e.Error.Field, kind, reason, r.body)
	}
}
func (s *stack) login(host, email string) *browser {
	s.t.Helper()
	b := s.browser(host)
	want(s.t, b.do("POST", "/api/auth/login", map[string]string{"email": email, "password": testPassword}), http.StatusOK)
	return b
}

// TestTOTPSecondFactor: after enrolment a password alone only half logs in;
// the current code finishes the login; a code from the previous window
// (inside the allowed skew) passes once and its replay fails; a recovery
// code works exactly once.
func TestTOTPSecondFactor(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		// The clock jumps an hour ahead (step-up window); sessions outlast it.
		s := newStack(t, driver, map[string]string{"PALISADE_SESSION_IDLE_TIMEOUT": "2h"})
		clk := withClock(s)
		owner, _ := s.signUp("acme", "ada@acme.test")
		secret, recovery := s.enrolTOTP(owner, "/api/mfa/totp")
		want(t, owner.do("GET", "/api/members", nil), http.StatusOK)

		// Password only: everything but the MFA step is refused.
		b := s.login("acme.localhost:3000", "ada@acme.test")
		r := b.do("GET", "/api/members", nil)
		want(t, r, http.StatusForbidden)
		wantStep(t, r, wire.KindMFARequired, wire.ReasonMFAPending)
		want(t, b.do("POST", "/api/auth/mfa", map[string]string{"code": "000000"}), http.StatusUnprocessableEntity)

		// Five minutes on, a code of the previous 30-second window passes...
		clk.advance(5 * time.Minute)
		prev := totpCode(t, secret, clk.now().Add(-30*time.Second))
		want(t, b.do("POST", "/api/auth/mfa", map[string]string{"code": prev}), http.StatusOK)
		want(t, b.do("GET", "/api/members", nil), http.StatusOK)
		// ...and replaying it on another login fails.
		c := s.login("acme.localhost:3000", "ada@acme.test")
		r = c.do("POST", "/api/auth/mfa", map[string]string{"code": prev})
		want(t, r, http.StatusUnprocessableEntity)
		// A code two windows old is outside the skew.
		clk.advance(5 * time.Minute)
		want(t, c.do("POST", "/api/auth/mfa", map[string]string{"code": totpCode(t, secret, clk.now().Add(-90*time.Second))}), http.StatusUnprocessableEntity)

		// A recovery code works once.
		want(t, c.do("POST", "/api/auth/mfa", map[string]string{"code": recovery[3]}), http.StatusOK)
		want(t, c.do("GET", "/api/me", nil), http.StatusOK)
		d := s.login("acme.localhost:3000", "ada@acme.test")
		want(t, d.do("POST", "/api/auth/mfa", map[string]string{"code": recovery[3]}), http.StatusUnprocessableEntity)
		var st struct {
			MFA struct {
				TOTP          bool `json:"totp"`
				RecoveryCodes int  `json:"recovery_codes_left"`
			} `json:"mfa"`
		}
		c.do("GET", "/api/mfa", nil).json(t, &st)
		if !st.MFA.TOTP || st.MFA.RecoveryCodes != 9 {
			t.Fatalf("mfa status %+v", st)
		}

		// Regenerating needs a recent login; then the old codes are dead.
		clk.advance(time.Hour)
		r = c.do("POST", "/api/mfa/recovery-codes", nil)
		want(t, r, http.StatusForbidden)
		wantStep(t, r, wire.KindReauthRequired, wire.ReasonLoginNotRecent)
		want(t, c.do("POST", "/api/auth/reauth", map[string]string{"password": testPassword}), http.StatusUnprocessableEntity) // code missing
		want(t, c.do("POST", "/api/auth/reauth", map[string]string{"password": testPassword, "code": totpCode(t, secret, clk.now())}), http.StatusOK)
		want(t, c.do("POST", "/api/mfa/recovery-codes", nil), http.StatusOK)
		want(t, d.do("POST", "/api/auth/mfa", map[string]string{"code": recovery[5]}), http.StatusUnprocessableEntity)

		evs, err := s.st.AllAuditEvents(context.Background(), 0, 200)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, e := range evs {
			seen[e.Action+"/"+e.Outcome] = true
		}
		for _, a := range []string{"mfa.totp.enabled/success", "auth.mfa/success", "auth.mfa/failure", "mfa.recovery_codes.regenerated/success", "auth.reauth/success"} {
			if !seen[a] {
				t.Errorf("no audit event %s", a)
			}
		}
	})
}

// TestTenantRequiresMFA: an owner with a second factor requires one of
// everyone; a member without one is sent to enrolment (and can enrol), not
// locked out; only owners may change the policy.
func TestTenantRequiresMFA(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		owner, _ := s.signUp("acme", "ada@acme.test")
		member := s.member(owner, "carol@acme.test")
		on := map[string]bool{"require": true}
		want(t, owner.do("PUT", "/api/tenant/mfa-policy", on), http.StatusConflict) // owner has no factor yet
		want(t, member.do("PUT", "/api/tenant/mfa-policy", on), http.StatusForbidden)
		want(t, owner.do("PUT", "/api/tenant/mfa-policy", map[string]string{}), http.StatusUnprocessableEntity)
		s.enrolTOTP(owner, "/api/mfa/totp")
		want(t, owner.do("PUT", "/api/tenant/mfa-policy", on), http.StatusOK)

		r := member.do("GET", "/api/members", nil)
		want(t, r, http.StatusForbidden)
		wantStep(t, r, wire.KindMFAEnrolmentRequired, wire.ReasonMFANotEnrolled)
		want(t, member.do("GET", "/api/mfa", nil), http.StatusOK)
		s.enrolTOTP(member, "/api/mfa/totp")
		want(t, member.do("GET", "/api/members", nil), http.StatusOK)
		// The only factor of someone who must have one cannot be removed.
		want(t, member.do("DELETE", "/api/mfa/totp", nil), http.StatusConflict)
	})
}

// TestOperatorMFAMandatory: an operator without a second factor reaches
// only enrolment; once enrolled, every login needs the code.
func TestOperatorMFAMandatory(t *testing.T) {
	s := newStack(t, "sqlite", nil)
	clk := withClock(s)
	op := s.operator("ops@palisade.test") // enrols inside the helper
	want(t, op.do("GET", "/api/hq/tenants", nil), http.StatusOK)

	b := s.browser("admin.localhost:3000")
	want(t, b.do("POST", "/api/hq/auth/login", map[string]string{"email": "ops@palisade.test", "password": testPassword}), http.StatusOK)
	r := b.do("GET", "/api/hq/tenants", nil)
	want(t, r, http.StatusForbidden)
	wantStep(t, r, wire.KindMFARequired, wire.ReasonMFAPending)
	want(t, b.do("POST", "/api/hq/mfa/totp", nil), http.StatusForbidden) // no re-enrolling while half logged in

	var secret string
	if err := s.st.DB().QueryRow(`SELECT secret FROM mfa_totp WHERE subject_type = 'operator'`).Scan(&secret); err != nil {
		t.Fatal(err)
	}
	clk.advance(time.Minute)
	want(t, b.do("POST", "/api/hq/auth/mfa", map[string]string{"code": totpCode(t, secret, clk.now())}), http.StatusOK)
	want(t, b.do("GET", "/api/hq/tenants", nil), http.StatusOK)

	// A brand-new operator is sent to enrolment.
	fresh := s.browser("admin.localhost:3000")
	s.createOperator("new@palisade.test")
	want(t, fresh.do("POST", "/api/hq/auth/login", map[string]string{"email": "new@palisade.test", "password": testPassword}), http.StatusOK)
	r = fresh.do("GET", "/api/hq/tenants", nil)
	want(t, r, http.StatusForbidden)
	wantStep(t, r, wire.KindMFAEnrolmentRequired, wire.ReasonMFANotEnrolled)
	want(t, fresh.do("GET", "/api/hq/mfa", nil), http.StatusOK)
}
