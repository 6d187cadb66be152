// Package web is the tenant site (<slug>.<domain>) and the sign-up site
// (the bare domain): server-rendered pages that call the internal API on the
// browser's behalf, plus the /api/* proxy.
package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/palisade-hq/palisade/internal/bff"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/obs"
	"github.com/palisade-hq/palisade/internal/realtime/channels"
	"github.com/palisade-hq/palisade/internal/tenancy"
	"github.com/palisade-hq/palisade/internal/ui"
	"github.com/palisade-hq/palisade/internal/wire"
)

// Deps is what the web server needs.
type Deps struct {
	API     *bff.Client
	Hosts   tenancy.Hosts
	Log     *slog.Logger
	Metrics *obs.Metrics
	Views   *ui.Renderer
	Health  *httpx.Health
	// HSTS is on outside dev.
	HSTS bool
	// RealtimeURL (ws:// or wss:// origin) and RealtimeKey let pages open
	// the member's live channel; an empty key leaves pages static.
	RealtimeURL string
	RealtimeKey string
	// UploadOrigin is the object store origin browsers PUT uploads to (a
	// presigned URL); the CSP's connect-src must allow it.
	UploadOrigin string
	// UploadTypes are the media types uploads may have (the files
	// settings' AllowedTypes); the file input offers them.
	UploadTypes []string
}

// Server serves both the tenant sites and the apex sign-up site.
type Server struct {
	Deps
	tenantMux *http.ServeMux
	apexMux   *http.ServeMux
	handler   http.Handler
}

// New builds the server.
func New(d Deps) *Server {
	s := &Server{Deps: d, tenantMux: http.NewServeMux(), apexMux: http.NewServeMux()}
	if s.Health == nil {
		s.Health = &httpx.Health{}
	}
	s.routes()
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(s.crossOrigin))
	root := http.NewServeMux()
	s.Health.Register(root)
	root.Handle("/static/", ui.Static())
	root.Handle("/", csrf.Handler(http.HandlerFunc(s.dispatch)))
	tenantCSP := csp(strings.TrimSpace(d.RealtimeURL+" "+d.UploadOrigin), "'self'")
	apexCSP := csp(d.RealtimeURL, "'self' "+d.Hosts.TenantWildcard())
	s.handler = httpx.Chain(root,
		httpx.Recover(d.Log),
		httpx.RequestID,
		httpx.Observe(d.Log, d.Metrics, "web", root),
		func(next http.Handler) http.Handler {
			tenantH := httpx.SecurityHeaders(tenantCSP, d.HSTS)(next)
			apexH := httpx.SecurityHeaders(apexCSP, d.HSTS)(next)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if kind, _ := d.Hosts.Classify(r.Host); kind == tenancy.Apex {
					apexH.ServeHTTP(w, r)
					return
				}
				tenantH.ServeHTTP(w, r)
			})
		},
	)
	return s
}

// csp allows only our own origin, plus the realtime socket, and lists where
// forms may go (the apex sign-up form redirects to the new tenant's host).
func csp(realtimeURL, formAction string) string {
	ws := realtimeURL
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' " + ws +
		"; form-action " + formAction + "; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// realtime is the live-channel setting of a member's pages.
func (s *Server) realtime(tenantID, userID int64) *ui.Realtime {
	if s.RealtimeKey == "" {
		return nil
	}
	u, err := url.Parse(s.RealtimeURL)
	if err != nil {
		return nil
	}
	tls := u.Scheme == "wss"
	port, _ := strconv.Atoi(u.Port())
	if port == 0 {
		port = map[bool]int{true: 443, false: 80}[tls]
	}
	return &ui.Realtime{Key: s.RealtimeKey, Host: u.Hostname(), Port: port, TLS: tls,
		Channel: channels.EchoName(channels.User(tenantID, userID))}
}

// ReadyChecks: web is ready when the API is.
func (s *Server) ReadyChecks(h *httpx.Health) { h.Check("api", s.API.Ready) }

// dispatch picks the site by Host, as the public ALB does.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	kind, _ := s.Hosts.Classify(r.Host)
	switch kind {
	case tenancy.Tenant:
		s.tenantMux.ServeHTTP(w, r)
	case tenancy.Apex:
		s.apexMux.ServeHTTP(w, r)
	default:
		s.Views.Render(w, http.StatusNotFound, "message", ui.Page{Title: "No organisation here", Site: "web",
			Data: "Nothing lives at this address. Check the link, or create an organisation at " + s.Hosts.ApexURL() + "."})
	}
}

func (s *Server) crossOrigin(w http.ResponseWriter, r *http.Request) {
	s.Log.WarnContext(r.Context(), "cross-origin request refused", "method", r.Method, "path", httpx.LogPath(r.URL.Path),
		"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
	if strings.HasPrefix(r.URL.Path, "/api/") {
		httpx.WriteJSON(w, http.StatusForbidden, httpx.ErrorBody{Error: httpx.ErrorDetail{Code: "cross_origin", Kind: wire.KindForbidden, Reason: wire.ReasonCrossOrigin, Message: "cross-origin requests that change state are refused"}})
		return
	}
	s.Views.Render(w, http.StatusForbidden, "message", ui.Page{Title: "Request refused", Site: "web",
		Data: "This form was sent from another site, so it was refused to protect your account. Go back to the page and try again."})
}

// fail renders an API error as the right page.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := bff.AsAPIError(err)
	if !ok {
		s.Log.ErrorContext(r.Context(), "page failed", "err", err)
		s.Views.Render(w, http.StatusBadGateway, "message", ui.Page{Title: "Temporarily unavailable", Site: "web",
			Data: "The service did not answer. Try again in a moment; request id " + obs.RequestID(r.Context()) + "."})
		return
	}
	switch {
	case e.Kind == wire.KindUnauthenticated:
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	case e.Kind == wire.KindMFARequired:
		http.Redirect(w, r, "/mfa", http.StatusSeeOther)
	case e.Kind == wire.KindMFAEnrolmentRequired:
		http.Redirect(w, r, "/mfa/setup", http.StatusSeeOther)
	case e.Reason == wire.ReasonTenantSuspended:
		s.Views.Render(w, http.StatusForbidden, "message", ui.Page{Title: "Suspended", Site: "web", Data: e.Message})
	case e.Kind == wire.KindNotFound:
		s.Views.Render(w, http.StatusNotFound, "message", ui.Page{Title: "Not found", Site: "web", Data: e.Message})
	case e.Status == http.StatusForbidden:
		s.Views.Render(w, http.StatusForbidden, "message", ui.Page{Title: "Not allowed", Site: "web", Data: e.Message})
	case e.Status >= 500:
		s.Views.Render(w, http.StatusBadGateway, "message", ui.Page{Title: "Temporarily unavailable", Site: "web",
			Data: "Something went wrong on our side; request id " + obs.RequestID(r.Context()) + "."})
	default:
		s.Views.Render(w, e.Status, "message", ui.Page{Title: "That did not work", Site: "web", Data: e.Message})
	}
}

// formError is an API error to show on the form that caused it: a 4xx
// about the input, not a missing page or a suspended tenant.
func formError(err error) (*bff.APIError, bool) {
	e, ok := bff.AsAPIError(err)
	if !ok || e.Status < 400 || e.Status >= 500 || e.Kind == wire.KindNotFound || e.Reason == wire.ReasonTenantSuspended {
		return nil, false
	}
	return e, true
}

// parseForm bounds the body and parses it.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return errors.New("the form could not be read")
	}
	return nil
}
