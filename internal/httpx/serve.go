package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Health serves /healthz (the process is alive) and /readyz (its
// dependencies answer and it is not draining).
type Health struct {
	// DrainDelay is how long ServeAll keeps serving after readiness starts
	// failing, before it stops accepting connections: a load balancer that
	// learns of the shutdown from /readyz still sends requests until it has
	// seen it fail, and those must not meet a closed port.
	DrainDelay time.Duration

	mu       sync.Mutex
	checks   []namedCheck
	draining atomic.Bool
}

type namedCheck struct {
	name string
	fn   func(context.Context) error
}

// Check adds a readiness check.
func (h *Health) Check(name string, fn func(context.Context) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks = append(h.checks, namedCheck{name, fn})
}

// Drain makes /readyz fail, so load balancers stop sending new work.
func (h *Health) Drain() { h.draining.Store(true) }

// Ready reports whether the process is not draining (the checks are not run).
func (h *Health) Ready() bool { return !h.draining.Load() }

// Register adds both endpoints to mux.
func (h *Health) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", h.ready)
}

func (h *Health) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	h.mu.Lock()
	checks := append([]namedCheck(nil), h.checks...)
	h.mu.Unlock()
	res := map[string]string{}
	ok := !h.draining.Load()
	if !ok {
		res["draining"] = "shutting down"
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, c := range checks {
		wg.Go(func() {
			err := c.fn(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res[c.name] = err.Error()
				ok = false
			} else {
				res[c.name] = "ok"
			}
		})
	}
	wg.Wait()
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	WriteJSON(w, status, map[string]any{"ready": ok, "checks": res})
}

// Server is one listener of a role.
type Server struct {
	Name    string
	Addr    string
	Handler http.Handler
	// Listener, when set, is used instead of listening on Addr.
	Listener net.Listener
	// BeforeShutdown runs when draining starts, before the HTTP server stops:
	// http.Server.Shutdown does not wait for hijacked connections such as
	// WebSockets, so their owner closes them here.
	BeforeShutdown func(context.Context)
}

// ServeAll runs the servers until ctx ends, then drains: readiness fails at
// once, in-flight requests get up to timeout to finish. It returns the first
// serve error, or nil after a clean drain.
func ServeAll(ctx context.Context, log *slog.Logger, health *Health, timeout time.Duration, servers ...Server) error {
	errc := make(chan error, len(servers))
	var hs []*http.Server
	for _, s := range servers {
		srv := &http.Server{
			Addr:              s.Addr,
			Handler:           s.Handler,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       60 * time.Second,
			WriteTimeout:      120 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		hs = append(hs, srv)
		ln := s.Listener
		if ln == nil {
			var err error
			if ln, err = net.Listen("tcp", s.Addr); err != nil {
				for _, started := range hs[:len(hs)-1] {
					_ = started.Close()
				}
				return err
			}
		}
		log.Info("listening", "server", s.Name, "addr", ln.Addr().String())
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	if health != nil {
		health.Drain()
		if health.DrainDelay > 0 && serveErr == nil {
			// Keep-alive connections stay as they are: SetKeepAlivesEnabled
			// would close the idle ones now, under a load balancer that is
			// still sending on them (a POST on such a one is reset).
			log.Info("not ready, still serving", "delay", health.DrainDelay.String())
			time.Sleep(health.DrainDelay)
		}
	}
	log.Info("draining", "timeout", timeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range servers {
		if s.BeforeShutdown != nil {
			wg.Go(func() { s.BeforeShutdown(sctx) })
		}
	}
	wg.Wait()
	for _, srv := range hs {
		wg.Go(func() {
			if err := srv.Shutdown(sctx); err != nil {
				log.Warn("drain incomplete, closing", "addr", srv.Addr, "err", err)
				_ = srv.Close()
			}
		})
	}
	wg.Wait()
	log.Info("stopped")
	return serveErr
}

// Ready decodes a /readyz body, for the BFFs and HQ's health page.
type Ready struct {
	Ready  bool              `json:"ready"`
	Checks map[string]string `json:"checks"`
}

// DecodeReady reads a readiness answer.
func DecodeReady(b []byte) (Ready, error) {
	var r Ready
	err := json.Unmarshal(b, &r)
	return r, err
}
