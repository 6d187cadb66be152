package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/testenv"
)

// freeAddr is a loopback address for a server the test starts later,
// drawn below the ephemeral range (testenv.FreeAddr): a port from :0 could
// meanwhile become an outgoing connection's source port (TestDevIdlesQuietly
// failed in CI on "address already in use").
func freeAddr(t *testing.T) string { t.Helper(); return testenv.FreeAddr(t) }

// syncBuffer is a bytes.Buffer safe to write from the server and read from the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// start runs a role in-process the way main does and returns a stop function
// that sends the equivalent of SIGTERM and waits for a clean exit.
func start(t *testing.T, args []string, env map[string]string) (stdout *syncBuffer, stop func()) {
	t.Helper()
	stdout, _, stop = startIO(t, args, env)
	return stdout, stop
}

// startIO is start with the standard error (dev's log) too.
func startIO(t *testing.T, args []string, env map[string]string) (stdout, stderr *syncBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"palisade"}, args...), func(k string) string { return env[k] }, stdout, stderr)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("%v exited with %v\nstderr: %s", args, err, stderr.String())
				}
			case <-time.After(30 * time.Second):
				t.Errorf("%v did not stop within 30s", args)
			}
		})
	}
	t.Cleanup(stop)
	return stdout, stderr, stop
}

func waitReady(t *testing.T, rawURL, host string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("GET", rawURL, nil)
		if host != "" {
			req.Host = host
		}
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready within 60s", rawURL)
}

func get(t *testing.T, addr, host, path string, cookies []*http.Cookie) (int, string, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
	req.Host = host
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res
}

func login(t *testing.T, addr, host, path, email, password string) []*http.Cookie {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+addr+path, strings.NewReader(url.Values{"email": {email}, "password": {password}}.Encode()))
	req.Host = host
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login on %s: %d", host, res.StatusCode)
	}
	return res.Cookies()
}

// TestDevFromEmptyFolder: `palisade dev` starts in an empty folder with Go
// alone, serves acme.localhost and admin.localhost, and keeps its data
// across a restart.
func TestDevFromEmptyFolder(t *testing.T) {
	dir := t.TempDir()
	public := freeAddr(t)
	_, port, _ := net.SplitHostPort(public)
	env := map[string]string{
		"PALISADE_DEV_DATA_DIR":          filepath.Join(dir, ".palisade"),
		"PALISADE_DEV_PUBLIC_ADDR":       public,
		"PALISADE_DEV_API_ADDR":          freeAddr(t),
		"PALISADE_DEV_REALTIME_ADDR":     freeAddr(t),
		"PALISADE_METRICS_ADDR":          freeAddr(t),
		"PALISADE_DEV_OPERATOR_PASSWORD": "operator passphrase 1",
	}
	acme, admin := "acme.localhost:"+port, "admin.localhost:"+port

	out, stop := start(t, []string{"dev"}, env)
	waitReady(t, "http://"+public+"/readyz", "")
	banner := out.String()
	for _, want := range []string{"http://acme.localhost:" + port, "http://admin.localhost:" + port, "operator passphrase 1", "owner@acme.test"} {
		if !strings.Contains(banner, want) {
			t.Fatalf("banner lacks %q:\n%s", want, banner)
		}
	}
	// The generated owner password is printed and kept in a private file.
	st, err := os.Stat(filepath.Join(dir, ".palisade", "dev-credentials.txt"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", err, st)
	}
	creds, _ := os.ReadFile(filepath.Join(dir, ".palisade", "dev-credentials.txt"))
	var ownerPW string
	for _, line := range strings.Split(string(creds), "\n") {
		if v, ok := strings.CutPrefix(line, "owner_password="); ok {
			ownerPW = v
		}
	}
	if ownerPW == "" || !strings.Contains(banner, ownerPW) {
		t.Fatalf("owner password not printed")
	}

	if code, body, _ := get(t, public, acme, "/login", nil); code != 200 || !strings.Contains(body, "Log in to Acme Ltd") {
		t.Fatalf("acme login page: %d", code)
	}
	if code, body, _ := get(t, public, admin, "/login", nil); code != 200 || !strings.Contains(body, "Palisade HQ") {
		t.Fatalf("admin login page: %d", code)
	}
	cookies := login(t, public, acme, "/login", "owner@acme.test", ownerPW)
	if code, body, _ := get(t, public, acme, "/", cookies); code != 200 || !strings.Contains(body, "Welcome, Ada Owner") {
		t.Fatalf("dashboard: %d", code)
	}
	opCookies := login(t, public, admin, "/login", "operator@palisade.test", "operator passphrase 1")
	opCookies = enrolOperator(t, public, admin, opCookies)
	stop()

	// Restart on the same folder: same accounts, and the session survives (SQL store).
	out2, _ := start(t, []string{"dev"}, env)
	waitReady(t, "http://"+public+"/readyz", "")
	if !strings.Contains(out2.String(), "kept from an earlier start") || !strings.Contains(out2.String(), ownerPW) {
		t.Fatalf("restart banner:\n%s", out2.String())
	}
	if code, body, _ := get(t, public, acme, "/", cookies); code != 200 || !strings.Contains(body, "Welcome, Ada Owner") {
		t.Fatalf("session after restart: %d", code)
	}
	if code, body, _ := get(t, public, admin, "/tenants", opCookies); code != 200 || !strings.Contains(body, "acme") {
		t.Fatalf("hq after restart: %d", code)
	}
}

// TestRolesStartAndStop runs migrate, then api, web, hq, realtime, worker and
// scheduler as separate roles on one database, checks each is healthy, and
// stops each cleanly, as ECS would with SIGTERM.
func TestRolesStartAndStop(t *testing.T) {
	for _, driver := range testenv.Drivers(t) {
		t.Run(driver, func(t *testing.T) {
			_, prefix, redisURL := testenv.Redis(t)
			apiAddr := freeAddr(t)
			base := map[string]string{
				"PALISADE_ENV":                 "test",
				"PALISADE_BASE_URL":            "http://localhost:3000",
				"PALISADE_DB_DRIVER":           driver,
				"PALISADE_DB_DSN":              testenv.DSN(t, driver),
				"PALISADE_REDIS_URL":           redisURL,
				"PALISADE_REDIS_PREFIX":        prefix,
				"PALISADE_MAIL_DRIVER":         "outbox",
				"PALISADE_API_URL":             "http://" + apiAddr,
				"PALISADE_TRUSTED_PROXIES":     "127.0.0.1",
				"PALISADE_SHUTDOWN_TIMEOUT":    "5s",
				"PALISADE_REALTIME_APP_ID":     "roles-app",
				"PALISADE_REALTIME_APP_KEY":    "roles-key",
				"PALISADE_REALTIME_APP_SECRET": "roles-secret",
			}
			with := func(kv ...string) map[string]string {
				m := map[string]string{}
				for k, v := range base {
					m[k] = v
				}
				for i := 0; i < len(kv); i += 2 {
					m[kv[i]] = kv[i+1]
				}
				return m
			}
			var out bytes.Buffer
			if err := run(context.Background(), []string{"palisade", "migrate"}, func(k string) string { return base[k] }, &out, io.Discard); err != nil {
				t.Fatalf("migrate: %v\n%s", err, out.String())
			}
			type role = struct{ name, addr, ready string }
			var roles []role
			for _, r := range []string{"api", "web", "hq", "realtime", "worker", "scheduler"} {
				metrics := freeAddr(t)
				addr := metrics
				env := with("PALISADE_METRICS_ADDR", metrics)
				if r == "api" {
					env["PALISADE_HTTP_ADDR"], addr = apiAddr, apiAddr
				} else if r == "web" || r == "hq" || r == "realtime" {
					addr = freeAddr(t)
					env["PALISADE_HTTP_ADDR"] = addr
				}
				_, stop := start(t, []string{r}, env)
				defer stop()
				roles = append(roles, role{r, addr, metrics})
			}
			for _, r := range roles {
				waitReady(t, "http://"+r.addr+"/healthz", "")
				waitReady(t, "http://"+r.ready+"/readyz", "")
				if code, body, _ := get(t, r.ready, "", "/metrics", nil); code != 200 || !strings.Contains(body, "go_goroutines") {
					t.Errorf("%s metrics: %d", r.name, code)
				}
			}
			if code, _, _ := get(t, freeAddrOf(roles, "web"), "nosuch.localhost:3000", "/", nil); code != 404 {
				t.Errorf("web unknown tenant: %d", code)
			}
		})
	}
}

func freeAddrOf(rs []struct{ name, addr, ready string }, name string) string {
	for _, r := range rs {
		if r.name == name {
			return r.addr
		}
	}
	return ""
}

func TestVersionAndBadRole(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"palisade", "version"}, func(string) string { return "" }, &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "palisade ") {
		t.Fatalf("version: %v %q", err, out.String())
	}
	if err := run(context.Background(), []string{"palisade", "nonsense"}, func(string) string { return "" }, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "unknown role") {
		t.Fatalf("bad role: %v", err)
	}
	err := run(context.Background(), []string{"palisade", "api"}, func(k string) string {
		return map[string]string{"PALISADE_SESSION_IDLE_TIMEOUT": "forever"}[k]
	}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "PALISADE_SESSION_IDLE_TIMEOUT") {
		t.Fatalf("bad config: %v", err)
	}
	err = run(context.Background(), []string{"palisade", "api"}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "PALISADE_DB_DSN") {
		t.Fatalf("missing dsn: %v", err)
	}
}

// TestCreateOperator: `palisade hq create-operator` adds an operator, refuses
// a duplicate and a weak password, and never takes the password as a flag.
func TestCreateOperator(t *testing.T) {
	env := map[string]string{
		"PALISADE_ENV":       "test",
		"PALISADE_BASE_URL":  "http://localhost:3000",
		"PALISADE_DB_DRIVER": "sqlite",
		"PALISADE_DB_DSN":    filepath.Join(t.TempDir(), "p.db"),
	}
	getenv := func(k string) string { return env[k] }
	if err := run(context.Background(), []string{"palisade", "migrate"}, getenv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	args := []string{"palisade", "hq", "create-operator", "-email", "Ops@Palisade.test", "-name", "Ops"}
	if err := run(context.Background(), args, getenv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "PALISADE_OPERATOR_PASSWORD") {
		t.Fatalf("without a password: %v", err)
	}
	env["PALISADE_OPERATOR_PASSWORD"] = "short"
	if err := run(context.Background(), args, getenv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "at least 12") {
		t.Fatalf("weak password: %v", err)
	}
	env["PALISADE_OPERATOR_PASSWORD"] = "a long operator passphrase"
	var out bytes.Buffer
	if err := run(context.Background(), args, getenv, &out, io.Discard); err != nil || !strings.Contains(out.String(), "operator ops@palisade.test created") {
		t.Fatalf("create: %v %q", err, out.String())
	}
	if err := run(context.Background(), args, getenv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("duplicate: %v", err)
	}
}
