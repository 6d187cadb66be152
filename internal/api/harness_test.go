package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/redis/go-redis/v9"

	apispec "github.com/palisade-hq/palisade/api"
	"github.com/palisade-hq/palisade/internal/api"
	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/obs"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// stack is a real API on a real database and Redis, served over loopback.
type stack struct {
	t      *testing.T
	cfg    config.Config
	st     *store.Store
	rdb    *redis.Client
	srv    *httptest.Server
	router routers.Router
	// api is the server under test, for tests that rewire a dependency.
	api *api.Server
}

const testPassword = "correct horse battery"

// testConfig is the configuration tests start from.
func testConfig(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	base := map[string]string{
		"PALISADE_ENV":                 "test",
		"PALISADE_BASE_URL":            "http://localhost:3000",
		"PALISADE_TRUSTED_PROXIES":     "127.0.0.1/32,::1",
		"PALISADE_MAIL_DRIVER":         "outbox",
		"PALISADE_SESSION_STORE":       "redis",
		"PALISADE_REALTIME_APP_ID":     "test-app",
		"PALISADE_REALTIME_APP_KEY":    "test-key",
		"PALISADE_REALTIME_APP_SECRET": "test-secret",
	}
	for k, v := range env {
		base[k] = v
	}
	cfg, err := config.Load(context.Background(), func(k string) string { return base[k] }, nil, nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

func newStack(t *testing.T, driver string, env map[string]string) *stack {
	t.Helper()
	rdb, prefix, url := testenv.Redis(t)
	if env == nil {
		env = map[string]string{}
	}
	env["PALISADE_REDIS_PREFIX"] = prefix
	env["PALISADE_REDIS_URL"] = url
	cfg := testConfig(t, env)
	st := testenv.Store(t, driver)
	srv, err := app.NewAPI(cfg, st, rdb, testenv.Logger(t), obs.NewMetrics(), &httpx.Health{}, app.APIOptions{Hasher: auth.Hasher{P: auth.FastParams}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)

	doc, err := openapi3.NewLoader().LoadFromData(apispec.OpenAPI)
	if err != nil {
		t.Fatalf("load openapi: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi document is invalid: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: ts.URL}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &stack{t: t, cfg: cfg, st: st, rdb: rdb, srv: ts, router: router, api: srv}
}

// browser is one client: its own cookies, host and address.
type browser struct {
	s       *stack
	host    string
	xff     string
	cookies map[string]string
	// header holds extra request headers (a CDN's CF-Connecting-IP).
	header map[string]string
	// auth, when set, is sent as the Authorization header.
	auth string
}

func (s *stack) browser(host string) *browser {
	return &browser{s: s, host: host, cookies: map[string]string{}}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errorCode returns the error code of an error response.
func (r resp) errorCode() string {
	var e httpx.ErrorBody
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Code
}

// do sends a request and validates the response against the OpenAPI
// document, so every API test is also a contract test.
func (b *browser) do(method, path string, body any) resp {
	t := b.s.t
	t.Helper()
	var rd io.Reader
	var raw []byte
	switch v := body.(type) {
	case nil:
	case string:
		raw = []byte(v)
	default:
		raw, _ = json.Marshal(v)
	}
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, b.s.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Forwarded-Host", b.host)
	if b.xff != "" {
		req.Header.Set("X-Forwarded-For", b.xff)
	}
	for k, v := range b.header {
		req.Header.Set(k, v)
	}
	if b.auth != "" {
		req.Header.Set("Authorization", b.auth)
	}
	var cs []string
	for k, v := range b.cookies {
		cs = append(cs, k+"="+v)
	}
	if len(cs) > 0 {
		req.Header.Set("Cookie", strings.Join(cs, "; "))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	out := resp{status: res.StatusCode, header: res.Header, body: data}
	if res.StatusCode >= 500 {
		t.Errorf("%s %s answered %d: %s", method, path, res.StatusCode, data)
	}
	b.s.validate(req, raw, out)
	return out
}

func (s *stack) validate(req *http.Request, reqBody []byte, r resp) {
	s.t.Helper()
	if req.URL.Path != "/healthz" && req.URL.Path != "/readyz" && !strings.HasPrefix(req.URL.Path, "/api/") {
		return
	}
	route, params, err := s.router.FindRoute(req)
	if err != nil {
		if r.status == http.StatusNotFound || r.status == http.StatusMethodNotAllowed {
			return // an undocumented path answered "no such endpoint", as it should
		}
		s.t.Errorf("%s %s is not in the OpenAPI document: %v", req.Method, req.URL.Path, err)
		return
	}
	if reqBody != nil {
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 r.status,
		Header:                 r.header,
		Body:                   io.NopCloser(bytes.NewReader(r.body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if len(r.body) == 0 {
		in.Body = nil
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		s.t.Errorf("%s %s → %d does not match the OpenAPI document: %v\nbody: %s", req.Method, req.URL.Path, r.status, err, r.body)
	}
}

func want(t *testing.T, r resp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %d, want %d: %s", r.status, status, r.body)
	}
}

// signUp creates a tenant through the API and returns its owner's browser,
// logged in on the tenant's host.
func (s *stack) signUp(slug, email string) (*browser, core.Tenant) {
	s.t.Helper()
	apex := s.browser("localhost:3000")
	r := apex.do("POST", "/api/signup", map[string]string{
		"organisation_name": strings.ToUpper(slug), "slug": slug, "name": "Owner of " + slug, "email": email, "password": testPassword,
	})
	want(s.t, r, http.StatusCreated)
	var out struct {
		Tenant   core.Tenant `json:"tenant"`
		LoginURL string      `json:"login_url"`
	}
	r.json(s.t, &out)
	b := s.browser(slug + ".localhost:3000")
	want(s.t, b.do("POST", "/api/auth/login", map[string]string{"email": email, "password": testPassword}), http.StatusOK)
	return b, out.Tenant
}

// lastMail returns the newest outbox message to an address.
func (s *stack) lastMail(to string) core.Mail {
	s.t.Helper()
	if s.api != nil {
		s.api.WaitNudges() // a password reset's mail goes after its answer
	}
	ms, err := s.st.Outbox(context.Background(), 100)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, m := range ms {
		if m.To == to {
			return m
		}
	}
	s.t.Fatalf("no mail to %s", to)
	return core.Mail{}
}

// linkToken pulls the token out of the first link in a mail body.
func linkToken(t *testing.T, body, marker string) string {
	t.Helper()
	i := strings.Index(body, marker)
	if i < 0 {
		t.Fatalf("no %q in mail: %s", marker, body)
	}
	rest := body[i+len(marker):]
	if j := strings.IndexAny(rest, "\n &"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

func storeNewUser(email, hash string) store.NewUser {
	return store.NewUser{Email: email, Name: "Member " + email, PasswordHash: hash}
}

func storeFilter() store.TenantFilter { return store.TenantFilter{} }

func mustSpec(t *testing.T) []byte { t.Helper(); return apispec.OpenAPI }
