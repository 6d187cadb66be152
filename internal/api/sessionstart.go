package api

import (
	"context"
	"net/http"

	"github.com/alexedwards/scs/v2"

	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/session"
	"github.com/palisade-hq/palisade/internal/store"
)

// A login is a new session. Every login path of a realm calls that realm's
// start function, which destroys whatever session the request carried
// (its data, not just its token: scs's RenewToken alone would keep every
// value, so another user's mfa_at would survive the login) and starts an
// empty one holding only what this login proved. Claims (mfa_at, auth_at)
// belong to the subject that proved them; the new subject starts without.
// Call it only once the login has succeeded: a refused login leaves the
// old session as it was.

// freshSession throws the request's session away, in the store too, and
// gives the request a new, empty one with its token already chosen (so
// the session can be indexed before the response is written).
func freshSession(ctx context.Context, sm *scs.SessionManager) error {
	if err := sm.Destroy(ctx); err != nil {
		return err
	}
	return sm.RenewToken(ctx)
}

// startTenantSession logs userID in on the host's tenant. secondFactor says
// whether this login proved the second factor too (a user-verified
// passkey); otherwise a user who has one must still give it.
func (s *Server) startTenantSession(r *http.Request, userID int64, secondFactor bool) error {
	ctx := r.Context()
	sm := s.TenantSessions
	if old := sm.Token(ctx); old != "" {
		if err := s.tenantStore(r).ForgetSession(ctx, auth.HashToken(old)); err != nil {
			return err
		}
	}
	awaitingMFA := false
	if !secondFactor {
		st, err := s.Store.MFAStatusOf(ctx, store.UserSubject(userID))
		if err != nil {
			return err
		}
		awaitingMFA = st.Enrolled()
	}
	if err := freshSession(ctx, sm); err != nil {
		return err
	}
	tenantID := reqCtx(r).tenant.ID
	now := s.Store.Now()
	sm.Put(ctx, session.KeyRealm, string(session.RealmTenant))
	sm.Put(ctx, session.KeyUserID, userID)
	sm.Put(ctx, session.KeyTenantID, tenantID)
	sm.Put(ctx, session.KeyCreatedAt, now.Unix())
	// Cutoffs are in milliseconds: a login right after a password change
	// (in the same second) must not be voided by it.
	sm.Put(ctx, keyValidFromMs, now.UnixMilli())
	if secondFactor {
		sm.Put(ctx, keyMFAAt, now.Unix())
		sm.Put(ctx, keyAuthAt, now.Unix())
	}
	return s.tenantStore(r).IndexSession(ctx, userID, auth.HashToken(sm.Token(ctx)), r.UserAgent(), s.clientIP(r), awaitingMFA)
}

// startOperatorSession logs operatorID in to HQ (a password login, or an
// invitation accepted): the session still needs the operator's second
// factor (mfaGate). It is indexed at once, so it is listed and can be
// ended before it makes another request.
func (s *Server) startOperatorSession(r *http.Request, operatorID int64) error {
	ctx := r.Context()
	sm := s.OperatorSessions
	if old := sm.Token(ctx); old != "" {
		if err := s.Store.ForgetOperatorSession(ctx, auth.HashToken(old)); err != nil {
			return err
		}
	}
	if err := freshSession(ctx, sm); err != nil {
		return err
	}
	sm.Put(ctx, session.KeyRealm, string(session.RealmOperator))
	sm.Put(ctx, session.KeyOperatorID, operatorID)
	sm.Put(ctx, session.KeyCreatedAt, s.Store.Now().Unix())
	return s.Store.IndexOperatorSession(ctx, operatorID, auth.HashToken(sm.Token(ctx)), r.UserAgent(), s.clientIP(r), true)
}

// renewSessionToken gives the same subject's session a new token at a
// privilege change (second factor given, password changed), keeping its
// values, and moves the realm's session index entry along.
func (s *Server) renewSessionToken(r *http.Request, sm *scs.SessionManager) error {
	ctx := r.Context()
	old := sm.Token(ctx)
	if err := sm.RenewToken(ctx); err != nil {
		return err
	}
	switch {
	case old == "":
		return nil
	case sm == s.OperatorSessions:
		return s.Store.RekeyOperatorSession(ctx, auth.HashToken(old), auth.HashToken(sm.Token(ctx)))
	case sm == s.TenantSessions:
		return s.tenantStore(r).RekeySession(ctx, auth.HashToken(old), auth.HashToken(sm.Token(ctx)))
	}
	return nil
}

// endTenantSession logs the request's tenant session out: its index entry
// goes (the sessions page lists only live sessions) and its data too.
func (s *Server) endTenantSession(r *http.Request) error {
	ctx := r.Context()
	if tok := s.TenantSessions.Token(ctx); tok != "" {
		if err := s.tenantStore(r).ForgetSession(ctx, auth.HashToken(tok)); err != nil {
			return err
		}
	}
	return s.TenantSessions.Destroy(ctx)
}
