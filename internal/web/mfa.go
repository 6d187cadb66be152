package web

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/palisade-hq/palisade/internal/bff"
	"github.com/palisade-hq/palisade/internal/ui"
)

// Second-factor pages of the tenant site. After a password login, a member
// who has a second factor is sent to /mfa; one whose organisation requires
// a factor they lack is sent to /mfa/setup (see fail).

func (s *Server) mfaPage(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	s.Views.Render(w, http.StatusOK, "mfa_verify", ui.Page{Title: "Two-step verification", Site: "web", Tenant: t.Name})
}

func (s *Server) mfaSubmit(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	if err := parseForm(w, r); err != nil {
		s.Views.Render(w, http.StatusBadRequest, "mfa_verify", ui.Page{Title: "Two-step verification", Site: "web", Tenant: t.Name, Error: err.Error()})
		return
	}
	if err := s.API.Call(w, r, http.MethodPost, "/api/auth/mfa", map[string]string{"code": r.PostForm.Get("code")}, nil); err != nil {
		if e, ok := bff.AsAPIError(err); ok && e.Status == http.StatusUnprocessableEntity {
			s.Views.Render(w, e.Status, "mfa_verify", ui.Page{Title: "Two-step verification", Site: "web", Tenant: t.Name, Error: e.Message, Field: e.Field})
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

type totpSetup struct {
	Secret string       `json:"secret"`
	QRPNG  string       `json:"qr_png"`
	QR     template.URL `json:"-"`
	// Required: the organisation requires a second factor, so the page
	// offers no way round it (only logging out); otherwise it can be
	// cancelled.
	Required bool `json:"-"`
}

// mfaSetupPage starts authenticator-app enrolment; while one is pending,
// the API shows its secret again, so the code already in the user's app
// keeps working after a wrong code.
func (s *Server) mfaSetupPage(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	var d totpSetup
	if err := s.API.Call(w, r, http.MethodPost, "/api/mfa/totp", nil, &d); err != nil {
		s.fail(w, r, err)
		return
	}
	var st mfaState
	if err := s.API.Call(w, r, http.MethodGet, "/api/mfa", nil, &st); err != nil {
		s.fail(w, r, err)
		return
	}
	d.Required = st.Required
	// html/template refuses data: URLs it cannot vouch for; this one is the
	// API's own PNG, checked to be exactly that.
	if strings.HasPrefix(d.QRPNG, "data:image/png;base64,") && !strings.ContainsAny(d.QRPNG, "\"<> ") {
		d.QR = template.URL(d.QRPNG) // #nosec G203 -- a base64 PNG data URL the API renders server-side from its own TOTP secret, validated above
	}
	p := ui.Page{Title: "Set up two-step verification", Site: "web", Tenant: t.Name, Data: d}
	if r.URL.Query().Get("retry") != "" {
		p.Field, p.Error = "code", "That code did not match. Check the time on your phone and enter the next code your app shows."
	}
	s.Views.Render(w, http.StatusOK, "mfa_setup", p)
}

func (s *Server) mfaSetupSubmit(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	if err := parseForm(w, r); err != nil {
		http.Redirect(w, r, "/mfa/setup?retry=1", http.StatusSeeOther)
		return
	}
	var out struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	if err := s.API.Call(w, r, http.MethodPost, "/api/mfa/totp/confirm", map[string]string{"code": r.PostForm.Get("code")}, &out); err != nil {
		if e, ok := bff.AsAPIError(err); ok && e.Status == http.StatusUnprocessableEntity {
			http.Redirect(w, r, "/mfa/setup?retry=1", http.StatusSeeOther)
			return
		}
		s.fail(w, r, err)
		return
	}
	s.Views.Render(w, http.StatusOK, "mfa_recovery", ui.Page{Title: "Recovery codes", Site: "web", Tenant: t.Name, Data: out.RecoveryCodes})
}
