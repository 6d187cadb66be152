package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/testenv"
	"github.com/palisade-hq/palisade/internal/wire"
)

const adminHost = "admin.localhost:3000"

// hqOperator creates an operator, logs in and enrols TOTP; it returns the
// browser, the TOTP secret and the recovery codes (tests give the second
// factor of further logins with recovery codes, which never collide with
// the TOTP replay guard).
func (s *stack) hqOperator(email string) (*browser, string, []string) {
	s.t.Helper()
	if _, err := app.CreateOperator(context.Background(), s.st, auth.Hasher{P: auth.FastParams}, email, "Ops "+email, testPassword); err != nil {
		s.t.Fatal(err)
	}
	b := s.browser(adminHost)
	want(s.t, b.do("POST", "/api/hq/auth/login", map[string]string{"email": email, "password": testPassword}), http.StatusOK)
	secret, codes := s.enrolTOTP(b, "/api/hq/mfa/totp")
	return b, secret, codes
}

// hqLogin logs in to HQ with a password and, if code is set, the second factor.
func (s *stack) hqLogin(email, password, code string) *browser {
	s.t.Helper()
	b := s.browser(adminHost)
	want(s.t, b.do("POST", "/api/hq/auth/login", map[string]string{"email": email, "password": password}), http.StatusOK)
	if code != "" {
		want(s.t, b.do("POST", "/api/hq/auth/mfa", map[string]string{"code": code}), http.StatusOK)
	}
	return b
}

type hqSessionList struct {
	Sessions []struct {
		ID          int64 `json:"id"`
		Current     bool  `json:"current"`
		AwaitingMFA bool  `json:"awaiting_second_factor"`
	} `json:"sessions"`
}

func (b *browser) hqSessions(t *testing.T) hqSessionList {
	t.Helper()
	var l hqSessionList
	r := b.do("GET", "/api/hq/sessions", nil)
	want(t, r, http.StatusOK)
	r.json(t, &l)
	return l
}

// TestHQOperatorInvitation: an operator is invited by a mailed single-use
// link, stored hashed; the newcomer sets their own password (the inviter
// never sees one), accepting is a fresh login that keeps nothing of the
// cookie it came with, and the newcomer must enrol TOTP. A used, expired
// or unknown link is a clear 4xx.
func TestHQOperatorInvitation(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		clk := withClock(s)
		op, _, _ := s.hqOperator("ops@palisade.test")

		r := op.do("POST", "/api/hq/operators", map[string]string{"email": "New@Palisade.test", "name": "Nova"})
		want(t, r, http.StatusCreated)
		// No password of any kind reaches the inviter.
		if strings.Contains(strings.ToLower(string(r.body)), "password") {
			t.Fatalf("invite answer mentions a password: %s", r.body)
		}
		mail := s.lastMail("new@palisade.test")
		if !strings.Contains(mail.Body, "http://admin.localhost:3000/invitations/") {
			t.Fatalf("invitation mail without an HQ link: %s", mail.Body)
		}
		token := linkToken(t, mail.Body, "/invitations/")
		// Stored by hash only.
		var stored string
		if err := s.st.DB().QueryRow(`SELECT token_hash FROM operator_invitations WHERE email = ?`, "new@palisade.test").Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored != auth.HashToken(token) || strings.Contains(stored, token) {
			t.Fatalf("token stored as %q", stored)
		}
		var list struct {
			Invitations []struct{ Email string } `json:"invitations"`
		}
		op.do("GET", "/api/hq/operators", nil).json(t, &list)
		if len(list.Invitations) != 1 || list.Invitations[0].Email != "new@palisade.test" {
			t.Fatalf("pending invitations: %+v", list)
		}

		// Nobody can log in as the newcomer before they chose a password.
		for _, pw := range []string{testPassword, "", token} {
			if pw == "" {
				continue
			}
			want(t, s.browser(adminHost).do("POST", "/api/hq/auth/login", map[string]string{"email": "new@palisade.test", "password": pw}), http.StatusUnauthorized)
		}
		want(t, s.browser(adminHost).do("GET", "/api/hq/invitation-lookup?token="+token, nil), http.StatusOK)
		want(t, s.browser(adminHost).do("GET", "/api/hq/invitation-lookup?token=nope", nil), http.StatusNotFound)
		// The password policy of everywhere else; a refusal changes nothing.
		newcomer := s.browser(adminHost)
		r = newcomer.do("POST", "/api/hq/invitations/accept", map[string]string{"token": token, "password": "short"})
		want(t, r, http.StatusUnprocessableEntity)
		if r.field(t) != "password" {
			t.Fatalf("short password refusal: %s", r.body)
		}
		want(t, newcomer.do("GET", "/api/hq/invitation-lookup?token="+token, nil), http.StatusOK)
		// Tenant hosts have no HQ invitations.
		want(t, s.browser("acme.localhost:3000").do("POST", "/api/hq/invitations/accept", map[string]string{"token": token, "password": "nova's own passphrase"}), http.StatusNotFound)

		// Accepted over the inviter's fully verified session cookie: the
		// result is a fresh session of the newcomer with no second factor
		// proved, and the inviter's session is gone, not inherited.
		for k, v := range op.cookies {
			newcomer.cookies[k] = v
		}
		r = newcomer.do("POST", "/api/hq/invitations/accept", map[string]string{"token": token, "password": "nova's own passphrase"})
		want(t, r, http.StatusOK)
		var acc struct {
			Operator core.Operator `json:"operator"`
		}
		r.json(t, &acc)
		if acc.Operator.Email != "new@palisade.test" || acc.Operator.Name != "Nova" {
			t.Fatalf("accepted: %s", r.body)
		}
		r = newcomer.do("GET", "/api/hq/me", nil)
		want(t, r, http.StatusForbidden)
		wantStep(t, r, wire.KindMFAEnrolmentRequired, wire.ReasonMFANotEnrolled)
		want(t, op.do("GET", "/api/hq/me", nil), http.StatusUnauthorized)

		// Single use.
		r = s.browser(adminHost).do("POST", "/api/hq/invitations/accept", map[string]string{"token": token, "password": "another passphrase here"})
		want(t, r, http.StatusConflict)
		want(t, s.browser(adminHost).do("GET", "/api/hq/invitation-lookup?token="+token, nil), http.StatusConflict)
		want(t, s.browser(adminHost).do("POST", "/api/hq/invitations/accept", map[string]string{"token": "unknown", "password": "another passphrase here"}), http.StatusNotFound)

		// The newcomer's own password logs in, and HQ asks for enrolment.
		nova := s.hqLogin("new@palisade.test", "nova's own passphrase", "")
		r = nova.do("GET", "/api/hq/tenants", nil)
		want(t, r, http.StatusForbidden)
		wantStep(t, r, wire.KindMFAEnrolmentRequired, wire.ReasonMFANotEnrolled)
		s.enrolTOTP(nova, "/api/hq/mfa/totp")
		want(t, nova.do("GET", "/api/hq/me", nil), http.StatusOK)

		// Expired links are refused.
		op2, _, _ := s.hqOperator("ops2@palisade.test")
		want(t, op2.do("POST", "/api/hq/operators", map[string]string{"email": "late@palisade.test", "name": "Late"}), http.StatusCreated)
		late := linkToken(t, s.lastMail("late@palisade.test").Body, "/invitations/")
		clk.advance(s.cfg.InvitationTTL + time.Minute)
		r = s.browser(adminHost).do("POST", "/api/hq/invitations/accept", map[string]string{"token": late, "password": "late but eager passphrase"})
		want(t, r, http.StatusUnprocessableEntity)
		if !strings.Contains(string(r.body), "expired") {
			t.Fatalf("expired refusal: %s", r.body)
		}
		if _, err := s.st.OperatorByEmail(t.Context(), "late@palisade.test"); !core.IsNotFound(err) {
			t.Fatalf("expired invitation created an operator: %v", err)
		}

		all, _ := s.st.AllAuditEvents(t.Context(), 0, 100)
		seen := map[string]string{}
		for _, ev := range all {
			if ev.TenantID == nil && ev.ActorType == "operator" {
				seen[ev.Action] = ev.Target
			}
		}
		for _, a := range []string{"hq.operator.invited", "hq.operator.invitation_accepted"} {
			if !strings.HasPrefix(seen[a], "operator_invitation:") {
				t.Fatalf("%s not on the platform chain: %v", a, seen)
			}
		}
	})
}

// TestHQSecurityPassword: changing the password needs the current one,
// whose wrong guesses count on the login's per-account counter (429 after
// the limit, from any address), and a second-factor code (a stolen session
// plus the password is not enough); a change ends the operator's other
// sessions and keeps this one.
func TestHQSecurityPassword(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		op, _, codes := s.hqOperator("ops@palisade.test")
		other := s.hqLogin("ops@palisade.test", testPassword, codes[0])
		halfway := s.hqLogin("ops@palisade.test", testPassword, "")

		r := op.do("POST", "/api/hq/auth/password", map[string]string{"current_password": "not it at all", "new_password": "a brand new passphrase"})
		want(t, r, http.StatusUnprocessableEntity)
		if r.field(t) != "current_password" {
			t.Fatalf("wrong current: %s", r.body)
		}
		want(t, op.do("POST", "/api/hq/auth/password", map[string]string{"current_password": testPassword, "new_password": "short", "code": codes[3]}), http.StatusUnprocessableEntity)
		for _, code := range []string{"", "000000", "not-a-recovery-code"} {
			r = op.do("POST", "/api/hq/auth/password", map[string]string{"current_password": testPassword, "new_password": "a brand new passphrase", "code": code})
			want(t, r, http.StatusUnprocessableEntity)
			if r.field(t) != "code" {
				t.Fatalf("code %q: %s", code, r.body)
			}
		}
		// Nothing changed: the old password still logs in.
		s.hqLogin("ops@palisade.test", testPassword, codes[4])
		want(t, op.do("POST", "/api/hq/auth/password", map[string]string{"current_password": testPassword, "new_password": "a brand new passphrase", "code": codes[3]}), http.StatusOK)

		want(t, op.do("GET", "/api/hq/me", nil), http.StatusOK)
		want(t, other.do("GET", "/api/hq/me", nil), http.StatusUnauthorized)
		want(t, halfway.do("POST", "/api/hq/auth/mfa", map[string]string{"code": codes[1]}), http.StatusUnauthorized)
		if l := op.hqSessions(t); len(l.Sessions) != 1 || !l.Sessions[0].Current {
			t.Fatalf("sessions after the change: %+v", l)
		}
		want(t, s.browser(adminHost).do("POST", "/api/hq/auth/login", map[string]string{"email": "ops@palisade.test", "password": testPassword}), http.StatusUnauthorized)
		s.hqLogin("ops@palisade.test", "a brand new passphrase", codes[2])

		// The throttle: wrong current passwords from several addresses.
		victim, _, _ := s.hqOperator("victim@palisade.test")
		limit := s.cfg.LoginMaxPerAccount
		for i := range limit {
			victim.xff = fmt.Sprintf("203.0.113.%d", i+1)
			want(t, victim.do("POST", "/api/hq/auth/password", map[string]string{"current_password": fmt.Sprintf("guess %d guess", i), "new_password": "a brand new passphrase"}), http.StatusUnprocessableEntity)
		}
		victim.xff = "198.51.100.7"
		r = victim.do("POST", "/api/hq/auth/password", map[string]string{"current_password": testPassword, "new_password": "a brand new passphrase", "code": "123456"})
		want(t, r, http.StatusTooManyRequests)
		if r.header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
		// The same counter as the login: the account is locked there too.
		want(t, s.browser(adminHost).do("POST", "/api/hq/auth/login", map[string]string{"email": "victim@palisade.test", "password": testPassword}), http.StatusTooManyRequests)
	})
}

// TestHQSecuritySessions: the list holds only live sessions (a logged-out
// one is gone, a password-only one is marked), one can be ended, and "end
// all others" ends a session that made no request since its login.
func TestHQSecuritySessions(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		op, _, codes := s.hqOperator("ops@palisade.test")
		if l := op.hqSessions(t); len(l.Sessions) != 1 || !l.Sessions[0].Current || l.Sessions[0].AwaitingMFA {
			t.Fatalf("one session: %+v", l)
		}
		laptop := s.hqLogin("ops@palisade.test", testPassword, codes[0])
		gone := s.hqLogin("ops@palisade.test", testPassword, codes[1])
		want(t, gone.do("POST", "/api/hq/auth/logout", nil), http.StatusNoContent)
		halfway := s.hqLogin("ops@palisade.test", testPassword, "")
		l := op.hqSessions(t)
		if len(l.Sessions) != 3 {
			t.Fatalf("want this, the laptop and the password-only session: %+v", l)
		}
		awaiting := 0
		for _, x := range l.Sessions {
			if x.AwaitingMFA {
				awaiting++
			}
		}
		if awaiting != 1 {
			t.Fatalf("password-only session not marked: %+v", l)
		}
		// Another operator's sessions are neither listed nor revocable.
		other, _, _ := s.hqOperator("other@palisade.test")
		if ol := other.hqSessions(t); len(ol.Sessions) != 1 {
			t.Fatalf("other operator sees: %+v", ol)
		}
		for _, x := range l.Sessions {
			want(t, other.do("DELETE", fmt.Sprintf("/api/hq/sessions/%d", x.ID), nil), http.StatusNotFound)
		}
		want(t, other.do("DELETE", "/api/hq/sessions/abc", nil), http.StatusUnprocessableEntity)

		var laptopID int64
		for _, x := range l.Sessions {
			if !x.Current && !x.AwaitingMFA {
				laptopID = x.ID
			}
		}
		want(t, op.do("DELETE", fmt.Sprintf("/api/hq/sessions/%d", laptopID), nil), http.StatusNoContent)
		want(t, laptop.do("GET", "/api/hq/me", nil), http.StatusUnauthorized)
		want(t, op.do("DELETE", fmt.Sprintf("/api/hq/sessions/%d", laptopID), nil), http.StatusNotFound)

		// A thief who logged in and waits is ended too.
		quiet := s.hqLogin("ops@palisade.test", testPassword, codes[2])
		var n struct {
			Revoked int `json:"revoked"`
		}
		op.do("POST", "/api/hq/sessions/revoke-others", nil).json(t, &n)
		if n.Revoked != 2 {
			t.Fatalf("revoked %d, want the quiet and the password-only session", n.Revoked)
		}
		want(t, quiet.do("GET", "/api/hq/me", nil), http.StatusUnauthorized)
		want(t, halfway.do("POST", "/api/hq/auth/mfa", map[string]string{"code": codes[3]}), http.StatusUnauthorized)
		want(t, op.do("GET", "/api/hq/me", nil), http.StatusOK)
		if l := op.hqSessions(t); len(l.Sessions) != 1 || !l.Sessions[0].Current {
			t.Fatalf("after revoke-others: %+v", l)
		}
	})
}

// TestHQTOTPReplacement: replacing the authenticator app needs a recent
// login or step-up; the pending secret is kept (a wrong code, or asking
// again, does not replace it) and the old app keeps working until a code
// of the new one confirms it.
func TestHQTOTPReplacement(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		clk := withClock(s)
		op, oldSecret, _ := s.hqOperator("ops@palisade.test")

		clk.advance(11 * time.Minute)
		r := op.do("POST", "/api/hq/mfa/totp/replace", nil)
		want(t, r, http.StatusForbidden)
		wantStep(t, r, wire.KindReauthRequired, wire.ReasonLoginNotRecent)
		r = op.do("POST", "/api/hq/auth/reauth", map[string]string{"password": "wrong password!", "code": totpCode(t, oldSecret, clk.now())})
		want(t, r, http.StatusUnprocessableEntity)
		if r.field(t) != "password" {
			t.Fatalf("wrong step-up password: %s", r.body)
		}
		want(t, op.do("POST", "/api/hq/auth/reauth", map[string]string{"password": testPassword, "code": "000000"}), http.StatusUnprocessableEntity)
		want(t, op.do("POST", "/api/hq/auth/reauth", map[string]string{"password": testPassword, "code": totpCode(t, oldSecret, clk.now())}), http.StatusOK)

		var en struct {
			Secret string `json:"secret"`
		}
		r = op.do("POST", "/api/hq/mfa/totp/replace", nil)
		want(t, r, http.StatusCreated)
		r.json(t, &en)
		if en.Secret == "" || en.Secret == oldSecret {
			t.Fatalf("replacement secret: %s", r.body)
		}
		// A wrong code keeps the pending secret; asking again shows it again.
		want(t, op.do("POST", "/api/hq/mfa/totp/replace/confirm", map[string]string{"code": totpCode(t, oldSecret, clk.now().Add(time.Minute))}), http.StatusUnprocessableEntity)
		var again struct {
			Secret string `json:"secret"`
		}
		op.do("POST", "/api/hq/mfa/totp/replace", nil).json(t, &again)
		if again.Secret != en.Secret {
			t.Fatalf("pending secret replaced: %q then %q", en.Secret, again.Secret)
		}
		// Meanwhile the old app still logs in.
		mid := s.hqLogin("ops@palisade.test", testPassword, totpCode(t, oldSecret, clk.now().Add(30*time.Second)))
		want(t, mid.do("GET", "/api/hq/me", nil), http.StatusOK)

		r = op.do("POST", "/api/hq/mfa/totp/replace/confirm", map[string]string{"code": totpCode(t, en.Secret, clk.now())})
		want(t, r, http.StatusOK)
		var out struct {
			RecoveryCodes []string `json:"recovery_codes"`
		}
		r.json(t, &out)
		if len(out.RecoveryCodes) != 10 {
			t.Fatalf("recovery codes: %s", r.body)
		}
		want(t, op.do("POST", "/api/hq/mfa/totp/replace/confirm", map[string]string{"code": totpCode(t, en.Secret, clk.now())}), http.StatusUnprocessableEntity)
		want(t, op.do("DELETE", "/api/hq/mfa/totp/replace", nil), http.StatusNotFound)

		// Now only the new app works.
		clk.advance(2 * time.Minute)
		b := s.hqLogin("ops@palisade.test", testPassword, "")
		want(t, b.do("POST", "/api/hq/auth/mfa", map[string]string{"code": totpCode(t, oldSecret, clk.now())}), http.StatusUnprocessableEntity)
		want(t, b.do("POST", "/api/hq/auth/mfa", map[string]string{"code": totpCode(t, en.Secret, clk.now())}), http.StatusOK)

		// A started replacement can be cancelled; the app in use stays.
		want(t, b.do("POST", "/api/hq/mfa/totp/replace", nil), http.StatusCreated)
		want(t, b.do("DELETE", "/api/hq/mfa/totp/replace", nil), http.StatusNoContent)
		var st struct {
			MFA struct {
				TOTP bool `json:"totp"`
			} `json:"mfa"`
		}
		b.do("GET", "/api/hq/mfa", nil).json(t, &st)
		if !st.MFA.TOTP {
			t.Fatal("cancelling the replacement removed the app")
		}
	})
}
