package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/session"
	"github.com/palisade-hq/palisade/internal/testenv"
	"github.com/palisade-hq/palisade/internal/wire"
)

// storedSession reads a session's values straight from the store (Redis),
// under its realm's key space; nil if the realm knows no such token.
func (s *stack) storedSession(realm session.Realm, token string) map[string]any {
	s.t.Helper()
	if token == "" {
		return nil
	}
	b, err := s.rdb.Get(context.Background(), s.cfg.RedisPrefix+"session:"+string(realm)+":"+token).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		s.t.Fatal(err)
	}
	_, vals, err := scs.GobCodec{}.Decode(b)
	if err != nil {
		s.t.Fatal(err)
	}
	return vals
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Exactly what a login puts in a session: nothing else survives.
var (
	tenantPasswordKeys = []string{"created_at", "realm", "tenant_id", "user_id", "valid_from_ms"}
	tenantPasskeyKeys  = []string{"auth_at", "created_at", "mfa_at", "realm", "tenant_id", "user_id", "valid_from_ms"}
	operatorKeys       = []string{"created_at", "operator_id", "realm"}
)

// mfaBrowser logs email in on host with the password and a fresh TOTP
// code: a fully verified session, with mfa_at and auth_at.
func (s *stack) mfaBrowser(clk *clock, host, loginPath, mfaPath, email, secret string) *browser {
	s.t.Helper()
	b := s.browser(host)
	want(s.t, b.do("POST", loginPath, map[string]string{"email": email, "password": testPassword}), http.StatusOK)
	clk.advance(30 * time.Second) // every code of a subject must be from a newer time step
	want(s.t, b.do("POST", mfaPath, map[string]string{"code": totpCode(s.t, secret, clk.now())}), http.StatusOK)
	return b
}

// TestLoginIsANewSession drives every login path over every kind of
// session a request may already carry. Whatever the request brought, the
// login's session holds only what this login proved, for the subject it
// proved it for, and answers /api/me or /api/hq/me as a fresh login does;
// the session it replaced is gone; a token of one realm is unknown in the
// other.
func TestLoginIsANewSession(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, map[string]string{
			"PALISADE_RATE_LIMIT_AUTH_PER_IP": "0", "PALISADE_RATE_LIMIT_AUTH_PER_TENANT": "0",
			"PALISADE_RATE_LIMIT_API_PER_IP": "0", "PALISADE_RATE_LIMIT_API_PER_TENANT": "0",
			// The refused logins below fail once per prior state.
			"PALISADE_LOGIN_MAX_FAILURES_ACCOUNT": "100", "PALISADE_LOGIN_MAX_FAILURES_IP": "100",
		})
		clk := withClock(s)
		const acme, globex, admin = "acme.localhost:3000", "globex.localhost:3000", "admin.localhost:3000"
		owner, _ := s.signUp("acme", "ada@acme.test")
		bob, _ := s.signUp("globex", "bob@globex.test")
		bobSecret, _ := s.enrolTOTP(bob, "/api/mfa/totp")
		eve := s.member(owner, "eve@acme.test")
		eveSecret, _ := s.enrolTOTP(eve, "/api/mfa/totp")
		victim := s.member(owner, "vic@acme.test")
		s.enrolTOTP(victim, "/api/mfa/totp")
		s.operator("op1@palisade.test")
		var op1Secret string
		if err := s.st.DB().QueryRow(`SELECT secret FROM mfa_totp WHERE subject_type = 'operator'`).Scan(&op1Secret); err != nil {
			t.Fatal(err)
		}
		s.operator("op2@palisade.test") // enrolled: a password alone must not get past HQ's gate

		// A passkey-only member of acme, for the passwordless path.
		pk := s.member(owner, "pk@acme.test")
		auth := newSoftAuthenticator(t)
		var opts publicKeyOptions
		r := pk.do("POST", "/api/mfa/passkeys/begin", nil)
		want(t, r, http.StatusOK)
		r.json(t, &opts)
		handle, _ := b64.DecodeString(opts.PublicKey.User.ID)
		want(t, pk.do("POST", "/api/mfa/passkeys/finish?name=Key", auth.create(opts.PublicKey.RP.ID, "http://"+acme, opts.PublicKey.Challenge, handle)), http.StatusCreated)

		// Existing accounts with an authenticator app, each invited to acme
		// once (enrolled now, while step-up is fresh).
		var invitees []string
		for i := range 8 {
			email := fmt.Sprintf("inv%d@elsewhere.test", i)
			b, _ := s.signUp(fmt.Sprintf("inv%d", i), email)
			s.enrolTOTP(b, "/api/mfa/totp")
			invitees = append(invitees, email)
		}

		type prior struct {
			name string
			make func() map[string]string // the cookies the request carries
		}
		priors := []prior{
			{"none", func() map[string]string { return map[string]string{} }},
			{"anonymous", func() map[string]string {
				b := s.browser(acme)
				want(t, b.do("POST", "/api/auth/passkey/begin", nil), http.StatusOK)
				return b.cookies
			}},
			{"other user's MFA session, same tenant", func() map[string]string {
				return s.mfaBrowser(clk, acme, "/api/auth/login", "/api/auth/mfa", "eve@acme.test", eveSecret).cookies
			}},
			{"other user's MFA session, other tenant", func() map[string]string {
				return s.mfaBrowser(clk, globex, "/api/auth/login", "/api/auth/mfa", "bob@globex.test", bobSecret).cookies
			}},
			{"operator's MFA session", func() map[string]string {
				return s.mfaBrowser(clk, admin, "/api/hq/auth/login", "/api/hq/auth/mfa", "op1@palisade.test", op1Secret).cookies
			}},
			{"tenant token as the HQ cookie", func() map[string]string {
				c := s.mfaBrowser(clk, acme, "/api/auth/login", "/api/auth/mfa", "eve@acme.test", eveSecret).cookies
				return map[string]string{session.OperatorCookie: c[session.TenantCookie]}
			}},
			{"HQ token as the tenant cookie", func() map[string]string {
				c := s.mfaBrowser(clk, admin, "/api/hq/auth/login", "/api/hq/auth/mfa", "op1@palisade.test", op1Secret).cookies
				return map[string]string{session.TenantCookie: c[session.OperatorCookie]}
			}},
		}

		type outcome struct {
			realm    session.Realm
			keys     []string // exactly the session's keys
			subject  string   // user_id or operator_id key
			subjID   int64
			me       int    // status of /api/me or /api/hq/me
			meStep   bool   // refused as mfa_required (the second factor is missing)
			meEmail  string // who /api/me names when 200
			noSwitch bool   // the path logs nobody in: the session must not name the subject
			refused  bool   // the login is refused: both realms stay exactly as they were
			host     string // filled in: where the login happened
		}
		userID := func(email string) int64 {
			u, err := s.st.UserByEmail(context.Background(), email)
			if err != nil {
				t.Fatal(err)
			}
			return u.ID
		}
		operatorID := func(email string) int64 {
			o, err := s.st.OperatorByEmail(context.Background(), email)
			if err != nil {
				t.Fatal(err)
			}
			return o.ID
		}
		n := 0
		type path struct {
			name  string
			login func(b *browser) (host string, out outcome)
		}
		paths := []path{
			{"tenant password login", func(b *browser) (string, outcome) {
				b.host = acme
				want(t, b.do("POST", "/api/auth/login", map[string]string{"email": "vic@acme.test", "password": testPassword}), http.StatusOK)
				return acme, outcome{realm: session.RealmTenant, keys: tenantPasswordKeys, subject: session.KeyUserID, subjID: userID("vic@acme.test"), me: http.StatusForbidden, meStep: true}
			}},
			{"passkey login", func(b *browser) (string, outcome) {
				b.host = acme
				r := b.do("POST", "/api/auth/passkey/begin", nil)
				want(t, r, http.StatusOK)
				var o publicKeyOptions
				r.json(t, &o)
				want(t, b.do("POST", "/api/auth/passkey/finish", auth.get(t, o.PublicKey.RPID, "http://"+acme, o.PublicKey.Challenge)), http.StatusOK)
				return acme, outcome{realm: session.RealmTenant, keys: tenantPasskeyKeys, subject: session.KeyUserID, subjID: userID("pk@acme.test"), me: http.StatusOK, meEmail: "pk@acme.test"}
			}},
			{"sign-up hand-off", func(b *browser) (string, outcome) {
				slug := fmt.Sprintf("ho%d", n)
				email := slug + "@handoff.test"
				r := s.browser("localhost:3000").do("POST", "/api/signup", map[string]string{"organisation_name": "HO", "slug": slug, "name": "Hand Off", "email": email, "password": testPassword})
				want(t, r, http.StatusCreated)
				var su struct {
					LoginURL string `json:"login_url"`
				}
				r.json(t, &su)
				_, tok, _ := strings.Cut(su.LoginURL, "token=")
				b.host = slug + ".localhost:3000"
				want(t, b.do("POST", "/api/auth/handoff", map[string]string{"token": tok}), http.StatusOK)
				return b.host, outcome{realm: session.RealmTenant, keys: tenantPasswordKeys, subject: session.KeyUserID, subjID: userID(email), me: http.StatusOK, meEmail: email}
			}},
			{"invitation accepted with an existing account", func(b *browser) (string, outcome) {
				email := invitees[0]
				invitees = invitees[1:]
				want(t, owner.do("POST", "/api/invitations", map[string]string{"email": email, "role": "member"}), http.StatusCreated)
				tok := linkToken(t, s.lastMail(email).Body, "/invitations/")
				b.host = acme
				want(t, b.do("POST", "/api/invitations/accept", map[string]string{"token": tok, "password": testPassword}), http.StatusOK)
				return acme, outcome{realm: session.RealmTenant, keys: tenantPasswordKeys, subject: session.KeyUserID, subjID: userID(email), me: http.StatusForbidden, meStep: true}
			}},
			{"password reset", func(b *browser) (string, outcome) {
				want(t, s.browser(acme).do("POST", "/api/auth/password-reset", map[string]string{"email": "vic@acme.test"}), http.StatusAccepted)
				tok := linkToken(t, s.lastMail("vic@acme.test").Body, "token=")
				b.host = acme
				want(t, b.do("POST", "/api/auth/password-reset/confirm", map[string]string{"token": tok, "password": testPassword}), http.StatusOK)
				return acme, outcome{realm: session.RealmTenant, subject: session.KeyUserID, subjID: userID("vic@acme.test"), noSwitch: true}
			}},
			{"invitation accepted with a new account", func(b *browser) (string, outcome) {
				email := fmt.Sprintf("new%d@acme.test", n)
				want(t, owner.do("POST", "/api/invitations", map[string]string{"email": email, "role": "member"}), http.StatusCreated)
				tok := linkToken(t, s.lastMail(email).Body, "/invitations/")
				b.host = acme
				want(t, b.do("POST", "/api/invitations/accept", map[string]string{"token": tok, "name": "New Member", "password": testPassword}), http.StatusOK)
				return acme, outcome{realm: session.RealmTenant, keys: tenantPasswordKeys, subject: session.KeyUserID, subjID: userID(email), me: http.StatusOK, meEmail: email}
			}},
			{"refused tenant login", func(b *browser) (string, outcome) {
				b.host = acme
				want(t, b.do("POST", "/api/auth/login", map[string]string{"email": "vic@acme.test", "password": "not the password at all"}), http.StatusUnauthorized)
				return acme, outcome{realm: session.RealmTenant, refused: true}
			}},
			{"refused HQ login", func(b *browser) (string, outcome) {
				b.host = admin
				want(t, b.do("POST", "/api/hq/auth/login", map[string]string{"email": "op2@palisade.test", "password": "not the password at all"}), http.StatusUnauthorized)
				return admin, outcome{realm: session.RealmOperator, refused: true}
			}},
			{"HQ login", func(b *browser) (string, outcome) {
				b.host = admin
				want(t, b.do("POST", "/api/hq/auth/login", map[string]string{"email": "op2@palisade.test", "password": testPassword}), http.StatusOK)
				return admin, outcome{realm: session.RealmOperator, keys: operatorKeys, subject: session.KeyOperatorID, subjID: operatorID("op2@palisade.test"), me: http.StatusForbidden, meStep: true}
			}},
		}

		for _, p := range paths {
			for _, pr := range priors {
				t.Run(p.name+"/"+pr.name, func(t *testing.T) {
					n++
					b := s.browser(acme)
					for k, v := range pr.make() {
						b.cookies[k] = v
					}
					before := map[string]string{}
					for k, v := range b.cookies {
						before[k] = v
					}
					// Who each realm says the request is, before the login.
					meBefore := map[session.Realm]string{session.RealmTenant: s.whoami(b, session.RealmTenant), session.RealmOperator: s.whoami(b, session.RealmOperator)}
					host, out := p.login(b)
					out.host = host
					cookie := out.realm.Cookie()
					tok := b.cookies[cookie]
					vals := s.storedSession(out.realm, tok)
					// A login in one realm leaves the other realm's session alone,
					// and a refused login (or a reset, which logs nobody in)
					// leaves both as they were.
					for _, rl := range []session.Realm{session.RealmTenant, session.RealmOperator} {
						if rl == out.realm && !out.refused && !out.noSwitch {
							continue
						}
						if b.cookies[rl.Cookie()] != before[rl.Cookie()] {
							t.Errorf("the %s cookie changed", rl)
						}
						if got := s.whoami(b, rl); got != meBefore[rl] {
							t.Errorf("%s realm: %s before, %s after", rl, meBefore[rl], got)
						}
					}
					if out.refused {
						return
					}
					if out.noSwitch {
						if id, _ := vals[out.subject].(int64); id == out.subjID {
							t.Fatalf("a password reset logged %d in: %v", id, vals)
						}
						return
					}
					if out.realm == session.RealmTenant {
						if id, _ := vals[session.KeyTenantID].(int64); id != s.tenantIDOf(out.host) {
							t.Errorf("tenant_id %v, want the login host's tenant", vals[session.KeyTenantID])
						}
					}
					if vals == nil {
						t.Fatalf("no %s session stored for cookie %q", out.realm, tok)
					}
					if got := keysOf(vals); !slices.Equal(got, out.keys) {
						t.Errorf("session keys %v, want exactly %v", got, out.keys)
					}
					if id, _ := vals[out.subject].(int64); id != out.subjID {
						t.Errorf("%s = %v, want %d", out.subject, vals[out.subject], out.subjID)
					}
					if vals[session.KeyRealm] != string(out.realm) {
						t.Errorf("realm %v, want %s", vals[session.KeyRealm], out.realm)
					}
					// The session the request carried in this realm is gone.
					if old := before[cookie]; old != "" {
						if old == tok {
							t.Errorf("the login kept the token it was given")
						}
						if s.storedSession(out.realm, old) != nil {
							t.Errorf("the replaced session is still in the store")
						}
					}
					// /api/me (/api/hq/me) answers as after a fresh login.
					mePath := "/api/me"
					if out.realm == session.RealmOperator {
						mePath = "/api/hq/me"
					}
					r := b.do("GET", mePath, nil)
					want(t, r, out.me)
					if out.meStep {
						wantStep(t, r, wire.KindMFARequired, wire.ReasonMFAPending)
					}
					if out.meEmail != "" && !strings.Contains(string(r.body), `"email":"`+out.meEmail+`"`) {
						t.Errorf("%s names someone else: %s", mePath, r.body)
					}
				})
			}
		}

		// A tenant token never works as the HQ cookie, nor the other way:
		// each realm's store simply does not know the other's tokens.
		full := s.mfaBrowser(clk, acme, "/api/auth/login", "/api/auth/mfa", "eve@acme.test", eveSecret)
		want(t, full.do("GET", "/api/me", nil), http.StatusOK)
		asHQ := s.browser(admin)
		asHQ.cookies[session.OperatorCookie] = full.cookies[session.TenantCookie]
		want(t, asHQ.do("GET", "/api/hq/me", nil), http.StatusUnauthorized)
		opFull := s.mfaBrowser(clk, admin, "/api/hq/auth/login", "/api/hq/auth/mfa", "op1@palisade.test", op1Secret)
		want(t, opFull.do("GET", "/api/hq/me", nil), http.StatusOK)
		asTenant := s.browser(acme)
		asTenant.cookies[session.TenantCookie] = opFull.cookies[session.OperatorCookie]
		want(t, asTenant.do("GET", "/api/me", nil), http.StatusUnauthorized)
		// Both are still fine in their own realm.
		want(t, full.do("GET", "/api/me", nil), http.StatusOK)
		want(t, opFull.do("GET", "/api/hq/me", nil), http.StatusOK)
	})
}

// whoami is what the realm's /me answers for b's cookies: the status and,
// when 200, whom it names; it asks on acme's host or HQ's.
func (s *stack) whoami(b *browser, realm session.Realm) string {
	s.t.Helper()
	c := &browser{s: s, host: "acme.localhost:3000", cookies: map[string]string{}}
	path := "/api/me"
	if realm == session.RealmOperator {
		c.host, path = "admin.localhost:3000", "/api/hq/me"
	}
	if v, ok := b.cookies[realm.Cookie()]; ok {
		c.cookies[realm.Cookie()] = v
	}
	r := c.do("GET", path, nil)
	var who struct {
		User     struct{ Email string } `json:"user"`
		Operator struct{ Email string } `json:"operator"`
	}
	if r.status == http.StatusOK {
		r.json(s.t, &who)
	}
	return fmt.Sprintf("%d %s%s", r.status, who.User.Email, who.Operator.Email)
}

// tenantIDOf is the id of the tenant whose host is host.
func (s *stack) tenantIDOf(host string) int64 {
	s.t.Helper()
	slug, _, _ := strings.Cut(host, ".")
	t, err := s.st.TenantBySlug(context.Background(), slug)
	if err != nil {
		s.t.Fatal(err)
	}
	return t.ID
}
