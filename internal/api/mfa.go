package api

import (
	"encoding/base64"
	"net/http"
	"slices"

	"github.com/alexedwards/scs/v2"

	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/wire"
)

// keyMFAAt is when the session's holder last proved a second factor. A
// session without it, for someone who has (or must have) a second factor,
// is only half logged in: it reaches the MFA routes and nothing else.
const keyMFAAt = "mfa_at"

const (
	totpIssuer         = "Palisade"
	maxCodeInputLength = 64
)

var (
	// Routes a half-logged-in session may use to finish logging in.
	mfaVerifyRoutes = []string{"/api/auth/mfa", "/api/auth/mfa/passkey/begin", "/api/auth/mfa/passkey/finish",
		"/api/hq/auth/mfa"}
	// Routes a session that must enrol may use.
	mfaEnrolRoutes = []string{"/api/mfa", "/api/mfa/totp", "/api/mfa/totp/confirm", "/api/mfa/passkeys/begin", "/api/mfa/passkeys/finish",
		"/api/hq/mfa", "/api/hq/mfa/totp", "/api/hq/mfa/totp/confirm"}
)

// mfaGate lets a session through if it has proved a second factor, or if
// its holder has none and none is required. Otherwise it allows only the
// routes that lead to a full login and names what is missing.
func (s *Server) mfaGate(r *http.Request, sm *scs.SessionManager, subj store.Subject, required bool) error {
	if sm.GetInt64(r.Context(), keyMFAAt) > 0 {
		return nil
	}
	st, err := s.Store.MFAStatusOf(r.Context(), subj)
	if err != nil {
		return err
	}
	switch {
	case st.Enrolled():
		if slices.Contains(mfaVerifyRoutes, r.URL.Path) {
			return nil
		}
		return &core.Error{Kind: core.KindForbidden, Reason: wire.ReasonMFAPending, Message: "enter the code from your authenticator app, a recovery code, or use your passkey to finish logging in"}
	case required:
		if slices.Contains(mfaEnrolRoutes, r.URL.Path) {
			return nil
		}
		return &core.Error{Kind: core.KindForbidden, Reason: wire.ReasonMFANotEnrolled, Message: "set up a second factor (an authenticator app or a passkey) to continue; it is required here"}
	}
	return nil
}

// verifySecondFactor checks a TOTP code or, failing that, a recovery code
// of subj. A TOTP code's time step is accepted once; a recovery code once.
// Wrong codes count on subj's throttle, wherever they are typed (login,
// re-auth, password change; either realm).
func (s *Server) verifySecondFactor(r *http.Request, subj store.Subject, code string) (method string, err error) {
	if code == "" || len(code) > maxCodeInputLength {
		return "", core.Invalid("code", "enter the 6-digit code from your authenticator app or a recovery code")
	}
	a := secondFactorAttempt(subj)
	if err := s.allowAttempt(r, a); err != nil {
		return "", err
	}
	method, err = s.matchSecondFactor(r, subj, code)
	switch {
	case err == nil:
		return method, s.succeededAttempt(r, a)
	case wrongSecret(err):
		if ferr := s.failedAttempt(r, a); ferr != nil {
			return "", ferr
		}
	}
	return "", err
}

func (s *Server) matchSecondFactor(r *http.Request, subj store.Subject, code string) (method string, err error) {
	t, err := s.Store.TOTPOf(r.Context(), subj)
	if err != nil && !core.IsNotFound(err) {
		return "", err
	}
	if err == nil && t.Confirmed {
		if step, ok := auth.CheckTOTP(t.Secret, code, s.Store.Now()); ok {
			fresh, err := s.Store.UseTOTPStep(r.Context(), subj, step)
			if err != nil {
				return "", err
			}
			if fresh {
				return "totp", nil
			}
			return "", core.Invalid("code", "this code was already used; wait for the next one")
		}
	}
	ok, err := s.Store.UseRecoveryCode(r.Context(), subj, auth.HashRecoveryCode(code))
	if err != nil {
		return "", err
	}
	if ok {
		return "recovery_code", nil
	}
	return "", core.Invalid("code", "the code is wrong or has expired")
}

// checkSecondFactor is the second-factor part of step-up: required only of
// a user who has one.
func (s *Server) checkSecondFactor(r *http.Request, userID int64, code string) error {
	subj := store.UserSubject(userID)
	st, err := s.Store.MFAStatusOf(r.Context(), subj)
	if err != nil || !st.Enrolled() {
		return err
	}
	if code == "" && st.Passkeys > 0 && !st.TOTP {
		return core.Invalid("code", "confirm with a recovery code, or log in again with your passkey")
	}
	_, err = s.verifySecondFactor(r, subj, code)
	return err
}

type codeRequest struct {
	Code string `json:"code"`
}

// --- tenant users ---

func (s *Server) userSubject(r *http.Request) store.Subject {
	return store.UserSubject(reqCtx(r).member.UserID)
}

// mfaVerify is the second step of a login for a user with a second factor.
func (s *Server) mfaVerify(w http.ResponseWriter, r *http.Request) error {
	var req codeRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	return s.finishSecondFactor(w, r, s.TenantSessions, s.userSubject(r), req.Code, "auth.mfa")
}

func (s *Server) finishSecondFactor(w http.ResponseWriter, r *http.Request, sm *scs.SessionManager, subj store.Subject, code, action string) error {
	method, err := s.verifySecondFactor(r, subj, code)
	if err != nil {
		ev := s.event(r, action)
		ev.Outcome, ev.Target = store.OutcomeFailure, subj.String()
		if aerr := s.Store.Audit(r.Context(), ev); aerr != nil {
			return aerr
		}
		return err
	}
	// A new token at each privilege change, as at login.
	if err := s.renewSessionToken(r, sm); err != nil {
		return err
	}
	now := s.Store.Now().Unix()
	sm.Put(r.Context(), keyMFAAt, now)
	sm.Put(r.Context(), keyAuthAt, now)
	ev := s.event(r, action)
	ev.Target, ev.Detail = subj.String(), method
	if err := s.Store.Audit(r.Context(), ev); err != nil {
		return err
	}
	return s.writeMFAStatus(w, r, subj, http.StatusOK, nil)
}

func (s *Server) writeMFAStatus(w http.ResponseWriter, r *http.Request, subj store.Subject, status int, extra map[string]any) error {
	st, err := s.Store.MFAStatusOf(r.Context(), subj)
	if err != nil {
		return err
	}
	out := map[string]any{"mfa": st}
	if rc := reqCtx(r); rc.tenant != nil {
		req, err := s.tenantStore(r).RequiresMFA(r.Context())
		if err != nil {
			return err
		}
		out["required"] = req
	} else {
		out["required"] = true
	}
	for k, v := range extra {
		out[k] = v
	}
	httpx.WriteJSON(w, status, out)
	return nil
}

func (s *Server) mfaStatus(w http.ResponseWriter, r *http.Request) error {
	return s.writeMFAStatus(w, r, s.userSubject(r), http.StatusOK, nil)
}

// startTOTP begins authenticator-app enrolment: a new secret, its otpauth
// URL and a QR code; while an enrolment is pending it answers with that
// one's secret again. Changing MFA needs step-up.
func (s *Server) startTOTP(w http.ResponseWriter, r *http.Request) error {
	if err := s.requireRecentAuth(r); err != nil {
		return err
	}
	u, err := s.Store.UserByID(r.Context(), reqCtx(r).member.UserID)
	if err != nil {
		return err
	}
	return s.beginTOTP(w, r, s.userSubject(r), u.Email)
}

func (s *Server) beginTOTP(w http.ResponseWriter, r *http.Request, subj store.Subject, account string) error {
	en, err := auth.NewTOTP(totpIssuer, account)
	if err != nil {
		return err
	}
	secret, err := s.Store.StartTOTP(r.Context(), subj, en.Secret)
	if err != nil {
		return err
	}
	return writeTOTPEnrolment(w, account, en, secret)
}

// writeTOTPEnrolment answers a started enrolment (or replacement) with the
// secret the store kept: the one just made, or, when one was already
// pending, that one again, so the code in the user's app keeps working.
func writeTOTPEnrolment(w http.ResponseWriter, account string, en auth.TOTPEnrolment, stored string) error {
	if stored != en.Secret {
		var err error
		if en, err = auth.TOTPEnrolmentFor(totpIssuer, account, stored); err != nil {
			return err
		}
	}
	httpx.WriteJSON(w, http.StatusCreated, map[string]string{
		"secret": en.Secret, "otpauth_url": en.URL,
		"qr_png": "data:image/png;base64," + base64.StdEncoding.EncodeToString(en.QRPNG),
	})
	return nil
}

// confirmTOTP checks the first code from the app, switches the factor on
// and returns ten recovery codes, shown this once.
func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request) error {
	var req codeRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	return s.completeTOTP(w, r, s.TenantSessions, s.userSubject(r), req.Code, "mfa.totp.enabled")
}

func (s *Server) completeTOTP(w http.ResponseWriter, r *http.Request, sm *scs.SessionManager, subj store.Subject, code, action string) error {
	t, err := s.Store.TOTPOf(r.Context(), subj)
	if core.IsNotFound(err) || err == nil && t.Confirmed {
		return core.Invalid("code", "start setting up an authenticator app first")
	}
	if err != nil {
		return err
	}
	step, ok := auth.CheckTOTP(t.Secret, code, s.Store.Now())
	if !ok {
		return core.Invalid("code", "the code does not match; check the time on your phone and try the next code")
	}
	if fresh, err := s.Store.UseTOTPStep(r.Context(), subj, step); err != nil {
		return err
	} else if !fresh {
		return core.Invalid("code", "this code was already used; wait for the next one")
	}
	codes, hashes := auth.NewRecoveryCodes()
	if err := s.Store.ConfirmTOTP(r.Context(), subj, hashes, s.event(r, action)); err != nil {
		return err
	}
	if err := s.renewSessionToken(r, sm); err != nil {
		return err
	}
	now := s.Store.Now().Unix()
	sm.Put(r.Context(), keyMFAAt, now)
	sm.Put(r.Context(), keyAuthAt, now)
	return s.writeMFAStatus(w, r, subj, http.StatusOK, map[string]any{"recovery_codes": codes})
}

// removeTOTP switches the authenticator app off, or cancels a pending
// enrolment (step-up), unless it is the only factor of someone who must
// have one.
func (s *Server) removeTOTP(w http.ResponseWriter, r *http.Request) error {
	if err := s.requireRecentAuth(r); err != nil {
		return err
	}
	subj := s.userSubject(r)
	st, err := s.Store.MFAStatusOf(r.Context(), subj)
	if err != nil {
		return err
	}
	required, err := s.tenantStore(r).RequiresMFA(r.Context())
	if err != nil {
		return err
	}
	// A pending (unconfirmed) enrolment can always be cancelled: it is no
	// factor yet.
	action := "mfa.totp.cancelled"
	if st.TOTP {
		action = "mfa.totp.disabled"
		if required && st.Passkeys == 0 {
			return core.Errorf(core.KindConflict, "your organisation requires a second factor; add a passkey before removing the authenticator app")
		}
	}
	if err := s.Store.RemoveTOTP(r.Context(), subj, s.event(r, action)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// regenerateRecoveryCodes replaces all codes (step-up).
func (s *Server) regenerateRecoveryCodes(w http.ResponseWriter, r *http.Request) error {
	if err := s.requireRecentAuth(r); err != nil {
		return err
	}
	subj := s.userSubject(r)
	st, err := s.Store.MFAStatusOf(r.Context(), subj)
	if err != nil {
		return err
	}
	if !st.Enrolled() {
		return core.Errorf(core.KindConflict, "set up a second factor first; recovery codes stand in for it")
	}
	codes, hashes := auth.NewRecoveryCodes()
	if err := s.Store.ReplaceRecoveryCodes(r.Context(), subj, hashes, s.event(r, "mfa.recovery_codes.regenerated")); err != nil {
		return err
	}
	return s.writeMFAStatus(w, r, subj, http.StatusOK, map[string]any{"recovery_codes": codes})
}

type mfaPolicyRequest struct {
	Require *bool `json:"require"`
}

// setMFAPolicy lets an owner require a second factor of every member; the
// members are sent to enrolment at their next request.
func (s *Server) setMFAPolicy(w http.ResponseWriter, r *http.Request) error {
	var req mfaPolicyRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Require == nil {
		return core.Invalid("require", "is required (true or false)")
	}
	rc := reqCtx(r)
	if rc.member.Role != core.RoleOwner {
		s.auditDenied(r, "authz.denied", r.Method+" "+r.URL.Path)
		return &core.Error{Kind: core.KindForbidden, Message: "only owners may change the organisation's MFA policy"}
	}
	if err := s.requireRecentAuth(r); err != nil {
		return err
	}
	if *req.Require {
		st, err := s.Store.MFAStatusOf(r.Context(), s.userSubject(r))
		if err != nil {
			return err
		}
		if !st.Enrolled() {
			return core.Errorf(core.KindConflict, "set up your own second factor before requiring one of everyone")
		}
	}
	if err := s.tenantStore(r).SetRequireMFA(r.Context(), *req.Require, s.event(r, "tenant.mfa_policy")); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]bool{"require_mfa": *req.Require})
	return nil
}

// --- operators: a second factor is mandatory ---

func (s *Server) operatorSubject(r *http.Request) store.Subject {
	return store.OperatorSubject(reqCtx(r).operator.ID)
}

func (s *Server) hqMFAVerify(w http.ResponseWriter, r *http.Request) error {
	var req codeRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	return s.finishSecondFactor(w, r, s.OperatorSessions, s.operatorSubject(r), req.Code, "hq.mfa")
}

func (s *Server) hqMFAStatus(w http.ResponseWriter, r *http.Request) error {
	return s.writeMFAStatus(w, r, s.operatorSubject(r), http.StatusOK, nil)
}

// hqStartTOTP: an operator without a second factor may start enrolment
// (the gate allows nothing else); one who has it replaces it from the security page
// (hqStartTOTPReplacement), which keeps the current app until the new one
// is confirmed.
func (s *Server) hqStartTOTP(w http.ResponseWriter, r *http.Request) error {
	return s.beginTOTP(w, r, s.operatorSubject(r), reqCtx(r).operator.Email)
}

func (s *Server) hqConfirmTOTP(w http.ResponseWriter, r *http.Request) error {
	var req codeRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	return s.completeTOTP(w, r, s.OperatorSessions, s.operatorSubject(r), req.Code, "hq.mfa.totp.enabled")
}
