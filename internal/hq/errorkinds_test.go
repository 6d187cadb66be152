package hq_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/bff"
	"github.com/palisade-hq/palisade/internal/hq"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/obs"
	"github.com/palisade-hq/palisade/internal/tenancy"
	"github.com/palisade-hq/palisade/internal/testenv"
	"github.com/palisade-hq/palisade/internal/ui"
	"github.com/palisade-hq/palisade/internal/wire"
)

// hqAgainst is HQ in front of a stand-in API that knows a logged-in
// operator, answers route ("METHOD /api/path") with status and detail,
// and any other call with an empty object: the page's reaction to one
// kind of error, and to nothing else.
func hqAgainst(t *testing.T, route string, status int, detail httpx.ErrorDetail) http.Handler {
	t.Helper()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method + " " + r.URL.Path {
		case route:
			httpx.WriteJSON(w, status, httpx.ErrorBody{Error: detail})
		case "GET /api/hq/me":
			httpx.WriteJSON(w, http.StatusOK, map[string]any{"operator": map[string]any{"id": 1, "name": "Olga", "email": "olga@palisade.test"}})
		default:
			httpx.WriteJSON(w, http.StatusOK, map[string]any{})
		}
	}))
	t.Cleanup(api.Close)
	client, err := bff.NewClient(api.URL)
	if err != nil {
		t.Fatal(err)
	}
	views, err := ui.New()
	if err != nil {
		t.Fatal(err)
	}
	return hq.New(hq.Deps{API: client, Hosts: tenancy.FromBaseURL("http://localhost:3000"), Log: testenv.Logger(t), Metrics: obs.NewMetrics(), Views: views})
}

// TestHQActsOnErrorKind: HQ's pages decide on the API error's kind and
// reason, whatever its field says: each kind they branch on leads where it
// should, and a field that once carried the signal no longer does.
func TestHQActsOnErrorKind(t *testing.T) {
	forbidden := func(kind wire.Kind, reason, field string) httpx.ErrorDetail {
		return httpx.ErrorDetail{Code: "forbidden", Kind: kind, Reason: reason, Field: field, Message: "refused for a reason"}
	}
	for _, c := range []struct {
		name, route  string
		apiStatus    int
		detail       httpx.ErrorDetail
		method, path string
		form         url.Values
		status       int
		location     string // a redirect, or
		page         string // what the page shows
	}{
		{name: "unauthenticated logs in", route: "GET /api/hq/me", apiStatus: http.StatusUnauthorized, method: "GET", path: "/tenants",
			detail: httpx.ErrorDetail{Code: "unauthenticated", Kind: wire.KindUnauthenticated, Message: "log in"},
			status: http.StatusSeeOther, location: "/login"},
		{name: "mfa_required asks for the code", route: "GET /api/hq/me", apiStatus: http.StatusForbidden, method: "GET", path: "/tenants",
			detail: forbidden(wire.KindMFARequired, wire.ReasonMFAPending, ""), status: http.StatusSeeOther, location: "/mfa"},
		{name: "mfa_enrolment_required sets one up", route: "GET /api/hq/me", apiStatus: http.StatusForbidden, method: "GET", path: "/tenants",
			detail: forbidden(wire.KindMFAEnrolmentRequired, wire.ReasonMFANotEnrolled, ""), status: http.StatusSeeOther, location: "/mfa/setup"},
		{name: "reauth_required asks for password and code", route: "POST /api/hq/mfa/totp/replace", apiStatus: http.StatusForbidden, method: "POST", path: "/security/totp",
			form: url.Values{}, detail: forbidden(wire.KindReauthRequired, wire.ReasonLoginNotRecent, ""),
			status: http.StatusForbidden, page: "Enter your password and the current code from your authenticator app to replace it."},
		{name: "mfa_required on a step-up form still asks for the code", route: "POST /api/hq/auth/password", apiStatus: http.StatusForbidden, method: "POST", path: "/security/password",
			form: url.Values{"current_password": {"x"}, "new_password": {"y"}, "new_password_confirm": {"y"}}, detail: forbidden(wire.KindMFARequired, wire.ReasonMFAPending, ""),
			status: http.StatusSeeOther, location: "/mfa"},
		{name: "validation is shown at its field", route: "POST /api/hq/invitations/accept", apiStatus: http.StatusUnprocessableEntity, method: "POST", path: "/invitations/tok",
			form:   url.Values{"password": {"short"}, "password_confirm": {"short"}},
			detail: httpx.ErrorDetail{Code: "invalid", Kind: wire.KindValidation, Field: "password", Message: "must be at least 12 characters"},
			status: http.StatusUnprocessableEntity, page: `id="password-error"`},
		{name: "conflict: the file is not scanned yet", route: "GET /api/hq/tenants/1/files/2/download-url", apiStatus: http.StatusConflict, method: "GET", path: "/tenants/1/files/2/download",
			detail: httpx.ErrorDetail{Code: "conflict", Kind: wire.KindConflict, Reason: wire.ReasonFileScanPending, Message: "not scanned yet"},
			status: http.StatusConflict, page: "Not available yet"},
		{name: "forbidden: the file is refused", route: "GET /api/hq/tenants/1/files/2/download-url", apiStatus: http.StatusForbidden, method: "GET", path: "/tenants/1/files/2/download",
			detail: forbidden(wire.KindForbidden, wire.ReasonFileRefused, ""), status: http.StatusForbidden, page: "Download refused"},
		{name: "mfa_required on a download asks for the code", route: "GET /api/hq/tenants/1/files/2/download-url", apiStatus: http.StatusForbidden, method: "GET", path: "/tenants/1/files/2/download",
			detail: forbidden(wire.KindMFARequired, wire.ReasonMFAPending, ""), status: http.StatusSeeOther, location: "/mfa"},
		// The old magic field values mean nothing now.
		{name: "field mfa on a plain refusal", route: "GET /api/hq/me", apiStatus: http.StatusForbidden, method: "GET", path: "/tenants",
			detail: forbidden(wire.KindForbidden, "", "mfa"), status: http.StatusForbidden, page: "refused for a reason"},
		{name: "field reauth on a plain refusal", route: "POST /api/hq/mfa/totp/replace", apiStatus: http.StatusForbidden, method: "POST", path: "/security/totp",
			form: url.Values{}, detail: forbidden(wire.KindForbidden, "", "reauth"), status: http.StatusForbidden, page: "Refused for a reason."},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := hqAgainst(t, c.route, c.apiStatus, c.detail)
			var req *http.Request
			if c.form != nil {
				req = httptest.NewRequest(c.method, "http://admin.localhost:3000"+c.path, strings.NewReader(c.form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			} else {
				req = httptest.NewRequest(c.method, "http://admin.localhost:3000"+c.path, nil)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			body := rec.Body.String()
			if rec.Code != c.status || rec.Header().Get("Location") != c.location {
				t.Fatalf("got %d → %q, want %d → %q:\n%s", rec.Code, rec.Header().Get("Location"), c.status, c.location, body)
			}
			if c.page != "" && !strings.Contains(body, c.page) {
				t.Fatalf("page lacks %s:\n%s", c.page, body)
			}
			if strings.Contains(c.name, "field reauth") && strings.Contains(body, "Enter your password and the current code") {
				t.Fatalf("a plain refusal was taken for a step-up:\n%s", body)
			}
		})
	}
}
