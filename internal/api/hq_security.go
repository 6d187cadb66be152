package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/wire"
)

// An operator's own security: their sessions, password and authenticator
// app. Every secret checked here counts on the same per-account throttle
// as HQ's login (password) or second-factor step (codes).

// checkOperatorSession voids an HQ session that has no live index entry
// (logged out, ended from the security page, or from before a password
// change) and keeps its last-seen time current.
func (s *Server) checkOperatorSession(r *http.Request, operatorID int64) error {
	sm := s.OperatorSessions
	tokenHash := auth.HashToken(sm.Token(r.Context()))
	c, err := s.Store.CheckOperatorSession(r.Context(), operatorID, tokenHash)
	if err != nil {
		return err
	}
	if !c.Live {
		_ = sm.Destroy(r.Context())
		return errSessionRevoked
	}
	if s.Store.Now().UnixMilli()-c.LastSeen > touchEveryMs {
		return s.Store.TouchOperatorSession(r.Context(), tokenHash, r.UserAgent(), s.clientIP(r))
	}
	return nil
}

func (s *Server) currentOperatorSessionHash(r *http.Request) string {
	return auth.HashToken(s.OperatorSessions.Token(r.Context()))
}

// hqRequireRecentAuth is HQ's step-up: the operator proved password and
// second factor (login or POST /api/hq/auth/reauth) within StepUpWindow.
func (s *Server) hqRequireRecentAuth(r *http.Request) error {
	at := s.OperatorSessions.GetInt64(r.Context(), keyAuthAt)
	if at > 0 && s.Store.Now().Sub(time.Unix(at, 0)) < StepUpWindow {
		return nil
	}
	return &core.Error{Kind: core.KindForbidden, Reason: wire.ReasonLoginNotRecent,
		Message: fmt.Sprintf("confirm your password and code first (POST /api/hq/auth/reauth); this action needs a login within the last %s", core.HumanDuration(StepUpWindow))}
}

// operatorPasswordAttempt shares HQ login's per-account counter.
func operatorPasswordAttempt(email, action string) attempt {
	return attempt{realm: "hq", account: email, action: action}
}

// checkOperatorPassword verifies the logged-in operator's own password,
// throttled like the login, so a stolen session is no password oracle.
func (s *Server) checkOperatorPassword(r *http.Request, field, password, action string) error {
	if password == "" || len(password) > core.MaxPasswordLen {
		return core.Invalid(field, "is required")
	}
	o := reqCtx(r).operator
	a := operatorPasswordAttempt(o.Email, action)
	if err := s.allowAttempt(r, a); err != nil {
		return err
	}
	ok, err := s.Hasher.Verify(password, o.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		if err := s.failedAttempt(r, a); err != nil {
			return err
		}
		s.auditDenied(r, action, "wrong current password")
		return core.Invalid(field, "the password is wrong")
	}
	return s.succeededAttempt(r, a)
}

type hqReauthRequest struct {
	Password string `json:"password"`
	Code     string `json:"code"`
}

// hqReauth re-checks the operator's password and code and stamps the
// session for StepUpWindow.
func (s *Server) hqReauth(w http.ResponseWriter, r *http.Request) error {
	var req hqReauthRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.checkOperatorPassword(r, "password", req.Password, "hq.reauth"); err != nil {
		return err
	}
	if _, err := s.verifySecondFactor(r, s.operatorSubject(r), req.Code); err != nil {
		return err
	}
	s.OperatorSessions.Put(r.Context(), keyAuthAt, s.Store.Now().Unix())
	if err := s.Store.Audit(r.Context(), s.event(r, "hq.reauth")); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"message": "confirmed; sensitive actions are open for " + core.HumanDuration(StepUpWindow)})
	return nil
}

type hqPasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
	Code            string `json:"code"`
}

// hqChangePassword needs the current password and a code from the
// operator's authenticator app (or a recovery code), as the tenant realm
// asks of a user with a second factor: a stolen HQ session plus a phished
// password must not be enough to take the account over. This session
// stays (with a new token) and every other session of the operator ends.
func (s *Server) hqChangePassword(w http.ResponseWriter, r *http.Request) error {
	var req hqPasswordRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.CurrentPassword == "" || len(req.CurrentPassword) > core.MaxPasswordLen {
		return core.Invalid("current_password", "is required")
	}
	if err := core.ValidatePassword(req.NewPassword); err != nil {
		return &core.Error{Kind: core.KindInvalid, Field: "new_password", Message: err.(*core.Error).Message}
	}
	if err := s.checkOperatorPassword(r, "current_password", req.CurrentPassword, "hq.password_change"); err != nil {
		return err
	}
	if _, err := s.verifySecondFactor(r, s.operatorSubject(r), req.Code); err != nil {
		return err
	}
	hash, err := s.Hasher.Hash(req.NewPassword)
	if err != nil {
		return err
	}
	if err := s.renewSessionToken(r, s.OperatorSessions); err != nil {
		return err
	}
	if err := s.Store.ChangeOperatorPassword(r.Context(), reqCtx(r).operator.ID, hash, s.currentOperatorSessionHash(r), s.event(r, "hq.password_changed")); err != nil {
		return err
	}
	s.OperatorSessions.Put(r.Context(), keyAuthAt, s.Store.Now().Unix())
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"message": "your password was changed and your other sessions were ended"})
	return nil
}

func (s *Server) hqListSessions(w http.ResponseWriter, r *http.Request) error {
	ss, err := s.Store.OperatorSessions(r.Context(), reqCtx(r).operator.ID, s.currentOperatorSessionHash(r), s.OperatorSessions.IdleTimeout)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"sessions": ss})
	return nil
}

func (s *Server) hqRevokeSession(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.Store.RevokeOperatorSession(r.Context(), reqCtx(r).operator.ID, id, s.event(r, "hq.session.revoked")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) hqRevokeOtherSessions(w http.ResponseWriter, r *http.Request) error {
	n, err := s.Store.RevokeOtherOperatorSessions(r.Context(), reqCtx(r).operator.ID, s.currentOperatorSessionHash(r), s.event(r, "hq.session.revoked_others"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"revoked": n})
	return nil
}

// hqStartTOTPReplacement begins replacing the operator's authenticator app
// (step-up). The new secret is pending and shown again on every call until
// it is confirmed or cancelled; the current app keeps working meanwhile.
func (s *Server) hqStartTOTPReplacement(w http.ResponseWriter, r *http.Request) error {
	if err := s.hqRequireRecentAuth(r); err != nil {
		return err
	}
	account := reqCtx(r).operator.Email
	en, err := auth.NewTOTP(totpIssuer, account)
	if err != nil {
		return err
	}
	secret, err := s.Store.StartTOTPReplacement(r.Context(), s.operatorSubject(r), en.Secret)
	if err != nil {
		return err
	}
	return writeTOTPEnrolment(w, account, en, secret)
}

// hqConfirmTOTPReplacement swaps the pending secret in on a code of it and
// returns new recovery codes; a wrong code changes nothing.
func (s *Server) hqConfirmTOTPReplacement(w http.ResponseWriter, r *http.Request) error {
	var req codeRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.hqRequireRecentAuth(r); err != nil {
		return err
	}
	subj := s.operatorSubject(r)
	pending, err := s.Store.PendingTOTP(r.Context(), subj)
	if core.IsNotFound(err) {
		return core.Invalid("code", "start replacing the authenticator app first")
	}
	if err != nil {
		return err
	}
	if req.Code == "" || len(req.Code) > maxCodeInputLength {
		return core.Invalid("code", "enter the 6-digit code the new app shows")
	}
	step, ok := auth.CheckTOTP(pending, req.Code, s.Store.Now())
	if !ok {
		return core.Invalid("code", "the code does not match the new app; check the time on your phone and try the next code")
	}
	codes, hashes := auth.NewRecoveryCodes()
	if err := s.Store.ConfirmTOTPReplacement(r.Context(), subj, pending, step, hashes, s.event(r, "hq.mfa.totp.replaced")); err != nil {
		return err
	}
	if err := s.renewSessionToken(r, s.OperatorSessions); err != nil {
		return err
	}
	now := s.Store.Now().Unix()
	s.OperatorSessions.Put(r.Context(), keyMFAAt, now)
	s.OperatorSessions.Put(r.Context(), keyAuthAt, now)
	return s.writeMFAStatus(w, r, subj, http.StatusOK, map[string]any{"recovery_codes": codes})
}

// hqCancelTOTPReplacement drops a pending replacement.
func (s *Server) hqCancelTOTPReplacement(w http.ResponseWriter, r *http.Request) error {
	if err := s.Store.CancelTOTPReplacement(r.Context(), s.operatorSubject(r), s.event(r, "hq.mfa.totp.replacement_cancelled")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
