package process

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/jobs/jobstest"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// palisade is the real binary, built once per test run and only by tests
// whose services are there (so `make test` on Go alone skips cheaply).
func palisade(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "palisade-process-"); buildErr == nil {
			binPath, buildErr = testenv.BuildPalisade(binDir)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// cluster is one Palisade deployment of child processes on a fresh MariaDB
// database and the test's Redis keys.
type cluster struct {
	t   *testing.T
	bin string
	env map[string]string
	st  *store.Store
	// rdb is the cluster's own Redis database (jobs clusters only).
	rdb *redis.Client
}

// newCluster migrates a fresh database. baseURL is the public origin
// (the web LB's), apiURL where web reaches the API. With jobs, the cluster
// gets a Redis database of its own, since asynq's keys have no prefix.
func newCluster(t *testing.T, baseURL, apiURL string, jobs bool, extra map[string]string) *cluster {
	t.Helper()
	dsn := testenv.MySQLDSN(t)
	_, prefix, redisURL := testenv.Redis(t)
	var rdb *redis.Client
	if jobs {
		rdb, redisURL = jobstest.Redis(t)
	}
	bin := palisade(t)
	env := map[string]string{
		"PALISADE_ENV":          "test",
		"PALISADE_LOG_LEVEL":    "info",
		"PALISADE_BASE_URL":     baseURL,
		"PALISADE_API_URL":      apiURL,
		"PALISADE_DB_DRIVER":    "mysql",
		"PALISADE_DB_DSN":       dsn,
		"PALISADE_REDIS_URL":    redisURL,
		"PALISADE_REDIS_PREFIX": prefix,
		"PALISADE_MAIL_DRIVER":  "outbox",
		// Every hop is a loopback proxy of the test's.
		"PALISADE_TRUSTED_PROXIES":     "127.0.0.0/8",
		"PALISADE_REALTIME_APP_ID":     "faults",
		"PALISADE_REALTIME_APP_KEY":    "faults-key",
		"PALISADE_REALTIME_APP_SECRET": "faults-secret",
		// The load is one tenant from one address; the limits are not
		// what is under test.
		"PALISADE_RATE_LIMIT_API_PER_IP":      "0",
		"PALISADE_RATE_LIMIT_API_PER_TENANT":  "0",
		"PALISADE_RATE_LIMIT_AUTH_PER_IP":     "0",
		"PALISADE_RATE_LIMIT_AUTH_PER_TENANT": "0",
		"PALISADE_SHUTDOWN_TIMEOUT":           "20s",
	}
	for k, v := range extra {
		env[k] = v
	}
	testenv.RunRole(t, bin, "migrate", env)
	st, err := store.Open(context.Background(), "mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &cluster{t: t, bin: bin, env: env, st: st, rdb: rdb}
}

// start runs role on httpAddr (empty for roles without a port).
func (c *cluster) start(role, httpAddr string, extra ...string) *testenv.Proc {
	c.t.Helper()
	return testenv.StartRole(c.t, c.bin, role, c.with(httpAddr, extra...))
}

func (c *cluster) with(httpAddr string, kv ...string) map[string]string {
	env := map[string]string{}
	for k, v := range c.env {
		env[k] = v
	}
	if httpAddr != "" {
		env["PALISADE_HTTP_ADDR"] = httpAddr
	}
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return env
}

// client talks to one listener whatever the URL's host, sending host as
// the Host header, keeping connections alive and not following redirects.
type client struct {
	base string // http://127.0.0.1:port
	host string // acme.localhost:port
	hc   *http.Client
	// cookie is the session cookie header, once logged in.
	cookie string
}

func newClient(t *testing.T, addr, host string) *client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{base: "http://" + addr, host: host, hc: &http.Client{Transport: tr, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends one request and reads the whole answer.
func (c *client) do(method, path, contentType string, body []byte) (int, []byte, http.Header, error) {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Host = c.host
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.cookie != "" {
		req.Header.Set("Cookie", c.cookie)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, res.Header, err
}

func (c *client) json(method, path string, v any) (int, []byte, error) {
	b, _ := json.Marshal(v)
	code, body, _, err := c.do(method, path, "application/json", b)
	return code, body, err
}

// signupAndLogin creates tenant slug through the API (at apiAddr) and logs
// its owner in through web, returning a client for the tenant's site.
func signupAndLogin(t *testing.T, apiAddr, webAddr, slug, port string) *client {
	t.Helper()
	api := newClient(t, apiAddr, "localhost:"+port)
	email, password := "owner@"+slug+".test", "faults password 123"
	code, body, err := api.json("POST", "/api/signup", map[string]string{
		"organisation_name": "Faults " + slug, "slug": slug, "name": "Owner", "email": email, "password": password})
	if err != nil || code != http.StatusCreated {
		t.Fatalf("signup: %d %s %v", code, body, err)
	}
	c := newClient(t, webAddr, slug+".localhost:"+port)
	form := url.Values{"email": {email}, "password": {password}}
	code, body, hdr, err := c.do("POST", "/login", "application/x-www-form-urlencoded", []byte(form.Encode()))
	if err != nil || code != http.StatusSeeOther {
		t.Fatalf("login: %d %s %v", code, body, err)
	}
	for _, sc := range hdr.Values("Set-Cookie") {
		if strings.HasPrefix(sc, "palisade_session=") {
			c.cookie = strings.SplitN(sc, ";", 2)[0]
		}
	}
	if c.cookie == "" {
		t.Fatalf("login set no session cookie: %v", hdr)
	}
	return c
}

// figure logs one line bench/faults/run.sh collects for the docs.
func figure(t *testing.T, name string, kv ...any) {
	var b strings.Builder
	fmt.Fprintf(&b, "FIGURE %s", name)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, " %v=%v", kv[i], kv[i+1])
	}
	t.Log(b.String())
}
