package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/palisade-hq/palisade/internal/bff"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/ui"
)

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	s.Views.Render(w, http.StatusOK, "login", ui.Page{Title: "Log in", Site: "web", Tenant: t.Name, Flash: flash(r)})
}

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	if err := parseForm(w, r); err != nil {
		s.Views.Render(w, http.StatusBadRequest, "login", ui.Page{Title: "Log in", Site: "web", Tenant: t.Name, Error: err.Error()})
		return
	}
	body := map[string]string{"email": r.PostForm.Get("email"), "password": r.PostForm.Get("password")}
	if err := s.API.Call(w, r, http.MethodPost, "/api/auth/login", body, nil); err != nil {
		s.formFailed(w, r, err, "login", ui.Page{Title: "Log in", Site: "web", Tenant: t.Name, Form: map[string]string{"email": body["email"]}})
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// formFailed re-renders a form with the API's message, or fails the page.
func (s *Server) formFailed(w http.ResponseWriter, r *http.Request, err error, view string, p ui.Page) {
	e, ok := formError(err)
	if !ok {
		s.fail(w, r, err)
		return
	}
	p.Error, p.Field = e.Message, e.Field
	if e.RetryAfter != "" {
		w.Header().Set("Retry-After", e.RetryAfter)
	}
	s.Views.Render(w, e.Status, view, p)
}

func (s *Server) logoutPage(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	s.Views.Render(w, http.StatusOK, "logout", ui.Page{Title: "Log out", Site: "web", Tenant: t.Name})
}

// logoutSubmit works even for a suspended tenant: leaving is always allowed.
func (s *Server) logoutSubmit(w http.ResponseWriter, r *http.Request) {
	if err := s.API.Call(w, r, http.MethodPost, "/api/auth/logout", nil, nil); err != nil {
		if e, ok := bff.AsAPIError(err); !ok || e.Status >= 500 {
			s.fail(w, r, err)
			return
		}
		// A suspended tenant's API refuses everything; still drop the cookie.
		// Same attributes as the session manager's cookie: Secure exactly
		// when HSTS is on (outside dev), so the deletion matches it.
		http.SetCookie(w, &http.Cookie{Name: "palisade_session", Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.HSTS, SameSite: http.SameSiteLaxMode}) // #nosec G124 -- Secure follows HSTS, i.e. cfg.Secure(): off only in dev and test, served over plain http
	}
	redirectFlash(w, r, "/login", "logged_out")
}

func (s *Server) handoff(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	body := map[string]string{"token": r.URL.Query().Get("token")}
	if err := s.API.Call(w, r, http.MethodPost, "/api/auth/handoff", body, nil); err != nil {
		if e, ok := bff.AsAPIError(err); ok && e.Status == http.StatusUnprocessableEntity {
			s.Views.Render(w, e.Status, "login", ui.Page{Title: "Log in", Site: "web", Tenant: t.Name, Error: e.Message})
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

type membersData struct {
	Members     []core.Member
	Invitations []core.Invitation
	CanManage   bool
}

func (s *Server) membersPage(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	s.renderMembers(w, r, t, http.StatusOK, ui.Problem{}, nil)
}

func (s *Server) renderMembers(w http.ResponseWriter, r *http.Request, t tenantInfo, status int, pr ui.Problem, form map[string]string) {
	m, err := s.me(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var d membersData
	var list struct {
		Members []core.Member `json:"members"`
	}
	if err := s.API.Call(w, r, http.MethodGet, "/api/members?limit=200", nil, &list); err != nil {
		s.fail(w, r, err)
		return
	}
	d.Members = list.Members
	d.CanManage = m.Role.CanManageMembers()
	if d.CanManage {
		var invs struct {
			Invitations []core.Invitation `json:"invitations"`
		}
		if err := s.API.Call(w, r, http.MethodGet, "/api/invitations", nil, &invs); err != nil {
			s.fail(w, r, err)
			return
		}
		d.Invitations = invs.Invitations
	}
	p := s.page(t, m, "Members")
	p.Flash, p.Form, p.Data = flash(r), form, d
	p.Show(pr)
	s.Views.Render(w, status, "members", p)
}

func (s *Server) inviteSubmit(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	if err := parseForm(w, r); err != nil {
		s.renderMembers(w, r, t, http.StatusBadRequest, ui.Banner(err.Error()), nil)
		return
	}
	body := map[string]string{"email": r.PostForm.Get("email"), "role": r.PostForm.Get("role")}
	if err := s.API.Call(w, r, http.MethodPost, "/api/invitations", body, nil); err != nil {
		if e, ok := formError(err); ok {
			s.renderMembers(w, r, t, e.Status, ui.Problem{Field: e.Field, Message: e.Message}, body)
			return
		}
		s.fail(w, r, err)
		return
	}
	redirectFlash(w, r, "/members", "invited")
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.renderMembers(w, r, t, http.StatusBadRequest, ui.Banner("That member does not exist."), nil)
		return
	}
	if err := s.API.Call(w, r, http.MethodDelete, "/api/members/"+strconv.FormatInt(id, 10), nil, nil); err != nil {
		if e, ok := bff.AsAPIError(err); ok && e.Status == http.StatusConflict {
			s.renderMembers(w, r, t, e.Status, ui.Banner(e.Message), nil)
			return
		}
		s.fail(w, r, err)
		return
	}
	redirectFlash(w, r, "/members", "removed")
}

func (s *Server) revokeInvitation(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.renderMembers(w, r, t, http.StatusBadRequest, ui.Banner("That invitation does not exist."), nil)
		return
	}
	if err := s.API.Call(w, r, http.MethodDelete, "/api/invitations/"+strconv.FormatInt(id, 10), nil, nil); err != nil {
		s.fail(w, r, err)
		return
	}
	redirectFlash(w, r, "/members", "revoked")
}

type acceptData struct {
	Email         string    `json:"email"`
	Role          core.Role `json:"role"`
	TenantName    string    `json:"tenant_name"`
	AccountExists bool      `json:"account_exists"`
}

func (s *Server) lookupInvitation(w http.ResponseWriter, r *http.Request) (acceptData, error) {
	var d acceptData
	err := s.API.Call(w, r, http.MethodGet, "/api/invitation-lookup?token="+url.QueryEscape(r.PathValue("token")), nil, &d)
	return d, err
}

func (s *Server) acceptPage(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	d, err := s.lookupInvitation(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.Views.Render(w, http.StatusOK, "accept", ui.Page{Title: "Join " + t.Name, Site: "web", Tenant: t.Name, Data: d})
}

func (s *Server) acceptSubmit(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	body := map[string]string{"token": r.PathValue("token"), "name": r.PostForm.Get("name"), "password": r.PostForm.Get("password")}
	if err := s.API.Call(w, r, http.MethodPost, "/api/invitations/accept", body, nil); err != nil {
		d, lerr := s.lookupInvitation(w, r)
		if lerr != nil {
			s.fail(w, r, err)
			return
		}
		s.formFailed(w, r, err, "accept", ui.Page{Title: "Join " + t.Name, Site: "web", Tenant: t.Name, Data: d, Form: map[string]string{"name": body["name"]}})
		return
	}
	redirectFlash(w, r, "/", "joined")
}

func (s *Server) forgotPage(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	s.Views.Render(w, http.StatusOK, "forgot", ui.Page{Title: "Reset password", Site: "web", Tenant: t.Name})
}

func (s *Server) forgotSubmit(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	body := map[string]string{"email": r.PostForm.Get("email")}
	if err := s.API.Call(w, r, http.MethodPost, "/api/auth/password-reset", body, nil); err != nil {
		s.formFailed(w, r, err, "forgot", ui.Page{Title: "Reset password", Site: "web", Tenant: t.Name, Form: body})
		return
	}
	redirectFlash(w, r, "/login", "reset_sent")
}

func (s *Server) resetPage(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	s.Views.Render(w, http.StatusOK, "reset", ui.Page{Title: "New password", Site: "web", Tenant: t.Name, Form: map[string]string{"token": r.URL.Query().Get("token")}})
}

func (s *Server) resetSubmit(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	body := map[string]string{"token": r.PostForm.Get("token"), "password": r.PostForm.Get("password")}
	if err := s.API.Call(w, r, http.MethodPost, "/api/auth/password-reset/confirm", body, nil); err != nil {
		s.formFailed(w, r, err, "reset", ui.Page{Title: "New password", Site: "web", Tenant: t.Name, Form: map[string]string{"token": body["token"]}})
		return
	}
	redirectFlash(w, r, "/login", "password_changed")
}

type auditData struct {
	Events []core.AuditRow `json:"events"`
	Next   int64           `json:"next_before"`
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	m, err := s.me(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var d auditData
	path := "/api/audit?limit=50"
	if b := r.URL.Query().Get("before"); b != "" {
		path += "&before=" + url.QueryEscape(b)
	}
	if err := s.API.Call(w, r, http.MethodGet, path, nil, &d); err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(t, m, "Audit trail")
	p.Data = d
	s.Views.Render(w, http.StatusOK, "audit", p)
}

func (s *Server) signupPage(w http.ResponseWriter, r *http.Request) {
	s.Views.Render(w, http.StatusOK, "signup", ui.Page{Title: "Create your organisation", Site: "apex", Data: s.Hosts.TenantURL("your-name")})
}

func (s *Server) signupSubmit(w http.ResponseWriter, r *http.Request) {
	p := ui.Page{Title: "Create your organisation", Site: "apex", Data: s.Hosts.TenantURL("your-name")}
	if err := parseForm(w, r); err != nil {
		p.Error = err.Error()
		s.Views.Render(w, http.StatusBadRequest, "signup", p)
		return
	}
	f := r.PostForm
	body := map[string]string{
		"organisation_name": f.Get("organisation_name"), "slug": f.Get("slug"),
		"name": f.Get("name"), "email": f.Get("email"), "password": f.Get("password"),
	}
	var out struct {
		LoginURL string `json:"login_url"`
	}
	if err := s.API.Call(w, r, http.MethodPost, "/api/signup", body, &out); err != nil {
		delete(body, "password")
		p.Form = body
		s.formFailed(w, r, err, "signup", p)
		return
	}
	http.Redirect(w, r, out.LoginURL, http.StatusSeeOther)
}
