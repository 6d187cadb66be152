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
			s.Views.Render(w, e.Status, "mfa_verify", ui.Page{Title: "Two-step verification", Site: "web", Tenant: t.Name, Error: e.Message})
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
}

// mfaSetupPage starts authenticator-app enrolment; each visit replaces an
// unconfirmed secret with a new one.
func (s *Server) mfaSetupPage(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	var d totpSetup
	if err := s.API.Call(w, r, http.MethodPost, "/api/mfa/totp", nil, &d); err != nil {
		s.fail(w, r, err)
		return
	}
	// html/template refuses data: URLs it cannot vouch for; this one is the
	// API's own PNG, checked to be exactly that.
	if strings.HasPrefix(d.QRPNG, "data:image/png;base64,") && !strings.ContainsAny(d.QRPNG, "\"<> ") {
		d.QR = template.URL(d.QRPNG) // #nosec G203 -- a base64 PNG data URL the API renders server-side from its own TOTP secret, validated above
	}
	p := ui.Page{Title: "Set up two-step verification", Site: "web", Tenant: t.Name, Data: d}
	if r.URL.Query().Get("retry") != "" {
		p.Error = "That code did not match. Scan this new code and try again."
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
