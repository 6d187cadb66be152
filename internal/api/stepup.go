package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/session"
	"github.com/palisade-hq/palisade/internal/wire"
)

// StepUpWindow is how recent a login or re-authentication must be for a
// sensitive action (changing MFA, creating tokens, deleting data).
const StepUpWindow = 10 * time.Minute

// keyAuthAt records the last time the session's user proved who they are
// (password, and second factor where enrolled).
const keyAuthAt = "auth_at"

// requireRecentAuth refuses a sensitive action on a session whose last
// proof of identity is older than StepUpWindow. The client answers by
// calling POST /api/auth/reauth and retrying.
func (s *Server) requireRecentAuth(r *http.Request) error {
	sm := s.TenantSessions
	at := max(sm.GetInt64(r.Context(), keyAuthAt), sm.GetInt64(r.Context(), session.KeyCreatedAt))
	if at > 0 && s.Store.Now().Sub(time.Unix(at, 0)) < StepUpWindow {
		return nil
	}
	return &core.Error{Kind: core.KindForbidden, Reason: wire.ReasonLoginNotRecent,
		Message: fmt.Sprintf("confirm your password first (POST /api/auth/reauth); this action needs a login within the last %s", core.HumanDuration(StepUpWindow))}
}

// checkOwnPassword verifies u's password outside the login form (step-up,
// a password change, an invitation accepted with an existing account),
// counted on the login's per-account throttle, so a stolen session is no
// unthrottled password oracle.
func (s *Server) checkOwnPassword(r *http.Request, u core.User, password, action string) (bool, error) {
	a := s.passwordAttempt(r, u.Email, action)
	if err := s.allowAttempt(r, a); err != nil {
		return false, err
	}
	ok, err := s.Hasher.Verify(password, u.PasswordHash)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, s.failedAttempt(r, a)
	}
	return true, s.succeededAttempt(r, a)
}

type reauthRequest struct {
	Password string `json:"password"`
	Code     string `json:"code"`
}

// reauth re-checks the password (and the second factor, for a user who has
// one) of the logged-in user and stamps the session.
func (s *Server) reauth(w http.ResponseWriter, r *http.Request) error {
	var req reauthRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Password == "" || len(req.Password) > core.MaxPasswordLen {
		return core.Invalid("password", "is required")
	}
	rc := reqCtx(r)
	u, err := s.Store.UserByID(r.Context(), rc.member.UserID)
	if err != nil {
		return err
	}
	ok, err := s.checkOwnPassword(r, u, req.Password, "auth.reauth")
	if err != nil {
		return err
	}
	if !ok {
		ev := s.event(r, "auth.reauth")
		ev.Outcome = "failure"
		if err := s.Store.Audit(r.Context(), ev); err != nil {
			return err
		}
		return core.Invalid("password", "the password is wrong")
	}
	if err := s.checkSecondFactor(r, u.ID, req.Code); err != nil {
		return err
	}
	s.TenantSessions.Put(r.Context(), keyAuthAt, s.Store.Now().Unix())
	if err := s.Store.Audit(r.Context(), s.event(r, "auth.reauth")); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"message": "confirmed; sensitive actions are open for " + core.HumanDuration(StepUpWindow)})
	return nil
}
