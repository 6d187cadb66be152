// Package api is Palisade's internal JSON API. It is never public: the web
// and hq servers call it and proxy the browser's /api/* calls to it. It owns
// the database, sessions and every rule about who may do what.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/files"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/mail"
	"github.com/palisade-hq/palisade/internal/obs"
	"github.com/palisade-hq/palisade/internal/outbox"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/tenancy"
)

// Deps is everything the API needs; the role wiring builds it.
type Deps struct {
	Store            *store.Store
	Redis            redis.UniversalClient
	RedisPrefix      string
	Log              *slog.Logger
	Metrics          *obs.Metrics
	Mailer           mail.Mailer
	Hasher           auth.Hasher
	Throttle         *auth.Throttle
	TenantSessions   *scs.SessionManager
	OperatorSessions *scs.SessionManager
	TrustedProxies   []netip.Prefix
	// CDNProxies are the CDN's edges in front of the load balancer; a
	// request that reached the API from one of them through TrustedProxies
	// alone names its client in ClientIPHeader (CF-Connecting-IP).
	CDNProxies       []netip.Prefix
	ClientIPHeader   string
	Hosts            tenancy.Hosts
	InvitationTTL    time.Duration
	PasswordResetTTL time.Duration
	// RealtimeKey and RealtimeSecret sign channel subscriptions.
	RealtimeKey    string
	RealtimeSecret string
	// RealtimeEncryptionKey (32 bytes) derives encrypted channels' keys;
	// empty refuses private-encrypted- channels.
	RealtimeEncryptionKey []byte
	// Realtime closes users' and tenants' sockets when access ends; nil
	// where no realtime server is configured.
	Realtime RealtimeTerminator
	// RateLimits bound requests per client IP and per tenant.
	RateLimits RateLimits
	// OutboxEnabled exposes the dev outbox to HQ.
	OutboxEnabled bool
	Health        *httpx.Health
	// Files is the files feature; nil where no object store is configured.
	Files *files.Service
	// S3WebhookToken authenticates the S3-compatible server's webhook.
	S3WebhookToken string
	// HQ holds the operators' limits (deletion grace, break-glass length).
	HQ HQPolicy
	// Scanner reports malware-scanner health to HQ; nil until wired.
	Scanner ScannerProbe
	// Outbox delivers a change's committed side effects right after the
	// commit (the nudge); nil leaves them to the worker's sweep.
	Outbox *outbox.Deliverer
}

// Server is the API.
type Server struct {
	Deps
	handler http.Handler
	// later counts nudges still running after their answer (nudgeLater).
	later sync.WaitGroup
}

// New builds the API and its routes.
func New(d Deps) *Server {
	s := &Server{Deps: d}
	if s.Health == nil {
		s.Health = &httpx.Health{}
	}
	mux := http.NewServeMux()
	s.routes(mux)
	s.handler = httpx.Chain(mux,
		httpx.Recover(d.Log),
		httpx.RequestID,
		httpx.Observe(d.Log, d.Metrics, "api", mux),
		httpx.SecurityHeaders("default-src 'none'; frame-ancestors 'none'", false),
	)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// ReadyChecks registers the API's dependencies with a Health.
func (s *Server) ReadyChecks(h *httpx.Health) {
	h.Check("database", s.Store.Ping)
	h.Check("redis", func(ctx context.Context) error { return s.Redis.Ping(ctx).Err() })
}

// handlerFunc is an API handler that returns its error for writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) h(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			httpx.WriteError(w, r, s.Log, err)
		}
	})
}

// event starts an audit event with what the request says about its origin.
func (s *Server) event(r *http.Request, action string) core.AuditEvent {
	ev := core.AuditEvent{
		Action:    action,
		Outcome:   store.OutcomeSuccess,
		IP:        s.clientIP(r),
		UserAgent: r.UserAgent(),
		RequestID: obs.RequestID(r.Context()),
	}
	if rc := reqCtx(r); rc != nil {
		if rc.tenant != nil {
			ev.TenantID = &rc.tenant.ID
		}
		switch {
		case rc.member != nil:
			ev.ActorType, ev.ActorID = "user", &rc.member.UserID
		case rc.operator != nil:
			ev.ActorType, ev.ActorID = "operator", &rc.operator.ID
		}
	}
	if ev.ActorType == "" {
		ev.ActorType = "anonymous"
	}
	return ev
}

// auditDenied records a refusal; failing to record it is logged, not fatal
// to the (already failing) request.
func (s *Server) auditDenied(r *http.Request, action, detail string) {
	s.auditDeniedEvent(r, s.event(r, action), detail)
}

// auditDeniedToken records a refusal of a known API token as its owner's:
// the audit trail says who holds the token, never "anonymous".
func (s *Server) auditDeniedToken(r *http.Request, action, detail string, tok *store.APIToken) {
	ev := s.event(r, action)
	uid := tok.UserID
	ev.ActorType, ev.ActorID = "user", &uid
	s.auditDeniedEvent(r, ev, detail)
}

func (s *Server) auditDeniedEvent(r *http.Request, ev core.AuditEvent, detail string) {
	action := ev.Action
	ev.Outcome, ev.Detail = store.OutcomeDenied, detail
	if err := s.Store.Audit(r.Context(), ev); err != nil {
		s.Log.ErrorContext(r.Context(), "audit write failed", "err", err, "action", action)
	}
}

func (s *Server) clientIP(r *http.Request) string {
	return httpx.Proxies{Trusted: s.TrustedProxies, CDN: s.CDNProxies, Header: s.ClientIPHeader}.ClientIP(r).String()
}

// publicHost is the host the browser used: X-Forwarded-Host from a trusted
// proxy (the BFF), else the Host header.
func (s *Server) publicHost(r *http.Request) string {
	if h := r.Header.Get("X-Forwarded-Host"); h != "" && httpx.FromTrustedProxy(r, s.TrustedProxies) {
		return h
	}
	return r.Host
}
