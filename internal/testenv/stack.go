package testenv

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/devmode"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/obs"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/tenancy"
)

// Stack is Palisade wired as in production, each role on its own loopback
// listener: the API, and web plus hq behind one public port that routes by
// host like the public ALB (and like `palisade dev`).
type Stack struct {
	Config config.Config
	Store  *store.Store
	API    *httptest.Server
	Public *httptest.Server
	// PublicPort is the port of Public; browsers reach acme.localhost:PublicPort.
	PublicPort string
	Hosts      tenancy.Hosts
	// Realtime is the Pusher-protocol server (WebSocket and HTTP API).
	Realtime *httptest.Server
}

// NewStack starts a stack on driver's database and the test Redis. env
// adds PALISADE_* settings.
func NewStack(t testing.TB, driver string, env map[string]string) *Stack {
	t.Helper()
	return NewStackLogging(t, driver, env, Logger(t))
}

// NewStackLogging is NewStack with every role (api, realtime, web, hq and
// the worker) logging to log, for tests that read what is logged.
func NewStackLogging(t testing.TB, driver string, env map[string]string, log *slog.Logger) *Stack {
	t.Helper()
	_, prefix, redisURL := Redis(t)
	public := httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(public.Listener.Addr().String())
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rtLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"PALISADE_ENV":                 "test",
		"PALISADE_BASE_URL":            "http://localhost:" + port,
		"PALISADE_API_URL":             "http://" + apiLn.Addr().String(),
		"PALISADE_TRUSTED_PROXIES":     "127.0.0.0/8,::1",
		"PALISADE_MAIL_DRIVER":         "outbox",
		"PALISADE_SESSION_STORE":       "sql",
		"PALISADE_REDIS_URL":           redisURL,
		"PALISADE_REDIS_PREFIX":        prefix,
		"PALISADE_REALTIME_APP_ID":     "stack-app",
		"PALISADE_REALTIME_APP_KEY":    "stack-key",
		"PALISADE_REALTIME_APP_SECRET": "stack-secret",
		"PALISADE_REALTIME_URL":        "ws://" + rtLn.Addr().String(),
		"PALISADE_REALTIME_API_URL":    "http://" + rtLn.Addr().String(),
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Load(context.Background(), func(k string) string { return vars[k] }, nil, nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	st := Store(t, driver)
	rdb, err := app.OpenRedis(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	m := obs.NewMetrics()
	apiSrv, err := app.NewAPI(cfg, st, rdb, log, m, &httpx.Health{}, app.APIOptions{Hasher: auth.Hasher{P: auth.FastParams}})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewUnstartedServer(apiSrv)
	api.Listener.Close()
	api.Listener = apiLn
	api.Start()
	t.Cleanup(api.Close)
	rt, err := app.NewRealtime(cfg, rdb, log, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rtSrv := httptest.NewUnstartedServer(app.RealtimeHandler(rt, &httpx.Health{}))
	rtSrv.Listener.Close()
	rtSrv.Listener = rtLn
	rtSrv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rt.Shutdown(ctx)
		rtSrv.Close()
	})
	web, err := app.NewWeb(cfg, log, m, &httpx.Health{})
	if err != nil {
		t.Fatal(err)
	}
	hq, err := app.NewHQ(cfg, log, m, &httpx.Health{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.S3Endpoint != "" {
		startWorker(t, cfg, st, rdb, log)
	}
	hosts := tenancy.FromBaseURL(cfg.BaseURL)
	public.Config.Handler = devmode.Router(hosts, web, hq)
	public.Start()
	t.Cleanup(public.Close)
	return &Stack{Config: cfg, Store: st, API: api, Public: public, PublicPort: port, Hosts: hosts, Realtime: rtSrv}
}

// URL is the public URL of a page on host (e.g. "acme.localhost").
func (s *Stack) URL(host, path string) string {
	return "http://" + host + ":" + s.PublicPort + path
}

// Client is an HTTP client that sends every request to the public listener
// whatever host the URL names, as *.localhost resolution would, keeps
// cookies per host and does not follow redirects.
func (s *Stack) Client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	addr := s.Public.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, a string) (net.Conn, error) {
		if strings.HasSuffix(strings.Split(a, ":")[0], "localhost") {
			a = addr
		}
		var d net.Dialer
		return d.DialContext(ctx, network, a)
	}
	jar, _ := cookiejar.New(nil)
	return &http.Client{Transport: tr, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// startWorker runs a job worker beside a stack that has an object store,
// so uploads get scanned as in production.
func startWorker(t testing.TB, cfg config.Config, st *store.Store, rdb redis.UniversalClient, log *slog.Logger) {
	t.Helper()
	w := app.NewWorker(cfg, st, rdb, log, jobs.NewMetrics(obs.NewMetrics().Registry), app.WorkerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx); err != nil {
			t.Errorf("worker: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}
