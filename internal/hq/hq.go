// Package hq is the operators' console at admin.<domain>: server-rendered
// pages over the API's /api/hq/* routes, in a login realm of its own.
package hq

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/palisade-hq/palisade/internal/bff"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/obs"
	"github.com/palisade-hq/palisade/internal/tenancy"
	"github.com/palisade-hq/palisade/internal/ui"
	"github.com/palisade-hq/palisade/internal/wire"
)

// Deps is what HQ needs.
type Deps struct {
	API     *bff.Client
	Hosts   tenancy.Hosts
	Log     *slog.Logger
	Metrics *obs.Metrics
	Views   *ui.Renderer
	Health  *httpx.Health
	HSTS    bool
	// Targets are the roles' readiness endpoints the health page polls.
	Targets []HealthTarget
	// RealtimeMetrics are the realtime replicas' /metrics URLs.
	RealtimeMetrics []string
}

// Server is the HQ site.
type Server struct {
	Deps
	handler http.Handler
}

// New builds HQ.
func New(d Deps) *Server {
	s := &Server{Deps: d}
	if s.Health == nil {
		s.Health = &httpx.Health{}
	}
	mux := http.NewServeMux()
	s.Health.Register(mux)
	mux.Handle("/static/", ui.Static())
	app := http.NewServeMux()
	s.routes(app)
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Views.Render(w, http.StatusForbidden, "message", ui.Page{Title: "Request refused", Site: "hq", Data: "This form was sent from another site, so it was refused."})
	}))
	mux.Handle("/", csrf.Handler(s.adminOnly(app)))
	s.handler = httpx.Chain(mux,
		httpx.Recover(d.Log),
		httpx.RequestID,
		httpx.Observe(d.Log, d.Metrics, "hq", mux),
		httpx.SecurityHeaders("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'", d.HSTS),
	)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// ReadyChecks: HQ is ready when the API is.
func (s *Server) ReadyChecks(h *httpx.Health) { h.Check("api", s.API.Ready) }

// adminOnly serves HQ on admin.<domain> alone.
func (s *Server) adminOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if kind, _ := s.Hosts.Classify(r.Host); kind != tenancy.Admin {
			s.Views.Render(w, http.StatusNotFound, "message", ui.Page{Title: "Not found", Site: "hq", Data: "HQ lives at " + s.Hosts.AdminURL() + "."})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) routes(m *http.ServeMux) {
	m.Handle("/api/hq/", bff.Proxy(s.API, s.Log, func(p string) bool { return strings.HasPrefix(p, "/api/hq/") }))
	m.Handle("/api/", bff.Proxy(s.API, s.Log, func(string) bool { return false }))
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/tenants", http.StatusSeeOther) })
	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login", s.loginSubmit)
	m.HandleFunc("GET /logout", s.authed(func(w http.ResponseWriter, r *http.Request, o core.Operator) {
		s.Views.Render(w, http.StatusOK, "logout", s.page(r, o, "Log out"))
	}))
	m.HandleFunc("POST /logout", s.logoutSubmit)
	m.HandleFunc("GET /tenants", s.authed(s.consoleTenants))
	m.HandleFunc("POST /tenants", s.authed(s.consoleCreateTenant))
	m.HandleFunc("GET /tenants/{id}", s.authed(s.consoleTenant))
	m.HandleFunc("POST /tenants/{id}/suspend", s.authed(s.suspend))
	m.HandleFunc("POST /tenants/{id}/reactivate", s.authed(s.reactivate))
	m.HandleFunc("GET /audit", s.authed(s.auditPage))
	m.HandleFunc("GET /outbox", s.authed(s.outboxPage))
	m.HandleFunc("GET /queues", s.authed(s.queuesPage))
	m.HandleFunc("POST /queues/{queue}/dead/{id}/retry", s.authed(s.retryDeadJob))
	m.HandleFunc("POST /queues/{queue}/dead/{id}/delete", s.authed(s.confirmFirst("Delete this dead job? Its payload and last error are gone for good; Retry keeps them.", "/queues", s.deleteDeadJob)))
	m.HandleFunc("GET /health", s.authed(s.consoleHealth))
	s.consoleRoutes(m)
	s.securityRoutes(m)
	m.HandleFunc("GET /mfa", s.mfaPage)
	m.HandleFunc("POST /mfa", s.mfaSubmit)
	m.HandleFunc("GET /mfa/setup", s.mfaSetupPage)
	m.HandleFunc("POST /mfa/setup", s.mfaSetupSubmit)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.Views.Render(w, http.StatusNotFound, "message", ui.Page{Title: "Not found", Site: "hq", Data: "There is no page at this address."})
	})
}

type operatorPage func(w http.ResponseWriter, r *http.Request, o core.Operator)

// authed sends visitors without an operator session to /login.
func (s *Server) authed(next operatorPage) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var out struct {
			Operator core.Operator `json:"operator"`
			Alerts   []string      `json:"alerts"`
		}
		if err := s.API.Call(w, r, http.MethodGet, "/api/hq/me", nil, &out); err != nil {
			s.fail(w, r, err)
			return
		}
		if len(out.Alerts) > 0 {
			r = r.WithContext(context.WithValue(r.Context(), alertsKey{}, out.Alerts))
		}
		next(w, r, out.Operator)
	}
}

// alertsKey carries /api/hq/me's alarms from authed to the page's layout.
type alertsKey struct{}

func (s *Server) page(r *http.Request, o core.Operator, title string) ui.Page {
	alerts, _ := r.Context().Value(alertsKey{}).([]string)
	return ui.Page{Title: title, Site: "hq", UserName: o.Name, Alerts: alerts}
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := bff.AsAPIError(err)
	switch {
	case !ok || e.Status >= 500:
		s.Log.ErrorContext(r.Context(), "hq page failed", "err", err)
		s.Views.Render(w, http.StatusBadGateway, "message", ui.Page{Title: "Temporarily unavailable", Site: "hq", Data: "The API did not answer; request id " + obs.RequestID(r.Context()) + "."})
	case e.Kind == wire.KindUnauthenticated:
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	case e.Kind == wire.KindMFARequired:
		http.Redirect(w, r, "/mfa", http.StatusSeeOther)
	case e.Kind == wire.KindMFAEnrolmentRequired:
		http.Redirect(w, r, "/mfa/setup", http.StatusSeeOther)
	default:
		s.Views.Render(w, e.Status, "message", ui.Page{Title: "That did not work", Site: "hq", Data: e.Message})
	}
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	p := ui.Page{Title: "Log in", Site: "hq"}
	if r.URL.Query().Get("flash") == "logged_out" {
		p.Flash = "You are logged out."
	}
	s.Views.Render(w, http.StatusOK, "login", p)
}

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	p := ui.Page{Title: "Log in", Site: "hq"}
	if err := r.ParseForm(); err != nil {
		p.Error = "the form could not be read"
		s.Views.Render(w, http.StatusBadRequest, "login", p)
		return
	}
	body := map[string]string{"email": r.PostForm.Get("email"), "password": r.PostForm.Get("password")}
	if err := s.API.Call(w, r, http.MethodPost, "/api/hq/auth/login", body, nil); err != nil {
		e, ok := bff.AsAPIError(err)
		if !ok || e.Status >= 500 {
			s.fail(w, r, err)
			return
		}
		if e.RetryAfter != "" {
			w.Header().Set("Retry-After", e.RetryAfter)
		}
		p.Error, p.Field, p.Form = e.Message, e.Field, map[string]string{"email": body["email"]}
		s.Views.Render(w, e.Status, "login", p)
		return
	}
	http.Redirect(w, r, "/tenants", http.StatusSeeOther)
}

func (s *Server) logoutSubmit(w http.ResponseWriter, r *http.Request) {
	if err := s.API.Call(w, r, http.MethodPost, "/api/hq/auth/logout", nil, nil); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/login?flash=logged_out", http.StatusSeeOther)
}

func tenantPath(r *http.Request) (string, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return "", false
	}
	return "/api/hq/tenants/" + strconv.FormatInt(id, 10), true
}

func (s *Server) suspend(w http.ResponseWriter, r *http.Request, o core.Operator) {
	s.setStatus(w, r, "/suspend")
}

func (s *Server) reactivate(w http.ResponseWriter, r *http.Request, o core.Operator) {
	s.setStatus(w, r, "/reactivate")
}

func (s *Server) setStatus(w http.ResponseWriter, r *http.Request, action string) {
	path, ok := tenantPath(r)
	if !ok {
		s.Views.Render(w, http.StatusNotFound, "message", ui.Page{Title: "Not found", Site: "hq", Data: "No such tenant."})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.Views.Render(w, http.StatusBadRequest, "message", ui.Page{Title: "That did not work", Site: "hq", Data: "the form could not be read"})
		return
	}
	var body any
	if action == "/suspend" {
		body = map[string]string{"reason": r.PostForm.Get("reason")}
	} else {
		body = map[string]string{}
	}
	if err := s.API.Call(w, r, http.MethodPost, path+action, body, nil); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, strings.TrimPrefix(path, "/api/hq"), http.StatusSeeOther) // #nosec G710 -- tenantPath rebuilds the path from a parsed positive integer: always /tenants/<n> on this host
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, o core.Operator) {
	var d struct {
		Events []core.AuditRow `json:"events"`
		Next   int64           `json:"next_before"`
	}
	path := "/api/hq/audit?limit=100"
	if b := r.URL.Query().Get("before"); b != "" {
		path += "&before=" + url.QueryEscape(b)
	}
	if err := s.API.Call(w, r, http.MethodGet, path, nil, &d); err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, o, "Audit")
	p.Data = d
	s.Views.Render(w, http.StatusOK, "audit", p)
}

func (s *Server) outboxPage(w http.ResponseWriter, r *http.Request, o core.Operator) {
	var d struct {
		Messages []core.Mail `json:"messages"`
	}
	if err := s.API.Call(w, r, http.MethodGet, "/api/hq/outbox", nil, &d); err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, o, "Outbox")
	p.Data = d.Messages
	s.Views.Render(w, http.StatusOK, "hq_outbox", p)
}

// confirmFirst runs next only on a confirmed post (ui.Confirmed); the
// first, unconfirmed one gets the confirmation page.
func (s *Server) confirmFirst(question, cancel string, next operatorPage) operatorPage {
	return func(w http.ResponseWriter, r *http.Request, o core.Operator) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			s.Views.Render(w, http.StatusBadRequest, "message", ui.Page{Title: "That did not work", Site: "hq", Data: "the form could not be read"})
			return
		}
		if !ui.Confirmed(r) {
			p := s.page(r, o, "Please confirm")
			p.Data = ui.ConfirmationOf(r, question, cancel)
			s.Views.Render(w, http.StatusOK, "confirm", p)
			return
		}
		next(w, r, o)
	}
}
