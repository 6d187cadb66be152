package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/palisade-hq/palisade/internal/bff"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/ui"
)

// routes lists every page of the tenant and apex sites.
func (s *Server) routes() {
	t := s.tenantMux
	t.Handle("/api/", bff.Proxy(s.API, s.Log, func(p string) bool { return !strings.HasPrefix(p, "/api/hq/") }))
	t.HandleFunc("GET /{$}", s.gate(s.dashboard))
	t.HandleFunc("GET /login", s.gate(s.loginPage))
	t.HandleFunc("POST /login", s.gate(s.loginSubmit))
	t.HandleFunc("GET /logout", s.gate(s.logoutPage))
	t.HandleFunc("POST /logout", s.logoutSubmit)
	t.HandleFunc("GET /auth/handoff", s.gate(s.handoff))
	t.HandleFunc("GET /members", s.gate(s.membersPage))
	t.HandleFunc("POST /members/invite", s.gate(s.inviteSubmit))
	t.HandleFunc("POST /members/{id}/remove", s.gate(s.confirmFirst("Remove this member? They lose access to the organisation at once.", "/members", nil, s.removeMember)))
	t.HandleFunc("POST /invitations/{id}/revoke", s.gate(s.revokeInvitation))
	t.HandleFunc("GET /invitations/{token}", s.gate(s.acceptPage))
	t.HandleFunc("POST /invitations/{token}", s.gate(s.acceptSubmit))
	t.HandleFunc("GET /password/forgot", s.gate(s.forgotPage))
	t.HandleFunc("POST /password/forgot", s.gate(s.forgotSubmit))
	t.HandleFunc("GET /password/reset", s.gate(s.resetPage))
	t.HandleFunc("POST /password/reset", s.gate(s.resetSubmit))
	t.HandleFunc("GET /audit", s.gate(s.auditPage))
	t.HandleFunc("GET /files", s.gate(s.filesPage))
	t.HandleFunc("GET /files/{id}/download", s.gate(s.fileDownload))
	t.HandleFunc("POST /files/{id}/delete", s.gate(s.confirmFirst("Delete this file? Nobody can download it afterwards.", "/files", nil, s.fileDelete)))
	t.HandleFunc("GET /mfa", s.gate(s.mfaPage))
	t.HandleFunc("POST /mfa", s.gate(s.mfaSubmit))
	t.HandleFunc("GET /mfa/setup", s.gate(s.mfaSetupPage))
	t.HandleFunc("POST /mfa/setup", s.gate(s.mfaSetupSubmit))
	t.HandleFunc("GET /security", s.gate(s.securityPage))
	t.HandleFunc("POST /security/sessions/{id}/revoke", s.gate(s.revokeSessionSubmit))
	t.HandleFunc("POST /security/sessions/revoke-others", s.gate(s.revokeOtherSessionsSubmit))
	t.HandleFunc("POST /security/password", s.gate(s.passwordSubmit))
	t.HandleFunc("GET /security/confirm", s.gate(s.confirmPage))
	t.HandleFunc("POST /security/reauth", s.gate(s.reauthSubmit))
	t.HandleFunc("POST /security/totp/setup", s.gate(s.stepUp("totp_setup")))
	t.HandleFunc("POST /security/totp/remove", s.gate(s.stepUp("totp_remove")))
	t.HandleFunc("POST /security/recovery-codes", s.gate(s.stepUp("recovery_codes")))
	t.HandleFunc("POST /security/passkeys/{id}/remove", s.gate(s.stepUp("passkey_remove")))
	t.HandleFunc("POST /security/tokens", s.gate(s.stepUp("token_create")))
	t.HandleFunc("POST /security/tokens/{id}/revoke", s.gate(s.confirmFirst("Revoke this API token? Scripts that use it stop working at once.", "/security", nil, s.revokeTokenSubmit)))
	t.HandleFunc("POST /security/mfa-policy", s.gate(s.confirmFirst("Require a second factor of every member? Those without one must set it up at their next page.", "/security",
		func(r *http.Request) bool { return r.PostForm.Get("require") == "true" }, s.stepUp("mfa_policy"))))
	t.HandleFunc("/", s.gate(func(w http.ResponseWriter, r *http.Request, ti tenantInfo) {
		s.Views.Render(w, http.StatusNotFound, "message", ui.Page{Title: "Not found", Site: "web", Tenant: ti.Name, Data: "There is no page at this address."})
	}))

	a := s.apexMux
	a.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s.Views.Render(w, http.StatusOK, "home", ui.Page{Title: "Welcome", Site: "apex"})
	})
	a.HandleFunc("GET /signup", s.signupPage)
	a.HandleFunc("POST /signup", s.signupSubmit)
	a.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.Views.Render(w, http.StatusNotFound, "message", ui.Page{Title: "Not found", Site: "apex", Data: "There is no page at this address."})
	})
}

// tenantInfo is the public face of the host's tenant.
type tenantInfo struct {
	ID            int64  `json:"id"`
	Slug          string `json:"slug"`
	Name          string `json:"name"`
	Status        string `json:"status"`
	SuspendReason string `json:"suspend_reason"`
}

type tenantPage func(w http.ResponseWriter, r *http.Request, t tenantInfo)

// gate resolves the host's tenant through the API: unknown tenants get a
// 404 page and suspended ones the suspended page, before any other work.
func (s *Server) gate(next tenantPage) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var out struct {
			Tenant tenantInfo `json:"tenant"`
		}
		if err := s.API.Call(w, r, http.MethodGet, "/api/tenant", nil, &out); err != nil {
			if e, ok := bff.AsAPIError(err); ok && e.Status == http.StatusNotFound {
				s.Views.Render(w, http.StatusNotFound, "message", ui.Page{Title: "No organisation here", Site: "web",
					Data: "No organisation lives at this address. Check the link, or create one at " + s.Hosts.ApexURL() + "."})
				return
			}
			s.fail(w, r, err)
			return
		}
		if out.Tenant.Status == core.TenantSuspended {
			s.Views.Render(w, http.StatusForbidden, "suspended", ui.Page{Title: "Suspended", Site: "web", Tenant: out.Tenant.Name, Data: out.Tenant.SuspendReason})
			return
		}
		next(w, r, out.Tenant)
	}
}

// me is the logged-in member, as the API sees the session.
type me struct {
	User core.User `json:"user"`
	Role core.Role `json:"role"`
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) (me, error) {
	var m me
	err := s.API.Call(w, r, http.MethodGet, "/api/me", nil, &m)
	return m, err
}

func (s *Server) page(t tenantInfo, m me, title string) ui.Page {
	return ui.Page{Title: title, Site: "web", Tenant: t.Name, UserName: m.User.Name, Role: string(m.Role), Realtime: s.realtime(t.ID, m.User.ID)}
}

// flashes are the notices a redirect may ask for; only known codes are
// shown, so a link cannot put words on our page.
var flashes = map[string]string{
	"invited":          "Invitation sent.",
	"removed":          "Member removed.",
	"revoked":          "Invitation revoked.",
	"logged_out":       "You are logged out.",
	"password_changed": "Your password was changed. Log in with it now.",
	"reset_sent":       "If an account exists for that address, a reset link is on its way.",
	"file_deleted":     "File deleted.",
	"joined":           "Welcome: you have joined the organisation.",
}

func flash(r *http.Request) string { return flashes[r.URL.Query().Get("flash")] }

func redirectFlash(w http.ResponseWriter, r *http.Request, path, code string) {
	http.Redirect(w, r, path+"?flash="+url.QueryEscape(code), http.StatusSeeOther)
}

// confirmFirst runs next only on a confirmed post (ui.Confirmed); the
// first, unconfirmed one gets the confirmation page. only, when set,
// limits the question to the posts it is true for.
func (s *Server) confirmFirst(question, cancel string, only func(*http.Request) bool, next tenantPage) tenantPage {
	return func(w http.ResponseWriter, r *http.Request, t tenantInfo) {
		if err := parseForm(w, r); err != nil {
			s.Views.Render(w, http.StatusBadRequest, "message", ui.Page{Title: "That did not work", Site: "web", Tenant: t.Name, Data: err.Error()})
			return
		}
		if !ui.Confirmed(r) && (only == nil || only(r)) {
			s.Views.Render(w, http.StatusOK, "confirm", ui.Page{Title: "Please confirm", Site: "web", Tenant: t.Name, Data: ui.ConfirmationOf(r, question, cancel)})
			return
		}
		next(w, r, t)
	}
}
