package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/palisade-hq/palisade/internal/bff"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/ui"
	"github.com/palisade-hq/palisade/internal/wire"
)

// The Security page: a member's sessions, password, second factors,
// passkeys and API tokens, and the owner's MFA policy. Every change goes
// through the API, which checks it; sensitive ones need a recent login
// there, and the page answers reauth_required by asking for the password (or a
// passkey) and then doing what was asked.

// tokenResources are the resources an API token can be scoped to, as the
// API defines them (internal/api/tokens.go); the API rejects anything else,
// and TestSecurityTokens creates a token with every one of them.
var tokenResources = []string{"members", "invitations", "audit", "files"}

// tokenExpiries are the lifetimes offered, in days (the API allows 1–365).
var tokenExpiries = []int{7, 30, 90, 365}

type sessionRow struct {
	ID         int64     `json:"id"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	Current    bool      `json:"current"`
	// Awaiting: the password was given, the second factor not (yet).
	Awaiting bool `json:"awaiting_second_factor"`
}

type passkeyRow struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

type tokenRow struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Hint       string     `json:"hint"`
	Scopes     []string   `json:"scopes"`
	ExpiresAt  time.Time  `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	LastUsedIP string     `json:"last_used_ip"`
	RevokedAt  *time.Time `json:"revoked_at"`
	CreatedAt  time.Time  `json:"created_at"`
}

// Live is whether the token still works as of the page.
func (t tokenRow) Live() bool { return t.RevokedAt == nil && time.Now().Before(t.ExpiresAt) }

type mfaState struct {
	MFA struct {
		TOTP          bool `json:"totp"`
		Passkeys      int  `json:"passkeys"`
		RecoveryCodes int  `json:"recovery_codes_left"`
	} `json:"mfa"`
	Required bool `json:"required"`
}

type securityData struct {
	Sessions  []sessionRow
	MFA       mfaState
	Passkeys  []passkeyRow
	Tokens    []tokenRow
	Resources []string
	Expiries  []int
	IsOwner   bool
	IsManager bool
}

var securityFlashes = map[string]string{ // #nosec G101 -- flash messages for the security page, no credential
	"session_revoked":   "The session was ended; that device is logged out.",
	"sessions_revoked":  "Every other session was ended.",
	"password_changed":  "Your password was changed. Your other sessions were signed out.",
	"totp_removed":      "The authenticator app was removed.",
	"passkey_added":     "Passkey added.",
	"passkey_removed":   "Passkey removed.",
	"token_revoked":     "The token was revoked; it no longer works.",
	"mfa_required":      "Every member now needs a second factor.",
	"mfa_optional":      "A second factor is now optional for members.",
	"confirmed_passkey": "Confirmed. Add your passkey now.",
}

func securityFlash(r *http.Request) string {
	if f, ok := securityFlashes[r.URL.Query().Get("flash")]; ok {
		return f
	}
	return flash(r)
}

func (s *Server) securityPage(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	s.renderSecurity(w, r, t, http.StatusOK, ui.Problem{}, nil)
}

func (s *Server) renderSecurity(w http.ResponseWriter, r *http.Request, t tenantInfo, status int, pr ui.Problem, form map[string]string) {
	m, err := s.me(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := securityData{Resources: tokenResources, Expiries: tokenExpiries,
		IsOwner: m.Role == core.RoleOwner, IsManager: m.Role.CanManageMembers()}
	var sess struct {
		Sessions []sessionRow `json:"sessions"`
	}
	var pks struct {
		Passkeys []passkeyRow `json:"passkeys"`
	}
	var toks struct {
		Tokens []tokenRow `json:"api_tokens"`
	}
	for _, c := range []struct {
		path string
		out  any
	}{{"/api/sessions", &sess}, {"/api/mfa", &d.MFA}, {"/api/mfa/passkeys", &pks}, {"/api/tokens", &toks}} {
		if err := s.API.Call(w, r, http.MethodGet, c.path, nil, c.out); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	d.Sessions, d.Passkeys, d.Tokens = sess.Sessions, pks.Passkeys, toks.Tokens
	p := s.page(t, m, "Security")
	p.Flash, p.Form, p.Data = securityFlash(r), form, d
	p.Show(pr)
	s.Views.Render(w, status, "security", p)
}

// securityFailed shows an API refusal: a step-up request becomes the
// re-authentication form for the same action; a problem with the input is
// shown on the page; a lost login or anything else fails the page.
func (s *Server) securityFailed(w http.ResponseWriter, r *http.Request, t tenantInfo, err error, action string, params url.Values) {
	e, ok := bff.AsAPIError(err)
	switch {
	case ok && e.Kind == wire.KindReauthRequired:
		s.renderReauth(w, r, t, http.StatusForbidden, ui.Problem{}, action, params)
	case ok && e.LoginNeeded():
		s.fail(w, r, err)
	case ok && e.Status >= 400 && e.Status < 500 && e.Reason != wire.ReasonTenantSuspended:
		if e.RetryAfter != "" {
			w.Header().Set("Retry-After", e.RetryAfter)
		}
		// The form is shown again as it was sent (never a secret: params
		// hold only stepUpFields).
		form := map[string]string{}
		for k := range params {
			form[k] = params.Get(k)
		}
		s.renderSecurity(w, r, t, e.Status, ui.Problem{Field: e.Field, Message: e.Message}, form)
	default:
		s.fail(w, r, err)
	}
}

// --- sessions ---

func (s *Server) revokeSessionSubmit(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.renderSecurity(w, r, t, http.StatusBadRequest, ui.Banner("That session does not exist."), nil)
		return
	}
	if err := s.API.Call(w, r, http.MethodDelete, "/api/sessions/"+strconv.FormatInt(id, 10), nil, nil); err != nil {
		s.securityFailed(w, r, t, notFoundAs(err, "That session does not exist or has already ended."), "", nil)
		return
	}
	redirectFlash(w, r, "/security", "session_revoked")
}

func (s *Server) revokeOtherSessionsSubmit(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	if err := s.API.Call(w, r, http.MethodPost, "/api/sessions/revoke-others", nil, nil); err != nil {
		s.securityFailed(w, r, t, err, "", nil)
		return
	}
	redirectFlash(w, r, "/security", "sessions_revoked")
}

// --- password ---

func (s *Server) passwordSubmit(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	if err := parseForm(w, r); err != nil {
		s.renderSecurity(w, r, t, http.StatusBadRequest, ui.Banner(err.Error()), nil)
		return
	}
	f := r.PostForm
	if f.Get("new_password") != f.Get("confirm_password") {
		s.renderSecurity(w, r, t, http.StatusUnprocessableEntity, ui.Problem{Field: "confirm_password", Message: "The new password and its confirmation differ."}, nil)
		return
	}
	body := map[string]string{"current_password": f.Get("current_password"), "new_password": f.Get("new_password"), "code": strings.TrimSpace(f.Get("code"))}
	if err := s.API.Call(w, r, http.MethodPost, "/api/auth/password", body, nil); err != nil {
		s.securityFailed(w, r, t, err, "", nil)
		return
	}
	redirectFlash(w, r, "/security", "password_changed")
}

// --- actions that may need a recent login ---

// stepUpActions run one sensitive change; each reads only its own fields
// from params, so the re-authentication form can carry them back.
var stepUpActions = map[string]func(s *Server, w http.ResponseWriter, r *http.Request, t tenantInfo, params url.Values) error{
	"totp_setup": func(s *Server, w http.ResponseWriter, r *http.Request, t tenantInfo, _ url.Values) error {
		// Starting here checks the step-up; /mfa/setup then shows a fresh secret.
		if err := s.API.Call(w, r, http.MethodPost, "/api/mfa/totp", nil, nil); err != nil {
			return err
		}
		http.Redirect(w, r, "/mfa/setup", http.StatusSeeOther)
		return nil
	},
	"totp_remove": func(s *Server, w http.ResponseWriter, r *http.Request, t tenantInfo, _ url.Values) error {
		if err := s.API.Call(w, r, http.MethodDelete, "/api/mfa/totp", nil, nil); err != nil {
			return notFoundAs(err, "No authenticator app is set up.")
		}
		redirectFlash(w, r, "/security", "totp_removed")
		return nil
	},
	"recovery_codes": func(s *Server, w http.ResponseWriter, r *http.Request, t tenantInfo, _ url.Values) error {
		var out struct {
			RecoveryCodes []string `json:"recovery_codes"`
		}
		if err := s.API.Call(w, r, http.MethodPost, "/api/mfa/recovery-codes", nil, &out); err != nil {
			return err
		}
		m, err := s.me(w, r)
		if err != nil {
			return err
		}
		p := s.page(t, m, "New recovery codes")
		p.Data = out.RecoveryCodes
		s.Views.Render(w, http.StatusOK, "security_codes", p)
		return nil
	},
	"passkey_add": func(s *Server, w http.ResponseWriter, r *http.Request, t tenantInfo, _ url.Values) error {
		// The ceremony itself runs in the browser (security.js); after a
		// step-up the member starts it again.
		redirectFlash(w, r, "/security", "confirmed_passkey")
		return nil
	},
	"passkey_remove": func(s *Server, w http.ResponseWriter, r *http.Request, t tenantInfo, params url.Values) error {
		id, err := strconv.ParseInt(params.Get("id"), 10, 64)
		if err != nil || id <= 0 {
			return &bff.APIError{Status: http.StatusBadRequest, Code: "invalid", Message: "That passkey does not exist."}
		}
		if err := s.API.Call(w, r, http.MethodDelete, "/api/mfa/passkeys/"+strconv.FormatInt(id, 10), nil, nil); err != nil {
			return notFoundAs(err, "That passkey does not exist.")
		}
		redirectFlash(w, r, "/security", "passkey_removed")
		return nil
	},
	"token_create": func(s *Server, w http.ResponseWriter, r *http.Request, t tenantInfo, params url.Values) error {
		days, err := strconv.Atoi(params.Get("expires_in_days"))
		if err != nil || !slices.Contains(tokenExpiries, days) {
			return &bff.APIError{Status: http.StatusUnprocessableEntity, Code: "invalid", Field: "expires_in_days", Message: "Choose how long the token lasts."}
		}
		scopes := []string{}
		for _, res := range tokenResources {
			switch lvl := params.Get("scope_" + res); lvl {
			case "", "none":
			case "read", "write":
				scopes = append(scopes, res+":"+lvl)
			default:
				return &bff.APIError{Status: http.StatusUnprocessableEntity, Code: "invalid", Field: "scopes", Message: "Access to " + res + " is none, read or write."}
			}
		}
		var out struct {
			Token    string   `json:"token"`
			APIToken tokenRow `json:"api_token"`
		}
		body := map[string]any{"name": params.Get("name"), "scopes": scopes, "expires_in_days": days}
		if err := s.API.Call(w, r, http.MethodPost, "/api/tokens", body, &out); err != nil {
			return err
		}
		m, err := s.me(w, r)
		if err != nil {
			return err
		}
		p := s.page(t, m, "New API token")
		p.Data = out
		s.Views.Render(w, http.StatusCreated, "security_token", p)
		return nil
	},
	"mfa_policy": func(s *Server, w http.ResponseWriter, r *http.Request, t tenantInfo, params url.Values) error {
		req := params.Get("require")
		if req != "true" && req != "false" {
			return &bff.APIError{Status: http.StatusUnprocessableEntity, Code: "invalid", Field: "require", Message: "Choose whether a second factor is required."}
		}
		if err := s.API.Call(w, r, http.MethodPut, "/api/tenant/mfa-policy", map[string]bool{"require": req == "true"}, nil); err != nil {
			return err
		}
		redirectFlash(w, r, "/security", map[bool]string{true: "mfa_required", false: "mfa_optional"}[req == "true"])
		return nil
	},
}

// stepUpFields are the only form fields carried through re-authentication;
// secrets are never among them.
var stepUpFields = func() []string {
	f := []string{"id", "name", "expires_in_days", "require"}
	for _, res := range tokenResources {
		f = append(f, "scope_"+res)
	}
	return f
}()

// stepUp is the page handler of a sensitive action: it runs it with the
// posted form (and the path's id, if any).
func (s *Server) stepUp(action string) tenantPage {
	if _, ok := stepUpActions[action]; !ok {
		panic("web: no step-up action " + action)
	}
	return func(w http.ResponseWriter, r *http.Request, t tenantInfo) {
		if err := parseForm(w, r); err != nil {
			s.renderSecurity(w, r, t, http.StatusBadRequest, ui.Banner(err.Error()), nil)
			return
		}
		params := url.Values{}
		for _, k := range stepUpFields {
			if v := r.PostForm.Get(k); v != "" {
				params.Set(k, v)
			}
		}
		if id := r.PathValue("id"); id != "" {
			params.Set("id", id)
		}
		s.runStepUp(w, r, t, action, params)
	}
}

// confirmPage asks for re-authentication before an action the browser
// runs itself (adding a passkey), when the API has answered reauth_required.
func (s *Server) confirmPage(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	action := r.URL.Query().Get("action")
	if _, ok := stepUpActions[action]; !ok {
		s.renderSecurity(w, r, t, http.StatusBadRequest, ui.Banner("Nothing is waiting for confirmation; start again."), nil)
		return
	}
	s.renderReauth(w, r, t, http.StatusOK, ui.Problem{}, action, nil)
}

func (s *Server) runStepUp(w http.ResponseWriter, r *http.Request, t tenantInfo, action string, params url.Values) {
	if err := stepUpActions[action](s, w, r, t, params); err != nil {
		s.securityFailed(w, r, t, err, action, params)
	}
}

type reauthData struct {
	Action string
	Params []reauthParam
	MFA    mfaState
}

type reauthParam struct{ Name, Value string }

// renderReauth asks the member to confirm who they are before action.
func (s *Server) renderReauth(w http.ResponseWriter, r *http.Request, t tenantInfo, status int, pr ui.Problem, action string, params url.Values) {
	m, err := s.me(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := reauthData{Action: action}
	if err := s.API.Call(w, r, http.MethodGet, "/api/mfa", nil, &d.MFA); err != nil {
		s.fail(w, r, err)
		return
	}
	for _, k := range stepUpFields {
		if v := params.Get(k); v != "" {
			d.Params = append(d.Params, reauthParam{k, v})
		}
	}
	p := s.page(t, m, "Confirm it's you")
	p.Data = d
	p.Show(pr)
	s.Views.Render(w, status, "security_reauth", p)
}

// reauthSubmit confirms the password (and second factor) and then runs the
// pending action. With via=passkey the browser has just completed a passkey
// assertion (POST /api/auth/mfa/passkey/finish), which the API counts as a
// fresh login; the action then runs and the API checks that itself.
func (s *Server) reauthSubmit(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	if err := parseForm(w, r); err != nil {
		s.renderSecurity(w, r, t, http.StatusBadRequest, ui.Banner(err.Error()), nil)
		return
	}
	f := r.PostForm
	action := f.Get("action")
	if _, ok := stepUpActions[action]; !ok {
		s.renderSecurity(w, r, t, http.StatusBadRequest, ui.Banner("Nothing is waiting for confirmation; start again."), nil)
		return
	}
	params := url.Values{}
	for _, k := range stepUpFields {
		if v := f.Get(k); v != "" {
			params.Set(k, v)
		}
	}
	if f.Get("via") != "passkey" {
		body := map[string]string{"password": f.Get("password"), "code": strings.TrimSpace(f.Get("code"))}
		if err := s.API.Call(w, r, http.MethodPost, "/api/auth/reauth", body, nil); err != nil {
			if e, ok := formError(err); ok && !e.LoginNeeded() {
				if e.RetryAfter != "" {
					w.Header().Set("Retry-After", e.RetryAfter)
				}
				s.renderReauth(w, r, t, e.Status, ui.Problem{Field: e.Field, Message: e.Message}, action, params)
				return
			}
			s.fail(w, r, err)
			return
		}
	}
	s.runStepUp(w, r, t, action, params)
}

// --- tokens ---

func (s *Server) revokeTokenSubmit(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.renderSecurity(w, r, t, http.StatusBadRequest, ui.Banner("That token does not exist."), nil)
		return
	}
	if err := s.API.Call(w, r, http.MethodDelete, "/api/tokens/"+strconv.FormatInt(id, 10), nil, nil); err != nil {
		s.securityFailed(w, r, t, notFoundAs(err, "That token does not exist."), "", nil)
		return
	}
	redirectFlash(w, r, "/security", "token_revoked")
}

// pathInt reads a positive integer path value.
func pathInt(r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	return id, err == nil && id > 0
}

// notFoundAs turns the API's 404 for an id into a message about the thing
// on this page (the id may be another user's, which is the same to us),
// shown on the page instead of a "not found" page.
func notFoundAs(err error, msg string) error {
	if e, ok := bff.AsAPIError(err); ok && e.Status == http.StatusNotFound {
		return &bff.APIError{Status: http.StatusUnprocessableEntity, Code: "not_found", Message: msg}
	}
	return err
}
