package api_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/testenv"
)

const acmeHost = "acme.localhost:3000"

// throttleEnv leaves only the per-account throttle (5 failures) in play:
// the request rate limits are off and the per-address counter is high, so
// a 429 can only come from the account's counter.
func throttleEnv() map[string]string {
	return map[string]string{
		"PALISADE_LOGIN_MAX_FAILURES_ACCOUNT": "5", "PALISADE_LOGIN_MAX_FAILURES_IP": "1000",
		"PALISADE_RATE_LIMIT_AUTH_PER_IP": "0", "PALISADE_RATE_LIMIT_AUTH_PER_TENANT": "0",
		"PALISADE_RATE_LIMIT_API_PER_IP": "0", "PALISADE_RATE_LIMIT_API_PER_TENANT": "0",
	}
}

// from makes b's next requests come from ip, through the trusted proxy.
func from(b *browser, ip string) *browser { b.xff = ip; return b }

// wantThrottled checks a 429 that says how long to wait, in the header and
// in words.
func wantThrottled(t *testing.T, r resp) {
	t.Helper()
	want(t, r, http.StatusTooManyRequests)
	if ra, _ := strconv.Atoi(r.header.Get("Retry-After")); ra <= 0 || ra > 15*60 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	if !strings.Contains(string(r.body), "try again in") {
		t.Fatalf("the refusal does not say how long to wait: %s", r.body)
	}
}

// wrongCode is a 6-digit code that is not secret's at now (nor in the
// steps around it).
func wrongCode(t *testing.T, secret string, now time.Time) string {
	t.Helper()
	for i := 0; ; i++ {
		c := fmt.Sprintf("%06d", (123456+i*111111)%1000000)
		if c != totpCode(t, secret, now) && c != totpCode(t, secret, now.Add(-30*time.Second)) && c != totpCode(t, secret, now.Add(30*time.Second)) {
			return c
		}
	}
}

// TestSecondFactorThrottledPerAccount: wrong TOTP and recovery codes count
// on one per-account counter, wherever they are typed (the login's second
// step, re-authentication) and whatever address and session they come
// from; once it is full even the right code is refused with 429 and
// Retry-After. The same holds for an operator's codes at HQ.
func TestSecondFactorThrottledPerAccount(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, throttleEnv())
		clk := withClock(s)
		owner, _ := s.signUp("acme", "ada@acme.test")
		secret, recovery := s.enrolTOTP(owner, "/api/mfa/totp")

		// Five failures, each from its own address and its own
		// half-logged-in session: three wrong TOTP codes, a wrong recovery
		// code, and a wrong code at re-authentication in the full session.
		for i := range 3 {
			b := from(s.browser(acmeHost), fmt.Sprintf("198.51.100.%d", i+1))
			want(t, b.do("POST", "/api/auth/login", map[string]string{"email": "ada@acme.test", "password": testPassword}), http.StatusOK)
			want(t, b.do("POST", "/api/auth/mfa", map[string]string{"code": wrongCode(t, secret, clk.now())}), http.StatusUnprocessableEntity)
		}
		b := from(s.browser(acmeHost), "198.51.100.4")
		want(t, b.do("POST", "/api/auth/login", map[string]string{"email": "ada@acme.test", "password": testPassword}), http.StatusOK)
		want(t, b.do("POST", "/api/auth/mfa", map[string]string{"code": "zzzz-zzzz-zzzz"}), http.StatusUnprocessableEntity)
		from(owner, "198.51.100.5")
		want(t, owner.do("POST", "/api/auth/reauth", map[string]string{"password": testPassword, "code": wrongCode(t, secret, clk.now())}), http.StatusUnprocessableEntity)

		// Now the right code and a real recovery code are refused too,
		// from yet another address.
		clk.advance(30 * time.Second)
		c := from(s.browser(acmeHost), "203.0.113.9")
		want(t, c.do("POST", "/api/auth/login", map[string]string{"email": "ada@acme.test", "password": testPassword}), http.StatusOK)
		wantThrottled(t, c.do("POST", "/api/auth/mfa", map[string]string{"code": totpCode(t, secret, clk.now())}))
		wantThrottled(t, c.do("POST", "/api/auth/mfa", map[string]string{"code": recovery[0]}))
		want(t, c.do("GET", "/api/me", nil), http.StatusForbidden) // still only half logged in
		wantThrottled(t, owner.do("POST", "/api/auth/reauth", map[string]string{"password": testPassword, "code": totpCode(t, secret, clk.now())}))

		// An operator's codes at HQ count the same way.
		s.operator("op@palisade.test")
		opSecret := s.totpSecretOf(t, "operator")
		for i := range 5 {
			h := from(s.browser("admin.localhost:3000"), fmt.Sprintf("192.0.2.%d", i+1))
			want(t, h.do("POST", "/api/hq/auth/login", map[string]string{"email": "op@palisade.test", "password": testPassword}), http.StatusOK)
			want(t, h.do("POST", "/api/hq/auth/mfa", map[string]string{"code": wrongCode(t, opSecret, clk.now())}), http.StatusUnprocessableEntity)
		}
		clk.advance(30 * time.Second)
		h := from(s.browser("admin.localhost:3000"), "192.0.2.99")
		want(t, h.do("POST", "/api/hq/auth/login", map[string]string{"email": "op@palisade.test", "password": testPassword}), http.StatusOK)
		wantThrottled(t, h.do("POST", "/api/hq/auth/mfa", map[string]string{"code": totpCode(t, opSecret, clk.now())}))
		want(t, h.do("GET", "/api/hq/me", nil), http.StatusForbidden)
	})
}

// totpSecretOf reads the (single) TOTP secret of a subject type.
func (s *stack) totpSecretOf(t *testing.T, subjectType string) string {
	t.Helper()
	var secret string
	if err := s.st.DB().QueryRow(`SELECT secret FROM mfa_totp WHERE subject_type = ?`, subjectType).Scan(&secret); err != nil {
		t.Fatal(err)
	}
	return secret
}

// TestPasswordChecksShareTheLoginThrottle: re-authentication, the current
// password of a password change and the login form count wrong passwords
// on the same per-account counter, across addresses; once it is full, the
// right password is refused by all three with 429 and Retry-After.
func TestPasswordChecksShareTheLoginThrottle(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, throttleEnv())
		owner, _ := s.signUp("acme", "ada@acme.test")
		const wrong = "not the password at all"
		for i := range 2 {
			want(t, from(owner, fmt.Sprintf("198.51.100.%d", i+1)).do("POST", "/api/auth/reauth", map[string]string{"password": wrong}), http.StatusUnprocessableEntity)
		}
		for i := range 2 {
			want(t, from(owner, fmt.Sprintf("198.51.100.%d", i+11)).do("POST", "/api/auth/password", map[string]string{"current_password": wrong, "new_password": "a brand new passphrase"}), http.StatusUnprocessableEntity)
		}
		want(t, from(s.browser(acmeHost), "198.51.100.21").do("POST", "/api/auth/login", map[string]string{"email": "ada@acme.test", "password": wrong}), http.StatusUnauthorized)

		from(owner, "203.0.113.1")
		wantThrottled(t, owner.do("POST", "/api/auth/reauth", map[string]string{"password": testPassword}))
		wantThrottled(t, owner.do("POST", "/api/auth/password", map[string]string{"current_password": testPassword, "new_password": "a brand new passphrase"}))
		wantThrottled(t, from(s.browser(acmeHost), "203.0.113.2").do("POST", "/api/auth/login", map[string]string{"email": "ada@acme.test", "password": testPassword}))
		// Nothing was changed: the session still works, and the password
		// is the old one (the login refused above was the throttle's).
		want(t, owner.do("GET", "/api/me", nil), http.StatusOK)
		if u, err := s.st.UserByEmail(t.Context(), "ada@acme.test"); err != nil {
			t.Fatal(err)
		} else if ok, _ := (auth.Hasher{P: auth.FastParams}).Verify(testPassword, u.PasswordHash); !ok {
			t.Fatal("the password was changed by a refused request")
		}
	})
}

// TestPasskeyFailuresThrottledPerAccount: failed passkey assertions count
// per account (the passwordless login and the second step share the
// counter), across addresses; then even a good assertion gets 429.
func TestPasskeyFailuresThrottledPerAccount(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, throttleEnv())
		owner, _ := s.signUp("acme", "ada@acme.test")
		const origin = "http://" + acmeHost
		key := newSoftAuthenticator(t)
		registerPasskey(t, owner, key, origin, "Laptop")

		forge := func(b *browser, begin string) map[string]any {
			r := b.do("POST", begin, nil)
			want(t, r, http.StatusOK)
			var o publicKeyOptions
			r.json(t, &o)
			a := key.get(t, o.PublicKey.RPID, origin, o.PublicKey.Challenge)
			a["response"].(map[string]any)["signature"] = b64.EncodeToString([]byte("0D\x02 not a signature"))
			return a
		}
		good := func(b *browser, begin string) map[string]any {
			r := b.do("POST", begin, nil)
			want(t, r, http.StatusOK)
			var o publicKeyOptions
			r.json(t, &o)
			return key.get(t, o.PublicKey.RPID, origin, o.PublicKey.Challenge)
		}
		for i := range 3 {
			b := from(s.browser(acmeHost), fmt.Sprintf("198.51.100.%d", i+1))
			want(t, b.do("POST", "/api/auth/passkey/finish", forge(b, "/api/auth/passkey/begin")), http.StatusUnprocessableEntity)
		}
		for i := range 2 {
			b := from(s.login(acmeHost, "ada@acme.test"), fmt.Sprintf("198.51.100.%d", i+11))
			want(t, b.do("POST", "/api/auth/mfa/passkey/finish", forge(b, "/api/auth/mfa/passkey/begin")), http.StatusUnprocessableEntity)
		}
		b := from(s.browser(acmeHost), "203.0.113.1")
		wantThrottled(t, b.do("POST", "/api/auth/passkey/finish", good(b, "/api/auth/passkey/begin")))
		want(t, b.do("GET", "/api/me", nil), http.StatusUnauthorized)
		m := from(s.login(acmeHost, "ada@acme.test"), "203.0.113.2")
		wantThrottled(t, m.do("POST", "/api/auth/mfa/passkey/finish", good(m, "/api/auth/mfa/passkey/begin")))
		want(t, m.do("GET", "/api/me", nil), http.StatusForbidden)
	})
}

// TestPasskeyLoginRequiresUserVerification: a passwordless login is both
// factors only if the authenticator verified its user. An assertion of a
// registered key with flags 0x01 (present, not verified) is refused with a
// message, and logs nobody in; the same key with 0x05 (verified) logs in.
func TestPasskeyLoginRequiresUserVerification(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		owner, _ := s.signUp("acme", "ada@acme.test")
		const origin = "http://" + acmeHost
		key := newSoftAuthenticator(t) // registered with UV set (0x45)
		registerPasskey(t, owner, key, origin, "Laptop")

		login := func(flags byte) (*browser, resp) {
			b := s.browser(acmeHost)
			r := b.do("POST", "/api/auth/passkey/begin", nil)
			want(t, r, http.StatusOK)
			var o struct {
				PublicKey struct {
					Challenge        string `json:"challenge"`
					RPID             string `json:"rpId"`
					UserVerification string `json:"userVerification"`
				} `json:"publicKey"`
			}
			r.json(t, &o)
			if o.PublicKey.UserVerification != "required" {
				t.Fatalf("the login ceremony does not require user verification: %s", r.body)
			}
			return b, b.do("POST", "/api/auth/passkey/finish", key.getFlags(t, o.PublicKey.RPID, origin, o.PublicKey.Challenge, flags))
		}
		b, r := login(0x01)
		want(t, r, http.StatusUnprocessableEntity)
		if r.field(t) != "credential" || !strings.Contains(string(r.body), "confirm it's you") {
			t.Fatalf("refusal: %s", r.body)
		}
		want(t, b.do("GET", "/api/me", nil), http.StatusUnauthorized)

		b, r = login(0x05)
		want(t, r, http.StatusOK)
		want(t, b.do("GET", "/api/me", nil), http.StatusOK)
	})
}

// TestPasskeyLockoutNeedsTheUsersCredential: passkey failures count on an
// account only when the assertion names one of its credentials. A stranger
// who claims the user's handle with a key of their own (from many
// addresses) cannot lock the user out of their passkey; a thief with the
// user's own authenticator but not its PIN (UV=0) is locked out after the
// per-account limit, from any address.
func TestPasskeyLockoutNeedsTheUsersCredential(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		owner, _ := s.signUp("acme", "ada@acme.test")
		const origin = "http://" + acmeHost
		key := newSoftAuthenticator(t)
		registerPasskey(t, owner, key, origin, "Laptop")
		stranger := newSoftAuthenticator(t)
		stranger.userHandle = key.userHandle // the claim anyone can make

		login := func(a *softAuthenticator, flags byte, ip string) resp {
			b := s.browser(acmeHost)
			b.xff = ip
			r := b.do("POST", "/api/auth/passkey/begin", nil)
			want(t, r, http.StatusOK)
			var o struct {
				PublicKey struct {
					Challenge string `json:"challenge"`
					RPID      string `json:"rpId"`
				} `json:"publicKey"`
			}
			r.json(t, &o)
			return b.do("POST", "/api/auth/passkey/finish", a.getFlags(t, o.PublicKey.RPID, origin, o.PublicKey.Challenge, flags))
		}
		limit := s.cfg.LoginMaxPerAccount
		for i := range limit + 2 {
			if r := login(stranger, 0x05, fmt.Sprintf("203.0.113.%d", i+1)); r.status == http.StatusOK || r.status == http.StatusTooManyRequests {
				t.Fatalf("stranger's assertion %d: %d %s", i, r.status, r.body)
			}
		}
		want(t, login(key, 0x05, "198.51.100.1"), http.StatusOK)

		for i := range limit {
			want(t, login(key, 0x01, fmt.Sprintf("192.0.2.%d", i+1)), http.StatusUnprocessableEntity)
		}
		r := login(key, 0x05, "198.51.100.2")
		want(t, r, http.StatusTooManyRequests)
		if r.header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	})
}

// TestEndOtherSessionsEndsUnusedSessions: a session is listed and can be
// ended from its login on, before it makes any request: "end other
// sessions" ends a password thief's session that has only logged in (its
// first request is refused), and a half-logged-in one that has not yet
// given the second factor (which then cannot be given).
func TestEndOtherSessionsEndsUnusedSessions(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		clk := withClock(s)
		owner, _ := s.signUp("acme", "ada@acme.test")

		thief := s.login(acmeHost, "ada@acme.test") // and waits
		r := owner.do("POST", "/api/sessions/revoke-others", nil)
		want(t, r, http.StatusOK)
		var out struct {
			Revoked int `json:"revoked"`
		}
		r.json(t, &out)
		if out.Revoked != 1 {
			t.Fatalf("revoked %d sessions, want 1", out.Revoked)
		}
		want(t, thief.do("GET", "/api/me", nil), http.StatusUnauthorized)
		want(t, owner.do("GET", "/api/me", nil), http.StatusOK)

		// With a second factor: the thief has the password only and waits.
		secret, _ := s.enrolTOTP(owner, "/api/mfa/totp")
		half := s.login(acmeHost, "ada@acme.test")
		want(t, owner.do("POST", "/api/sessions/revoke-others", nil), http.StatusOK)
		clk.advance(30 * time.Second)
		want(t, half.do("POST", "/api/auth/mfa", map[string]string{"code": totpCode(t, secret, clk.now())}), http.StatusUnauthorized)
		want(t, half.do("GET", "/api/me", nil), http.StatusUnauthorized)
		want(t, owner.do("GET", "/api/me", nil), http.StatusOK)
	})
}

// TestTOTPSetupKeepsPendingSecret: a wrong code while setting up an
// authenticator app keeps the secret the app already holds; starting again
// shows the same one, and its code then confirms. Only cancelling ends the
// pending enrolment. The same at HQ.
func TestTOTPSetupKeepsPendingSecret(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		owner, _ := s.signUp("acme", "ada@acme.test")
		start := func(b *browser, prefix string) string {
			r := b.do("POST", prefix, nil)
			want(t, r, http.StatusCreated)
			var en struct {
				Secret string `json:"secret"`
			}
			r.json(t, &en)
			return en.Secret
		}
		for _, c := range []struct {
			b      *browser
			prefix string
		}{{owner, "/api/mfa/totp"}, {s.hqLoginOnly(t, "op@palisade.test"), "/api/hq/mfa/totp"}} {
			first := start(c.b, c.prefix)
			want(t, c.b.do("POST", c.prefix+"/confirm", map[string]string{"code": wrongCode(t, first, time.Now())}), http.StatusUnprocessableEntity)
			if again := start(c.b, c.prefix); again != first {
				t.Fatalf("%s: a wrong code replaced the pending secret", c.prefix)
			}
			want(t, c.b.do("POST", c.prefix+"/confirm", map[string]string{"code": totpCode(t, first, time.Now())}), http.StatusOK)
		}

		// Cancelling a pending enrolment ends it: the next start is new.
		m := s.member(owner, "mia@acme.test")
		first := start(m, "/api/mfa/totp")
		want(t, m.do("DELETE", "/api/mfa/totp", nil), http.StatusNoContent)
		if start(m, "/api/mfa/totp") == first {
			t.Fatal("a cancelled enrolment's secret came back")
		}
	})
}

// hqLoginOnly creates an operator and logs it in with its password, before
// any second factor exists (HQ sends it to enrolment).
func (s *stack) hqLoginOnly(t *testing.T, email string) *browser {
	t.Helper()
	s.createOperator(email)
	b := s.browser("admin.localhost:3000")
	want(t, b.do("POST", "/api/hq/auth/login", map[string]string{"email": email, "password": testPassword}), http.StatusOK)
	return b
}

type listedSession struct {
	ID       int64 `json:"id"`
	Current  bool  `json:"current"`
	Awaiting bool  `json:"awaiting_second_factor"`
}

func (s *stack) sessionsOf(t *testing.T, b *browser) []listedSession {
	t.Helper()
	r := b.do("GET", "/api/sessions", nil)
	want(t, r, http.StatusOK)
	var out struct {
		Sessions []listedSession `json:"sessions"`
	}
	r.json(t, &out)
	return out.Sessions
}

// TestSessionListIsTrue: the sessions page lists exactly the sessions whose
// cookies still work. A login finished with the second factor is one
// session (its pre-MFA token is not left behind), a logged-out one is gone,
// one that has given only the password is listed as such (and ending it
// works), and after a password change the sessions it ended are gone.
func TestSessionListIsTrue(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		clk := withClock(s)
		owner, _ := s.signUp("acme", "ada@acme.test")
		secret, _ := s.enrolTOTP(owner, "/api/mfa/totp")

		laptop := s.mfaBrowser(clk, acmeHost, "/api/auth/login", "/api/auth/mfa", "ada@acme.test", secret)
		want(t, laptop.do("GET", "/api/me", nil), http.StatusOK)
		if l := s.sessionsOf(t, owner); len(l) != 2 || l[0].Awaiting || l[1].Awaiting {
			t.Fatalf("after a login with the second factor: %+v, want 2 full sessions", l)
		}
		want(t, laptop.do("POST", "/api/auth/logout", nil), http.StatusNoContent)
		if l := s.sessionsOf(t, owner); len(l) != 1 || !l[0].Current {
			t.Fatalf("after logging out: %+v, want only this one", l)
		}

		half := s.login(acmeHost, "ada@acme.test")
		l := s.sessionsOf(t, owner)
		var halfID int64
		for _, x := range l {
			if x.Awaiting {
				halfID = x.ID
			}
		}
		if len(l) != 2 || halfID == 0 {
			t.Fatalf("with a password-only session: %+v, want it listed as awaiting the second factor", l)
		}
		want(t, owner.do("DELETE", fmt.Sprintf("/api/sessions/%d", halfID), nil), http.StatusNoContent)
		clk.advance(30 * time.Second)
		want(t, half.do("POST", "/api/auth/mfa", map[string]string{"code": totpCode(t, secret, clk.now())}), http.StatusUnauthorized)
		if l := s.sessionsOf(t, owner); len(l) != 1 {
			t.Fatalf("after ending the half session: %+v", l)
		}

		// A password change ends every other session: none stays listed.
		tablet := s.mfaBrowser(clk, acmeHost, "/api/auth/login", "/api/auth/mfa", "ada@acme.test", secret)
		clk.advance(30 * time.Second)
		want(t, owner.do("POST", "/api/auth/password", map[string]string{"current_password": testPassword, "new_password": "a brand new passphrase", "code": totpCode(t, secret, clk.now())}), http.StatusOK)
		if l := s.sessionsOf(t, owner); len(l) != 1 || !l[0].Current {
			t.Fatalf("after a password change: %+v, want only this one", l)
		}
		want(t, tablet.do("GET", "/api/me", nil), http.StatusUnauthorized)
	})
}

// TestPasswordThrottleSpansOrganisations: a user has one password for all
// her organisations, so failures at any of them count on one counter; a
// guesser gains no extra attempts from her second membership.
func TestPasswordThrottleSpansOrganisations(t *testing.T) {
	s := newStack(t, "sqlite", map[string]string{
		"PALISADE_LOGIN_MAX_FAILURES_ACCOUNT": "4", "PALISADE_LOGIN_MAX_FAILURES_IP": "1000",
	})
	s.signUp("alpha", "ann@alpha.test")
	beta, _ := s.signUp("beta", "bob@beta.test")
	want(t, beta.do("POST", "/api/invitations", map[string]string{"email": "ann@alpha.test", "role": "member"}), http.StatusCreated)
	tok := linkToken(t, s.lastMail("ann@alpha.test").Body, "/invitations/")
	want(t, s.browser("beta.localhost:3000").do("POST", "/api/invitations/accept", map[string]string{"token": tok, "password": testPassword}), http.StatusOK)

	login := func(host, pw string) resp {
		return s.browser(host).do("POST", "/api/auth/login", map[string]string{"email": "ann@alpha.test", "password": pw})
	}
	for i, host := range []string{"alpha.localhost:3000", "beta.localhost:3000", "alpha.localhost:3000", "beta.localhost:3000"} {
		if r := login(host, "not her password"); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d at %s: %d %s", i+1, host, r.status, r.body)
		}
	}
	for _, host := range []string{"alpha.localhost:3000", "beta.localhost:3000"} {
		r := login(host, testPassword)
		want(t, r, http.StatusTooManyRequests)
		if r.header.Get("Retry-After") == "" {
			t.Fatalf("429 at %s without Retry-After", host)
		}
	}
	// Another user of the same organisation is not locked with her.
	want(t, s.browser("beta.localhost:3000").do("POST", "/api/auth/login", map[string]string{"email": "bob@beta.test", "password": testPassword}), http.StatusOK)
}
