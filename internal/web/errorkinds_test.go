package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/bff"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/obs"
	"github.com/palisade-hq/palisade/internal/tenancy"
	"github.com/palisade-hq/palisade/internal/testenv"
	"github.com/palisade-hq/palisade/internal/ui"
	"github.com/palisade-hq/palisade/internal/web"
	"github.com/palisade-hq/palisade/internal/wire"
)

// refusal is an API error answer as the API writes it.
type refusal struct {
	status int
	detail httpx.ErrorDetail
}

// webAgainst is the web server in front of a stand-in API that knows an
// active tenant "acme" and its logged-in member, answers route ("METHOD
// /api/path") with ref, and any other call with an empty object: the
// page's reaction to one kind of error, and to nothing else.
func webAgainst(t *testing.T, route string, ref refusal) http.Handler {
	t.Helper()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method + " " + r.URL.Path {
		case route:
			httpx.WriteJSON(w, ref.status, httpx.ErrorBody{Error: ref.detail})
		case "GET /api/tenant":
			httpx.WriteJSON(w, http.StatusOK, map[string]any{"tenant": map[string]any{"id": 1, "slug": "acme", "name": "Acme", "status": "active"}})
		case "GET /api/me":
			httpx.WriteJSON(w, http.StatusOK, map[string]any{"user": map[string]any{"id": 1, "name": "Ada"}, "role": "owner"})
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
	return web.New(web.Deps{API: client, Hosts: tenancy.FromBaseURL("http://localhost:3000"), Log: testenv.Logger(t), Metrics: obs.NewMetrics(), Views: views})
}

func serve(h http.Handler, method, path string, form url.Values) *httptest.ResponseRecorder {
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, "http://acme.localhost:3000"+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, "http://acme.localhost:3000"+path, nil)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestWebActsOnErrorKind: the web pages decide on the API error's kind
// and reason, whatever its field says: each kind the pages branch on
// leads where it should, and a field that once carried the signal
// ("mfa", "reauth") no longer does.
func TestWebActsOnErrorKind(t *testing.T) {
	forbidden := func(kind wire.Kind, reason, field string) refusal {
		return refusal{http.StatusForbidden, httpx.ErrorDetail{Code: "forbidden", Kind: kind, Reason: reason, Field: field, Message: "refused for a reason"}}
	}
	for _, c := range []struct {
		name, route string
		ref         refusal
		method      string
		path        string
		form        url.Values
		status      int
		location    string // a redirect, or
		page        string // what the page shows
	}{
		{name: "unauthenticated logs in", route: "GET /api/members", method: "GET", path: "/members",
			ref:    refusal{http.StatusUnauthorized, httpx.ErrorDetail{Code: "unauthenticated", Kind: wire.KindUnauthenticated, Message: "log in"}},
			status: http.StatusSeeOther, location: "/login"},
		{name: "mfa_required asks for the second factor", route: "GET /api/members", method: "GET", path: "/members",
			ref: forbidden(wire.KindMFARequired, wire.ReasonMFAPending, ""), status: http.StatusSeeOther, location: "/mfa"},
		{name: "mfa_enrolment_required sets one up", route: "GET /api/members", method: "GET", path: "/members",
			ref: forbidden(wire.KindMFAEnrolmentRequired, wire.ReasonMFANotEnrolled, ""), status: http.StatusSeeOther, location: "/mfa/setup"},
		{name: "reauth_required asks for the password, then the action", route: "POST /api/tokens", method: "POST", path: "/security/tokens",
			form: url.Values{"name": {"CI"}, "scopes": {"members:read"}, "expires_in_days": {"30"}},
			ref:  forbidden(wire.KindReauthRequired, wire.ReasonLoginNotRecent, ""), status: http.StatusForbidden, page: `name="action" value="token_create"`},
		{name: "a suspended tenant is said so", route: "GET /api/members", method: "GET", path: "/members",
			ref: forbidden(wire.KindForbidden, wire.ReasonTenantSuspended, ""), status: http.StatusForbidden, page: "<h1>Suspended</h1>"},
		{name: "forbidden is not allowed", route: "GET /api/members", method: "GET", path: "/members",
			ref: forbidden(wire.KindForbidden, "", ""), status: http.StatusForbidden, page: "<h1>Not allowed</h1>"},
		{name: "not_found is not found", route: "GET /api/members", method: "GET", path: "/members",
			ref:    refusal{http.StatusNotFound, httpx.ErrorDetail{Code: "not_found", Kind: wire.KindNotFound, Message: "not found"}},
			status: http.StatusNotFound, page: "<h1>Not found</h1>"},
		{name: "validation is shown at its field", route: "POST /api/auth/login", method: "POST", path: "/login",
			form:   url.Values{"email": {"ada@acme.test"}, "password": {"x"}},
			ref:    refusal{http.StatusUnprocessableEntity, httpx.ErrorDetail{Code: "invalid", Kind: wire.KindValidation, Field: "email", Message: "is not a valid e-mail address"}},
			status: http.StatusUnprocessableEntity, page: `id="email-error"`},
		// The old magic field values mean nothing now.
		{name: "field mfa on a plain refusal", route: "GET /api/members", method: "GET", path: "/members",
			ref: forbidden(wire.KindForbidden, "", "mfa"), status: http.StatusForbidden, page: "<h1>Not allowed</h1>"},
		{name: "field reauth on a plain refusal", route: "POST /api/tokens", method: "POST", path: "/security/tokens",
			form: url.Values{"name": {"CI"}, "scopes": {"members:read"}, "expires_in_days": {"30"}},
			ref:  forbidden(wire.KindForbidden, "", "reauth"), status: http.StatusForbidden, page: `id="token-name"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := serve(webAgainst(t, c.route, c.ref), c.method, c.path, c.form)
			body := rec.Body.String()
			if rec.Code != c.status || rec.Header().Get("Location") != c.location {
				t.Fatalf("got %d → %q, want %d → %q:\n%s", rec.Code, rec.Header().Get("Location"), c.status, c.location, body)
			}
			if c.page != "" && !strings.Contains(body, c.page) {
				t.Fatalf("page lacks %s:\n%s", c.page, body)
			}
		})
	}
}
