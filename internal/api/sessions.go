package api

import (
	"fmt"
	"net/http"

	"github.com/alexedwards/scs/v2"

	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/session"
	"github.com/palisade-hq/palisade/internal/store"
)

// keyValidFromMs, when set, overrides the session's creation time for
// cutoffs: a password change keeps the session it was made in.
const keyValidFromMs = "valid_from_ms"

// touchEvery bounds how often a session's last-seen time is written.
const touchEveryMs = 60_000

var errSessionRevoked = &core.Error{Kind: core.KindUnauthenticated, Message: "this session was ended; log in again"}

// checkSession voids a revoked or unindexed session, or one older than a
// cutoff (an operator ended the tenant's sessions, or the password
// changed), and keeps its last-seen time current. Only a hash of the
// token is ever stored.
func (s *Server) checkSession(r *http.Request, sm *scs.SessionManager, ts *store.TenantStore, userID int64) error {
	tokenHash := auth.HashToken(sm.Token(r.Context()))
	c, err := ts.CheckSession(r.Context(), userID, tokenHash)
	if err != nil {
		return err
	}
	validFrom := sm.GetInt64(r.Context(), keyValidFromMs)
	if validFrom == 0 {
		// Whole seconds: a session from the cutoff's own second is voided
		// too, which errs on the safe side.
		validFrom = sm.GetInt64(r.Context(), session.KeyCreatedAt) * 1000
	}
	// Every session is indexed at login: one without an entry was logged
	// out or replaced.
	if !c.Indexed || c.Revoked || validFrom < c.CutoffMs {
		_ = sm.Destroy(r.Context())
		return errSessionRevoked
	}
	if s.Store.Now().UnixMilli()-c.LastSeen > touchEveryMs {
		return ts.TouchSession(r.Context(), tokenHash, r.UserAgent(), s.clientIP(r))
	}
	return nil
}

func (s *Server) currentSessionHash(r *http.Request) string {
	return auth.HashToken(s.TenantSessions.Token(r.Context()))
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	ss, err := s.tenantStore(r).Sessions(r.Context(), reqCtx(r).member.UserID, s.currentSessionHash(r), s.TenantSessions.IdleTimeout)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"sessions": ss})
	return nil
}

func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.tenantStore(r).RevokeSession(r.Context(), reqCtx(r).member.UserID, id, s.event(r, "session.revoked")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) revokeOtherSessions(w http.ResponseWriter, r *http.Request) error {
	n, err := s.tenantStore(r).RevokeOtherSessions(r.Context(), reqCtx(r).member.UserID, s.currentSessionHash(r), s.event(r, "session.revoked_others"))
	if err != nil {
		return err
	}
	s.endRealtimeUser(r, reqCtx(r).member.UserID)
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"revoked": n})
	return nil
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
	Code            string `json:"code"`
}

// changePassword needs the current password (and second factor, if any),
// and ends every other session of the user, in every organisation.
// passwordChangeSecondFactor is the second factor a password change needs:
// a code, or, for a user whose only factor is a passkey (which cannot sign
// a form field), a login or step-up within StepUpWindow, which for such a
// user always went through the passkey.
func (s *Server) passwordChangeSecondFactor(r *http.Request, uid int64, code string) error {
	if code == "" {
		st, err := s.Store.MFAStatusOf(r.Context(), store.UserSubject(uid))
		if err != nil {
			return err
		}
		if st.Passkeys > 0 && !st.TOTP {
			if s.requireRecentAuth(r) == nil {
				return nil
			}
			return core.Invalid("code", "confirm it's you with your passkey first (or enter a recovery code), then change the password")
		}
	}
	return s.checkSecondFactor(r, uid, code)
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var req changePasswordRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.CurrentPassword == "" || len(req.CurrentPassword) > core.MaxPasswordLen {
		return core.Invalid("current_password", "is required")
	}
	if err := core.ValidatePassword(req.NewPassword); err != nil {
		return &core.Error{Kind: core.KindInvalid, Field: "new_password", Message: err.(*core.Error).Message}
	}
	uid := reqCtx(r).member.UserID
	u, err := s.Store.UserByID(r.Context(), uid)
	if err != nil {
		return err
	}
	ok, err := s.checkOwnPassword(r, u, req.CurrentPassword, "auth.password_change")
	if err != nil {
		return err
	}
	if !ok {
		s.auditDenied(r, "auth.password_change", "wrong current password")
		return core.Invalid("current_password", "the current password is wrong")
	}
	if err := s.passwordChangeSecondFactor(r, uid, req.Code); err != nil {
		return err
	}
	hash, err := s.Hasher.Hash(req.NewPassword)
	if err != nil {
		return err
	}
	cutoff, err := s.Store.ChangePassword(r.Context(), uid, hash, s.currentSessionHash(r), s.event(r, "auth.password_changed"))
	if err != nil {
		return err
	}
	// This session stays; every other one, here and in other organisations,
	// is void from now on.
	sm := s.TenantSessions
	if err := s.renewSessionToken(r, sm); err != nil {
		return err
	}
	sm.Put(r.Context(), keyValidFromMs, cutoff)
	sm.Put(r.Context(), keyAuthAt, s.Store.Now().Unix())
	// The other sessions' sockets go too (this one's reconnects and is
	// authorised again with its renewed session).
	s.endRealtimeUser(r, uid)
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"message": "your password was changed and your other sessions were ended"})
	return nil
}

// hqRevokeTenantSessions ends every session of a tenant's users at once
// (a compromised account, an offboarding).
func (s *Server) hqRevokeTenantSessions(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ev := s.event(r, "hq.tenant.sessions_revoked")
	ev.TenantID = &id
	if _, err := s.Store.RevokeTenantSessions(r.Context(), id, ev); err != nil {
		return err
	}
	s.endRealtimeTenant(r, id)
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"message": fmt.Sprintf("every session of tenant %d was ended", id)})
	return nil
}
