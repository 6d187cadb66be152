// Package devmode is `palisade dev`: every role in one process on embedded
// defaults (SQLite under ./.palisade, an in-process Redis), for a newcomer's
// first run. Only this package imports miniredis, so the production roles
// never carry it.
package devmode

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/obs"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/tenancy"
)

// Documented realtime credentials for dev; PALISADE_REALTIME_* override them.
const (
	DevRealtimeAppID     = "palisade-dev"
	DevRealtimeAppKey    = "palisade-dev-key"
	DevRealtimeAppSecret = "palisade-dev-secret" // #nosec G101 -- documented dev-only value; production builds (-tags nodev) leave devmode out
)

// Documented keys of dev's embedded S3 store (its root user: versitygw
// refuses the tag-condition bucket policy anyway, so a non-root user would
// prove nothing more here; CI's tests use one).
const (
	DevS3Access = "palisade-dev-s3"
	DevS3Secret = "palisade-dev-s3-secret" // #nosec G101 -- documented key of dev's embedded, loopback-only S3 store; not in production builds
)

// Overrides are dev's defaults; the environment still wins.
func Overrides() map[string]string {
	return map[string]string{
		"ENV":                 config.EnvDev,
		"LOG_LEVEL":           "info",
		"DB_DRIVER":           "sqlite",
		"SESSION_STORE":       "sql",
		"MAIL_DRIVER":         "outbox",
		"TRUSTED_PROXIES":     "127.0.0.0/8,::1",
		"OUTBOUND_ALLOW":      "127.0.0.0/8,::1",
		"METRICS_ADDR":        "127.0.0.1:9090",
		"REALTIME_APP_ID":     DevRealtimeAppID,
		"REALTIME_APP_KEY":    DevRealtimeAppKey,
		"REALTIME_APP_SECRET": DevRealtimeAppSecret,
		"BASE_URL":            "http://localhost:3000",
	}
}

// Run starts everything and blocks until ctx ends. environ is the
// process's environment (KEY=value), for the unknown-variable warnings.
func Run(ctx context.Context, getenv config.Getenv, environ []string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(ctx, getenv, nil, Overrides())
	if err != nil {
		return err
	}
	// The base URL follows the public port unless it was set explicitly.
	if getenv(config.Prefix+"BASE_URL") == "" {
		_, port, err := net.SplitHostPort(cfg.DevPublicAddr)
		if err != nil {
			return &config.FieldError{Var: "DEV_PUBLIC_ADDR", Msg: err.Error()}
		}
		cfg.BaseURL = "http://localhost:" + port
	}
	if getenv(config.Prefix+"API_URL") == "" {
		cfg.APIURL = "http://" + cfg.DevAPIAddr
	}
	if getenv(config.Prefix+"REALTIME_URL") == "" {
		cfg.RealtimeURL = "ws://" + displayAddr(cfg.DevRealtimeAddr)
	}
	if getenv(config.Prefix+"REALTIME_API_URL") == "" {
		cfg.RealtimeAPIURL = "http://" + displayAddr(cfg.DevRealtimeAddr)
	}
	// The embedded S3 store changes the process's working folder; give it
	// back when dev stops (tests go on in the same process).
	if wd, err := os.Getwd(); err == nil {
		defer func() { _ = os.Chdir(wd) }()
	}
	// Absolute: after that change a relative SQLite path opens nothing.
	if cfg.DevDataDir, err = filepath.Abs(cfg.DevDataDir); err != nil {
		return &config.FieldError{Var: "DEV_DATA_DIR", Msg: err.Error()}
	}
	if err := os.MkdirAll(cfg.DevDataDir, 0o700); err != nil {
		return fmt.Errorf("create data folder: %w", err)
	}
	if getenv(config.Prefix+"DB_DSN") == "" {
		cfg.DBDSN = filepath.Join(cfg.DevDataDir, "palisade.db")
	}
	// Only dev imports versitygw; production builds (-tags nodev) leave
	// this package, and so the store, out of the binary.
	embedS3 := getenv(config.Prefix+"S3_ENDPOINT") == ""
	if embedS3 {
		cfg.S3Endpoint, cfg.S3Region = "http://"+cfg.DevS3Addr, "us-east-1"
		cfg.S3AccessKey, cfg.S3SecretKey = DevS3Access, DevS3Secret
		if cfg.S3WebhookToken == "" {
			cfg.S3WebhookToken = randomPassword()
		}
	}
	// A developer reads this console: one short line per record, secrets
	// masked wherever they appear (production roles log JSON).
	log := obs.NewDevLogger(stderr, cfg.LogLevel, cfg.Secrets()...)
	for _, u := range config.UnknownVariables(environ) {
		log.Warn(u.String())
	}

	embedRedis := getenv(config.Prefix+"REDIS_URL") == ""
	if embedRedis {
		mr := miniredis.NewMiniRedis()
		if err := mr.StartAddr("127.0.0.1:0"); err != nil {
			return fmt.Errorf("start embedded redis: %w", err)
		}
		defer mr.Close()
		cfg.RedisURL = "redis://" + mr.Addr()
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	logConfig(log, cfg, environ, embedRedis, embedS3)
	// Libraries that print (versitygw writes its start-up notes to stdout,
	// one with the webhook URL and its token) go through the logger, masked.
	restore := captureStrayOutput(log.With("server", "s3"))
	defer restore()

	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx, log); err != nil {
		return err
	}
	creds, err := seed(ctx, st, cfg)
	if err != nil {
		return fmt.Errorf("seed demo data: %w", err)
	}
	rdb, err := app.OpenRedis(ctx, cfg)
	if err != nil {
		return err
	}
	defer rdb.Close()

	m := obs.NewMetrics()
	health := &httpx.Health{}
	apiSrv, err := app.NewAPI(cfg, st, rdb, log.With("server", "api"), m, health, app.APIOptions{})
	if err != nil {
		return err
	}
	webSrv, err := app.NewWeb(cfg, log.With("server", "web"), m, &httpx.Health{})
	if err != nil {
		return err
	}
	hqSrv, err := app.NewHQ(cfg, log.With("server", "hq"), m, &httpx.Health{})
	if err != nil {
		return err
	}
	hosts := tenancy.FromBaseURL(cfg.BaseURL)
	public := Router(hosts, webSrv, hqSrv)

	rt, err := app.NewRealtime(cfg, rdb, log.With("server", "realtime"), m.Registry, app.WebhookSink(cfg, rdb))
	if err != nil {
		return err
	}
	realtimeMux := app.RealtimeHandler(rt, health)
	// The realtime node runs from here (its heartbeat on Redis); a start
	// that fails before serving stops it, as ServeAll's shutdown would.
	serving := false
	defer func() {
		if !serving {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = rt.Shutdown(sctx)
		}
	}()

	// Listen first, so the banner is printed only once every port is ours.
	lns := map[string]net.Listener{}
	for name, a := range map[string]string{"public": cfg.DevPublicAddr, "api": cfg.DevAPIAddr, "realtime": cfg.DevRealtimeAddr, "metrics": cfg.MetricsAddr} {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			for _, l := range lns {
				_ = l.Close() // the failed listen is the error worth reporting
			}
			if errors.Is(err, syscall.EADDRINUSE) {
				return fmt.Errorf("listen for %s on %s: %w (is another palisade dev running?)", name, a, err)
			}
			return fmt.Errorf("listen for %s on %s: %w", name, a, err)
		}
		lns[name] = ln
	}
	// The embedded object store starts once the API's port is bound: it
	// posts a test event to the webhook at start and gives up if nobody
	// answers (the connection waits in the listen queue until the API serves).
	if embedS3 {
		webhook := "http://" + cfg.DevAPIAddr + "/api/files/s3-events?token=" + cfg.S3WebhookToken
		s3ctx, stopS3 := context.WithCancel(ctx)
		s3Done := make(chan struct{})
		defer func() { stopS3(); <-s3Done }() // before the output capture ends
		go func() {
			defer close(s3Done)
			if err := runS3(s3ctx, filepath.Join(cfg.DevDataDir, "s3"), cfg.DevS3Addr, DevS3Access, DevS3Secret, webhook, log.With("server", "s3")); err != nil && s3ctx.Err() == nil {
				log.Error("embedded S3 store stopped; uploads will fail", "err", err)
			}
		}()
	}
	// A worker and the scheduler run in-process on the embedded Redis.
	waitJobs, err := app.StartJobs(ctx, cfg, st, rdb, log, m)
	if err != nil {
		return err
	}
	defer waitJobs()
	printBanner(stdout, cfg, hosts, creds)
	metrics := app.MetricsServer(m, health, cfg.MetricsAddr)
	metrics.Listener = lns["metrics"]
	serving = true
	return httpx.ServeAll(ctx, log, health, cfg.ShutdownTimeout,
		httpx.Server{Name: "public", Handler: public, Listener: lns["public"]},
		httpx.Server{Name: "api", Handler: apiSrv, Listener: lns["api"]},
		httpx.Server{Name: "realtime", Handler: realtimeMux, Listener: lns["realtime"], BeforeShutdown: func(ctx context.Context) { _ = rt.Shutdown(ctx) }},
		metrics,
	)
}

// Router mirrors the public ALB's host rules on one port.
func Router(hosts tenancy.Hosts, web, hq http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if kind, _ := hosts.Classify(r.Host); kind == tenancy.Admin {
			hq.ServeHTTP(w, r)
			return
		}
		web.ServeHTTP(w, r)
	})
}

// Credentials are the demo accounts.
type Credentials struct {
	OwnerEmail, OwnerPassword, OperatorEmail, OperatorPassword string
	// Created is false when the accounts existed from an earlier start.
	Created bool
}

const credentialsFile = "dev-credentials.txt"

// seed creates the demo tenant acme, its owner and an HQ operator on the
// first start, and remembers generated passwords in a 0600 file so that a
// restart can print them again.
func seed(ctx context.Context, st *store.Store, cfg config.Config) (Credentials, error) {
	path := filepath.Join(cfg.DevDataDir, credentialsFile)
	c := Credentials{
		OwnerEmail: cfg.DevOwnerEmail, OwnerPassword: cfg.DevOwnerPassword,
		OperatorEmail: cfg.DevOperatorEmail, OperatorPassword: cfg.DevOperatorPassword,
	}
	saved := readCredentials(path)
	if c.OwnerPassword == "" {
		c.OwnerPassword = saved["owner_password"]
	}
	if c.OperatorPassword == "" {
		c.OperatorPassword = saved["operator_password"]
	}
	hasher := auth.Hasher{P: auth.DefaultParams}
	_, err := st.TenantBySlug(ctx, "acme")
	switch {
	case err == nil:
	case core.IsNotFound(err):
		if c.OwnerPassword == "" {
			c.OwnerPassword = randomPassword()
		}
		hash, err := hasher.Hash(c.OwnerPassword)
		if err != nil {
			return c, err
		}
		email, err := core.NormalizeEmail(c.OwnerEmail)
		if err != nil {
			return c, &config.FieldError{Var: "DEV_OWNER_EMAIL", Msg: err.Error()}
		}
		if err := core.ValidatePassword(c.OwnerPassword); err != nil {
			return c, &config.FieldError{Var: "DEV_OWNER_PASSWORD", Msg: err.Error()}
		}
		if _, _, err := st.SignUp(ctx, "acme", "Acme Ltd", store.NewUser{Email: email, Name: "Ada Owner", PasswordHash: hash},
			core.AuditEvent{Action: "tenant.signup", ActorType: "system", Detail: "dev seed"}); err != nil {
			return c, err
		}
		c.Created = true
	default:
		return c, err
	}
	if _, err := st.OperatorByEmail(ctx, strings.ToLower(c.OperatorEmail)); core.IsNotFound(err) {
		if c.OperatorPassword == "" {
			c.OperatorPassword = randomPassword()
		}
		if _, err := app.CreateOperator(ctx, st, hasher, c.OperatorEmail, "Otto Operator", c.OperatorPassword); err != nil {
			return c, fmt.Errorf("dev operator: %w", err)
		}
		c.Created = true
	} else if err != nil {
		return c, err
	}
	if c.Created {
		body := fmt.Sprintf("owner_email=%s\nowner_password=%s\noperator_email=%s\noperator_password=%s\n", c.OwnerEmail, c.OwnerPassword, c.OperatorEmail, c.OperatorPassword)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			return c, err
		}
	}
	return c, nil
}

func readCredentials(path string) map[string]string {
	out := map[string]string{}
	f, err := os.Open(path) // #nosec G304 -- dev's own credentials file under the operator-chosen DevDataDir
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			out[k] = v
		}
	}
	return out
}

func randomPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func printBanner(w io.Writer, cfg config.Config, hosts tenancy.Hosts, c Credentials) {
	state := "kept from an earlier start"
	if c.Created {
		state = "created now"
	}
	pw := func(p string) string {
		if p == "" {
			return "(set before this folder was created; see " + filepath.Join(cfg.DevDataDir, credentialsFile) + ")"
		}
		return p
	}
	fmt.Fprintf(w, `
Palisade is running (dev mode, data in %s).

  Tenant "acme"   %s
  HQ (operators)  %s
  Sign up         %s/signup
  API (internal)  %s
  Realtime        %s/app/%s
  Metrics         http://%s/metrics

  Demo accounts (%s):
    acme owner    %s / %s
    HQ operator   %s / %s

  Mail is not sent in dev: read it on HQ's Outbox page (%s/outbox).
  %s
  Press Ctrl+C to stop.

`, cfg.DevDataDir, hosts.TenantURL("acme"), hosts.AdminURL(), hosts.ApexURL(), cfg.APIURL, cfg.RealtimeURL, cfg.RealtimeAppKey,
		cfg.MetricsAddr, state, c.OwnerEmail, pw(c.OwnerPassword), c.OperatorEmail, pw(c.OperatorPassword), hosts.AdminURL(), filesLine(cfg))
}

func displayAddr(a string) string {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return a
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// filesLine tells plainly where uploads go and that, without clamd, they
// stay pending: dev never marks a file clean without a scan.
func filesLine(cfg config.Config) string {
	store := "Files: no object store configured."
	if cfg.S3Endpoint != "" {
		store = "Files: stored in " + cfg.S3Endpoint + "."
	}
	if cfg.ClamdAddr == "" {
		return store + "\n  No virus scanner (PALISADE_CLAMD_ADDR is unset): uploads stay \"Pending scan\" and cannot be downloaded."
	}
	return store + " Uploads are scanned by clamd at " + cfg.ClamdAddr + "."
}
