// Package deps injects dependency faults (Redis restart, MariaDB restart
// and crash, clamd outage) into a running Palisade under load, on private
// servers the test may stop and start, and checks that what the platform
// promises still holds: clean 503s while a dependency is away, automatic
// recovery, no accepted write lost, every job done once in effect, and no
// file downloadable without a Clean scan. The tests print FIGURE lines
// (bench/faults/run.sh collects them) and docs/reliability.md records them.
package deps

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/devmode"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/obs"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/tenancy"
	"github.com/palisade-hq/palisade/internal/testenv"
)

const pw = "correct horse battery"

// stack is Palisade in this process, wired as in production on the
// servers the test names: api, web and hq behind one public listener,
// realtime, and a worker with the scheduler (as `palisade dev` runs them).
type stack struct {
	cfg    config.Config
	st     *store.Store
	public *httptest.Server
	port   string
	hosts  tenancy.Hosts
}

type stackOptions struct {
	driver, dsn string // database; the DSN is migrated here
	redisURL    string
	env         map[string]string
}

func newStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	public := httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(public.Listener.Addr().String())
	apiLn := listen(t)
	rtLn := listen(t)
	vars := map[string]string{
		"PALISADE_ENV":                 "test",
		"PALISADE_BASE_URL":            "http://localhost:" + port,
		"PALISADE_API_URL":             "http://" + apiLn.Addr().String(),
		"PALISADE_TRUSTED_PROXIES":     "127.0.0.0/8,::1",
		"PALISADE_DB_DRIVER":           o.driver,
		"PALISADE_DB_DSN":              o.dsn,
		"PALISADE_MAIL_DRIVER":         "outbox",
		"PALISADE_SESSION_STORE":       "redis", // production's default: a Redis fault reaches every request
		"PALISADE_REDIS_URL":           o.redisURL,
		"PALISADE_REDIS_PREFIX":        "palisade:",
		"PALISADE_REALTIME_APP_ID":     "deps-app",
		"PALISADE_REALTIME_APP_KEY":    "deps-key",
		"PALISADE_REALTIME_APP_SECRET": "deps-secret",
		"PALISADE_REALTIME_URL":        "ws://" + rtLn.Addr().String(),
		"PALISADE_REALTIME_API_URL":    "http://" + rtLn.Addr().String(),
		// One client address drives all the load; the limiter still runs
		// (it is a Redis call on every request) but never refuses.
		"PALISADE_RATE_LIMIT_API_PER_IP":      "10000000",
		"PALISADE_RATE_LIMIT_API_PER_TENANT":  "10000000",
		"PALISADE_RATE_LIMIT_AUTH_PER_IP":     "10000000",
		"PALISADE_RATE_LIMIT_AUTH_PER_TENANT": "10000000",
		// Sweeps every few seconds instead of every few minutes, so a
		// recovery that depends on one is seen within the test.
		"PALISADE_SCHEDULER_EVERY": "2s",
	}
	for k, v := range o.env {
		vars[k] = v
	}
	cfg, err := config.Load(context.Background(), func(k string) string { return vars[k] }, nil, nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	log := testenv.Logger(t)
	st, err := app.OpenStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background(), log); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	rdb, err := app.OpenRedis(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	m := obs.NewMetrics()
	apiSrv, err := app.NewAPI(cfg, st, rdb, log.With("server", "api"), m, &httpx.Health{}, app.APIOptions{Hasher: auth.Hasher{P: auth.FastParams}})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, apiLn, apiSrv)
	rt, err := app.NewRealtime(cfg, rdb, log.With("server", "realtime"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, rtLn, app.RealtimeHandler(rt, &httpx.Health{}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rt.Shutdown(ctx)
	})
	web, err := app.NewWeb(cfg, log.With("server", "web"), m, &httpx.Health{})
	if err != nil {
		t.Fatal(err)
	}
	hq, err := app.NewHQ(cfg, log.With("server", "hq"), m, &httpx.Health{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	wait, err := app.StartJobs(ctx, cfg, st, rdb, log, m)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	// Registered after the servers' cleanups, so it runs before them: jobs
	// drain while the database and Redis are still open.
	t.Cleanup(func() { cancel(); wait() })
	hosts := tenancy.FromBaseURL(cfg.BaseURL)
	public.Config.Handler = devmode.Router(hosts, web, hq)
	public.Start()
	t.Cleanup(public.Close)
	return &stack{cfg: cfg, st: st, public: public, port: port, hosts: hosts}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func serve(t *testing.T, ln net.Listener, h http.Handler) {
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
}

func (s *stack) url(host, path string) string {
	return "http://" + host + ":" + s.port + path
}

// client sends every *.localhost request to the public listener, keeps
// cookies, follows no redirects, and gives up on a request after timeout:
// a request still unanswered then counts as a hang.
func (s *stack) client(timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	addr := s.public.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, a string) (net.Conn, error) {
		if strings.HasSuffix(strings.Split(a, ":")[0], "localhost") {
			a = addr
		}
		var d net.Dialer
		return d.DialContext(ctx, network, a)
	}
	jar, _ := cookiejar.New(nil)
	return &http.Client{Transport: tr, Jar: jar, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// signUp creates the organisation slug through the apex sign-up form and
// follows the handoff, as a browser would; c then holds the owner's session.
func (s *stack) signUp(t *testing.T, c *http.Client, slug string) {
	t.Helper()
	form := url.Values{"organisation_name": {"Org " + slug}, "slug": {slug}, "name": {"Owner"}, "email": {"owner@" + slug + ".test"}, "password": {pw}}
	r, err := c.PostForm(s.url("localhost", "/signup"), form)
	if err != nil {
		t.Fatal(err)
	}
	loc := r.Header.Get("Location")
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, s.url(slug+".localhost", "/auth/handoff?token=")) {
		t.Fatalf("sign-up answered %d → %q: %s", r.StatusCode, loc, b)
	}
	r, err = c.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		t.Fatalf("handoff answered %d → %q", r.StatusCode, r.Header.Get("Location"))
	}
}

// apiCall sends a JSON request through the tenant site's /api proxy with
// the session cookie (and the Origin the CSRF check wants) and decodes a
// JSON answer into out when it is 2xx.
func (s *stack) apiCall(ctx context.Context, c *http.Client, slug, method, path string, body any, out any) (int, string, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, s.url(slug+".localhost", path), rd)
	if err != nil {
		return 0, "", err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Origin", s.url(slug+".localhost", ""))
	res, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode/100 == 2 && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return res.StatusCode, string(b), err
		}
	}
	return res.StatusCode, string(b), nil
}
