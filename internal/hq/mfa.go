package hq

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/palisade-hq/palisade/internal/bff"
	"github.com/palisade-hq/palisade/internal/ui"
)

// Second-factor pages. The API refuses every HQ route to an operator
// session without a verified second factor and says why in the error's
// field; fail sends the browser here accordingly.

type totpSetup struct {
	Secret string       `json:"secret"`
	QRPNG  string       `json:"qr_png"`
	QR     template.URL `json:"-"`
}

func (s *Server) mfaPage(w http.ResponseWriter, r *http.Request) {
	s.Views.Render(w, http.StatusOK, "mfa_verify", ui.Page{Title: "Two-step verification", Site: "hq"})
}

func (s *Server) mfaSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.Views.Render(w, http.StatusBadRequest, "mfa_verify", ui.Page{Title: "Two-step verification", Site: "hq", Error: "the form could not be read"})
		return
	}
	if err := s.API.Call(w, r, http.MethodPost, "/api/hq/auth/mfa", map[string]string{"code": r.PostForm.Get("code")}, nil); err != nil {
		if e, ok := bff.AsAPIError(err); ok && e.Status == http.StatusUnprocessableEntity {
			s.Views.Render(w, e.Status, "mfa_verify", ui.Page{Title: "Two-step verification", Site: "hq", Error: e.Message, Field: e.Field})
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/tenants", http.StatusSeeOther)
}

// mfaSetupPage starts enrolment; while one is pending, the API shows its
// secret again, so the code already in the app keeps working.
func (s *Server) mfaSetupPage(w http.ResponseWriter, r *http.Request) {
	var d totpSetup
	if err := s.API.Call(w, r, http.MethodPost, "/api/hq/mfa/totp", nil, &d); err != nil {
		s.fail(w, r, err)
		return
	}
	// html/template rightly refuses data: URLs it cannot vouch for; this
	// one is the API's own PNG, checked to be exactly that.
	if strings.HasPrefix(d.QRPNG, "data:image/png;base64,") && !strings.ContainsAny(d.QRPNG, "\"<> ") {
		d.QR = template.URL(d.QRPNG) // #nosec G203 -- a base64 PNG data URL the API renders server-side from its own TOTP secret, validated above
	}
	p := ui.Page{Title: "Set up two-step verification", Site: "hq", Data: d}
	if r.URL.Query().Get("retry") != "" {
		p.Field, p.Error = "code", "That code did not match. Check the time on your phone and enter the next code your app shows."
	}
	s.Views.Render(w, http.StatusOK, "mfa_setup", p)
}

func (s *Server) mfaSetupSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, err)
		return
	}
	var out struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	if err := s.API.Call(w, r, http.MethodPost, "/api/hq/mfa/totp/confirm", map[string]string{"code": r.PostForm.Get("code")}, &out); err != nil {
		if e, ok := bff.AsAPIError(err); ok && e.Status == http.StatusUnprocessableEntity {
			// The API keeps the pending secret: the page shows the same
			// code again.
			http.Redirect(w, r, "/mfa/setup?retry=1", http.StatusSeeOther)
			return
		}
		s.fail(w, r, err)
		return
	}
	s.Views.Render(w, http.StatusOK, "mfa_recovery", ui.Page{Title: "Recovery codes", Site: "hq", Data: out.RecoveryCodes})
}
