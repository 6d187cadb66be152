package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/store"
)

// attempt names one check of a secret for the per-account throttle
// (auth.Throttle): every endpoint that checks the same kind of secret of
// the same account counts on the same counter, whatever address the
// attempts come from, and answers 429 with Retry-After once it is full.
type attempt struct {
	realm   string // the counter: "password", "hq", "mfa", "passkey"
	account string // an email, or a subject ("user:5"); "" when unknown
	action  string // audited, with ".throttled", when refused
}

// passwordAttempt is a user's password check: the login, re-auth, the
// current password of a password change and an invitation accepted with
// an existing account share the login's counter. A user has one password
// for every organisation she belongs to, so the counter is the user's, not
// the tenant's: otherwise each membership would give a guesser another
// round of attempts at the same password.
func (s *Server) passwordAttempt(_ *http.Request, email, action string) attempt {
	return attempt{realm: "password", account: strings.ToLower(strings.TrimSpace(email)), action: action}
}

// secondFactorAttempt is a TOTP or recovery code of subj, at login or
// step-up, in either realm.
func secondFactorAttempt(subj store.Subject) attempt {
	action := "auth.mfa"
	if subj.Type == store.OperatorSubject(0).Type {
		action = "hq.mfa"
	}
	return attempt{realm: "mfa", account: subj.String(), action: action}
}

// passkeyAttempt is a passkey assertion; account is "" when no user can
// be named (only the IP counter counts then).
func passkeyAttempt(account, action string) attempt {
	return attempt{realm: "passkey", account: account, action: action}
}

// allowAttempt refuses an attempt the throttle has closed, audited.
func (s *Server) allowAttempt(r *http.Request, a attempt) error {
	wait, err := s.Throttle.Check(r.Context(), a.realm, a.account, s.clientIP(r))
	if err != nil {
		return err
	}
	if wait > 0 {
		s.auditDenied(r, a.action+".throttled", a.account)
		return throttled(wait)
	}
	return nil
}

func (s *Server) failedAttempt(r *http.Request, a attempt) error {
	return s.Throttle.Fail(r.Context(), a.realm, a.account, s.clientIP(r))
}

func (s *Server) succeededAttempt(r *http.Request, a attempt) error {
	if a.account == "" {
		return nil
	}
	return s.Throttle.Succeed(r.Context(), a.realm, a.account)
}

// wrongSecret reports whether err is the refusal of a secret (counted),
// not a failure of the system (not counted).
func wrongSecret(err error) bool {
	var ce *core.Error
	return errors.As(err, &ce) && (ce.Kind == core.KindInvalid || ce.Kind == core.KindUnauthenticated)
}
