package hq

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/palisade-hq/palisade/internal/bff"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/ui"
	"github.com/palisade-hq/palisade/internal/wire"
)

// Invitation pages (an invited operator choosing their password) and the
// logged-in operator's security page: password, sessions, authenticator
// app. Each form posts to the API through the BFF; secrets are never
// echoed back into a page.

func (s *Server) securityRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /invitations/{token}", s.invitationPage)
	m.HandleFunc("POST /invitations/{token}", s.invitationSubmit)
	m.HandleFunc("GET /security", s.authed(s.securityPage))
	m.HandleFunc("POST /security/password", s.authed(s.securityPassword))
	m.HandleFunc("POST /security/sessions/{id}/revoke", s.authed(s.securityRevokeSession))
	m.HandleFunc("POST /security/sessions/revoke-others", s.authed(s.securityRevokeOthers))
	m.HandleFunc("POST /security/totp", s.authed(s.securityReplaceTOTP))
	m.HandleFunc("POST /security/totp/confirm", s.authed(s.securityConfirmTOTP))
	m.HandleFunc("POST /security/totp/cancel", s.authed(s.securityCancelTOTP))
}

type invitationView struct {
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	ExpiresAt time.Time `json:"expires_at"`
}

// invitationPage shows whom a link invites, or why it cannot be used: an
// unknown, used or expired link is the API's 4xx with its message.
func (s *Server) invitationPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	var v invitationView
	if err := s.API.Call(w, r, http.MethodGet, "/api/hq/invitation-lookup?token="+url.QueryEscape(r.PathValue("token")), nil, &v); err != nil {
		s.invitationRefused(w, r, err)
		return
	}
	s.Views.Render(w, http.StatusOK, "hq_accept", ui.Page{Title: "Join Palisade HQ", Site: "hq", Data: v})
}

func (s *Server) invitationRefused(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := bff.AsAPIError(err)
	if !ok || e.Status >= 500 {
		s.fail(w, r, err)
		return
	}
	s.Views.Render(w, e.Status, "message", ui.Page{Title: "This invitation cannot be used", Site: "hq", Data: e.Message})
}

// invitationSubmit sets the password and logs the newcomer in; the API
// started a fresh session, and HQ sends them to set up a second factor.
func (s *Server) invitationSubmit(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	token := r.PathValue("token")
	if err := r.ParseForm(); err != nil {
		s.Views.Render(w, http.StatusBadRequest, "message", ui.Page{Title: "That did not work", Site: "hq", Data: "the form could not be read"})
		return
	}
	pw := r.PostForm.Get("password")
	if pw != r.PostForm.Get("password_confirm") {
		s.renderInvitationError(w, r, http.StatusUnprocessableEntity, ui.Problem{Field: "password_confirm", Message: "The two passwords differ; type the same password twice."})
		return
	}
	if err := s.API.Call(w, r, http.MethodPost, "/api/hq/invitations/accept", map[string]string{"token": token, "password": pw}, nil); err != nil {
		if e, ok := bff.AsAPIError(err); ok && e.Kind == wire.KindValidation && e.Field == "password" {
			s.renderInvitationError(w, r, e.Status, ui.Problem{Field: e.Field, Message: e.Message})
			return
		}
		s.invitationRefused(w, r, err)
		return
	}
	http.Redirect(w, r, "/mfa/setup", http.StatusSeeOther)
}

func (s *Server) renderInvitationError(w http.ResponseWriter, r *http.Request, status int, pr ui.Problem) {
	var v invitationView
	if err := s.API.Call(w, r, http.MethodGet, "/api/hq/invitation-lookup?token="+url.QueryEscape(r.PathValue("token")), nil, &v); err != nil {
		s.invitationRefused(w, r, err)
		return
	}
	p := ui.Page{Title: "Join Palisade HQ", Site: "hq", Data: v}
	p.Show(pr)
	s.Views.Render(w, status, "hq_accept", p)
}

type sessionView struct {
	ID          int64     `json:"id"`
	UserAgent   string    `json:"user_agent"`
	IP          string    `json:"ip"`
	CreatedAt   time.Time `json:"created_at"`
	LastSeenAt  time.Time `json:"last_seen_at"`
	Current     bool      `json:"current"`
	AwaitingMFA bool      `json:"awaiting_second_factor"`
}

type securityView struct {
	MFA struct {
		TOTP          bool `json:"totp"`
		RecoveryCodes int  `json:"recovery_codes_left"`
	} `json:"mfa"`
	Sessions []sessionView `json:"sessions"`
}

var securityFlashes = map[string]string{
	"password":       "Your password was changed; your other sessions were ended.",
	"revoked":        "That session was ended.",
	"revoked_others": "Your other sessions were ended.",
	"totp_cancelled": "The replacement was cancelled; your current authenticator app stays.",
}

func (s *Server) securityPage(w http.ResponseWriter, r *http.Request, o core.Operator) {
	s.renderSecurity(w, r, o, http.StatusOK, securityFlashes[r.URL.Query().Get("done")], ui.Problem{})
}

func (s *Server) renderSecurity(w http.ResponseWriter, r *http.Request, o core.Operator, status int, flash string, pr ui.Problem) {
	var d securityView
	if err := s.API.Call(w, r, http.MethodGet, "/api/hq/mfa", nil, &d); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.API.Call(w, r, http.MethodGet, "/api/hq/sessions", nil, &d); err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, o, "Security")
	p.Data, p.Flash = d, flash
	p.Show(pr)
	s.Views.Render(w, status, "hq_security", p)
}

func (s *Server) parseSmallForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.Views.Render(w, http.StatusBadRequest, "message", ui.Page{Title: "That did not work", Site: "hq", Data: "the form could not be read"})
		return false
	}
	return true
}

// securityError shows a refusal the operator can act on (wrong password,
// throttled) on the security page itself, with its status; form names the
// page's form the fields belong to ("totp"), or "" for the password form.
func (s *Server) securityError(w http.ResponseWriter, r *http.Request, o core.Operator, err error, form string) {
	e, ok := bff.AsAPIError(err)
	if !ok || e.Status >= 500 || e.LoginNeeded() {
		s.fail(w, r, err)
		return
	}
	if e.RetryAfter != "" {
		w.Header().Set("Retry-After", e.RetryAfter)
	}
	pr := ui.Problem{Field: e.Field, Message: e.Message}
	if form != "" {
		pr = pr.In(form)
	}
	s.renderSecurity(w, r, o, e.Status, "", pr)
}

func (s *Server) securityPassword(w http.ResponseWriter, r *http.Request, o core.Operator) {
	if !s.parseSmallForm(w, r) {
		return
	}
	if r.PostForm.Get("new_password") != r.PostForm.Get("new_password_confirm") {
		s.renderSecurity(w, r, o, http.StatusUnprocessableEntity, "", ui.Problem{Field: "new_password_confirm", Message: "The two new passwords differ; type the same password twice."})
		return
	}
	body := map[string]string{"current_password": r.PostForm.Get("current_password"), "new_password": r.PostForm.Get("new_password"), "code": r.PostForm.Get("code")}
	if err := s.API.Call(w, r, http.MethodPost, "/api/hq/auth/password", body, nil); err != nil {
		s.securityError(w, r, o, err, "")
		return
	}
	http.Redirect(w, r, "/security?done=password", http.StatusSeeOther)
}

func (s *Server) securityRevokeSession(w http.ResponseWriter, r *http.Request, o core.Operator) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.Views.Render(w, http.StatusNotFound, "message", ui.Page{Title: "Not found", Site: "hq", Data: "No such session."})
		return
	}
	if err := s.API.Call(w, r, http.MethodDelete, fmt.Sprintf("/api/hq/sessions/%d", id), nil, nil); err != nil {
		s.securityError(w, r, o, err, "")
		return
	}
	http.Redirect(w, r, "/security?done=revoked", http.StatusSeeOther)
}

func (s *Server) securityRevokeOthers(w http.ResponseWriter, r *http.Request, o core.Operator) {
	if err := s.API.Call(w, r, http.MethodPost, "/api/hq/sessions/revoke-others", map[string]string{}, nil); err != nil {
		s.securityError(w, r, o, err, "")
		return
	}
	http.Redirect(w, r, "/security?done=revoked_others", http.StatusSeeOther)
}

// securityReplaceTOTP starts (or resumes) replacing the authenticator app.
// Replacing needs step-up: the form carries the password and a current
// code, checked first unless this session's login is recent enough.
func (s *Server) securityReplaceTOTP(w http.ResponseWriter, r *http.Request, o core.Operator) {
	if !s.parseSmallForm(w, r) {
		return
	}
	if pw, code := r.PostForm.Get("password"), r.PostForm.Get("code"); pw != "" || code != "" {
		if err := s.API.Call(w, r, http.MethodPost, "/api/hq/auth/reauth", map[string]string{"password": pw, "code": code}, nil); err != nil {
			s.securityError(w, r, o, err, "totp")
			return
		}
	}
	s.renderReplaceTOTP(w, r, o, http.StatusOK, ui.Problem{})
}

func (s *Server) renderReplaceTOTP(w http.ResponseWriter, r *http.Request, o core.Operator, status int, pr ui.Problem) {
	var d totpSetup
	if err := s.API.Call(w, r, http.MethodPost, "/api/hq/mfa/totp/replace", nil, &d); err != nil {
		if e, ok := bff.AsAPIError(err); ok && e.Kind == wire.KindReauthRequired {
			s.renderSecurity(w, r, o, http.StatusForbidden, "", ui.Problem{Field: "totp.password", Message: "Enter your password and the current code from your authenticator app to replace it."})
			return
		}
		s.securityError(w, r, o, err, "")
		return
	}
	if strings.HasPrefix(d.QRPNG, "data:image/png;base64,") && !strings.ContainsAny(d.QRPNG, "\"<> ") {
		d.QR = template.URL(d.QRPNG) // #nosec G203 -- a base64 PNG data URL the API renders server-side from its own TOTP secret, validated above
	}
	p := s.page(r, o, "Replace your authenticator app")
	p.Data = d
	p.Show(pr)
	w.Header().Set("Cache-Control", "no-store")
	s.Views.Render(w, status, "hq_totp_replace", p)
}

func (s *Server) securityConfirmTOTP(w http.ResponseWriter, r *http.Request, o core.Operator) {
	if !s.parseSmallForm(w, r) {
		return
	}
	var out struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	if err := s.API.Call(w, r, http.MethodPost, "/api/hq/mfa/totp/replace/confirm", map[string]string{"code": r.PostForm.Get("code")}, &out); err != nil {
		if e, ok := bff.AsAPIError(err); ok && e.Status == http.StatusUnprocessableEntity {
			// The pending secret is kept: the same code is shown again.
			s.renderReplaceTOTP(w, r, o, e.Status, ui.Problem{Field: e.Field, Message: e.Message})
			return
		}
		s.securityError(w, r, o, err, "")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.Views.Render(w, http.StatusOK, "mfa_recovery", ui.Page{Title: "Recovery codes", Site: "hq", UserName: o.Name, Data: out.RecoveryCodes})
}

func (s *Server) securityCancelTOTP(w http.ResponseWriter, r *http.Request, o core.Operator) {
	if err := s.API.Call(w, r, http.MethodDelete, "/api/hq/mfa/totp/replace", nil, nil); err != nil {
		s.securityError(w, r, o, err, "")
		return
	}
	http.Redirect(w, r, "/security?done=totp_cancelled", http.StatusSeeOther)
}
