// Package config reads Palisade's configuration from PALISADE_* environment
// variables into one typed struct, validates it and prints it with secrets
// masked. Nothing in Palisade reads the environment anywhere else.
package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Prefix is the prefix of every environment variable Palisade reads.
const Prefix = "PALISADE_"

// Environments Palisade knows. Only dev relaxes security defaults
// (insecure cookies, no HSTS).
const (
	EnvDev        = "dev"
	EnvTest       = "test"
	EnvStaging    = "staging"
	EnvProduction = "production"
)

// Config is every setting of every role. Fields carry their variable name
// (without the prefix), a default and whether they are secret.
type Config struct {
	Env      string `env:"ENV" default:"production" help:"dev, test, staging or production"`
	LogLevel string `env:"LOG_LEVEL" default:"info" help:"debug, info, warn or error"`

	// BaseURL is the public origin of the apex domain, e.g. https://palisade.example.com.
	// Tenants live at <slug>.<host>, HQ at admin.<host>.
	BaseURL string `env:"BASE_URL" default:"https://palisade.example.com"`

	HTTPAddr        string        `env:"HTTP_ADDR" default:"" help:"listen address; empty means the role's default port"`
	MetricsAddr     string        `env:"METRICS_ADDR" default:":9090" help:"Prometheus metrics listener, never public"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" default:"25s" help:"bound on draining in-flight work after SIGTERM"`
	ShutdownDelay   time.Duration `env:"SHUTDOWN_DELAY" default:"0s" help:"api, web and hq: after SIGTERM, /readyz fails but requests are still served for this long before the listener closes; set it above the time a load balancer that polls /readyz takes to stop routing (ECS's own deregistration needs none); SHUTDOWN_DELAY plus SHUTDOWN_TIMEOUT must fit in the stop timeout"`

	DBDriver string `env:"DB_DRIVER" default:"mysql" help:"mysql or sqlite"`
	DBDSN    string `env:"DB_DSN" default:"" secret:"true"`
	RedisURL string `env:"REDIS_URL" default:"" secret:"true"`
	// RedisPrefix namespaces every key, so tests and environments can share a server.
	RedisPrefix string `env:"REDIS_PREFIX" default:"palisade:"`

	// APIURL is where web and hq reach the internal API.
	APIURL          string        `env:"API_URL" default:"http://127.0.0.1:8000"`
	TrustedProxies  string        `env:"TRUSTED_PROXIES" default:"" help:"comma-separated CIDRs whose X-Forwarded-* headers the API believes"`
	SessionStore    string        `env:"SESSION_STORE" default:"redis" help:"redis or sql"`
	SessionIdle     time.Duration `env:"SESSION_IDLE_TIMEOUT" default:"30m"`
	SessionAbsolute time.Duration `env:"SESSION_ABSOLUTE_TIMEOUT" default:"12h"`

	LoginMaxPerAccount int           `env:"LOGIN_MAX_FAILURES_ACCOUNT" default:"5"`
	LoginMaxPerIP      int           `env:"LOGIN_MAX_FAILURES_IP" default:"20"`
	LoginWindow        time.Duration `env:"LOGIN_THROTTLE_WINDOW" default:"15m"`
	InvitationTTL      time.Duration `env:"INVITATION_TTL" default:"72h"`

	// Request rate limits (GCRA in Redis), per client IP and per tenant, for
	// the API in general and for the authentication endpoints (login, sign-up,
	// password reset, MFA) separately. Each is requests per RATE_LIMIT_PERIOD,
	// with bursts up to the same number; 0 turns one off.
	RateLimitPeriod        time.Duration `env:"RATE_LIMIT_PERIOD" default:"1m"`
	RateLimitAPIPerIP      int           `env:"RATE_LIMIT_API_PER_IP" default:"600"`
	RateLimitAPIPerTenant  int           `env:"RATE_LIMIT_API_PER_TENANT" default:"3000"`
	RateLimitAuthPerIP     int           `env:"RATE_LIMIT_AUTH_PER_IP" default:"60"`
	RateLimitAuthPerTenant int           `env:"RATE_LIMIT_AUTH_PER_TENANT" default:"300"`
	PasswordResetTTL       time.Duration `env:"PASSWORD_RESET_TTL" default:"1h"`

	MailDriver string `env:"MAIL_DRIVER" default:"smtp" help:"smtp or outbox (outbox keeps mail in the database for the HQ outbox page)"`
	SMTPURL    string `env:"SMTP_URL" default:"" secret:"true" help:"smtp://user:pass@host:587 (STARTTLS) or smtps://…"`
	MailFrom   string `env:"MAIL_FROM" default:"Palisade <no-reply@palisade.example.com>"`

	RealtimeAppID     string `env:"REALTIME_APP_ID" default:""`
	RealtimeAppKey    string `env:"REALTIME_APP_KEY" default:""`
	RealtimeAppSecret string `env:"REALTIME_APP_SECRET" default:"" secret:"true"`
	// RealtimeURL is the WebSocket origin browsers connect to; empty means wss.<base domain>.
	RealtimeURL string `env:"REALTIME_URL" default:""`
	// RealtimeAPIURL is where api and worker publish (the realtime role's HTTP API).
	RealtimeAPIURL               string `env:"REALTIME_API_URL" default:"http://127.0.0.1:8080"`
	RealtimeWebhookURL           string `env:"REALTIME_WEBHOOK_URL" default:"" help:"where channel webhooks go; empty turns them off"`
	RealtimeMaxConnections       int    `env:"REALTIME_MAX_CONNECTIONS" default:"10000"`
	RealtimeTenantMaxConnections int    `env:"REALTIME_TENANT_MAX_CONNECTIONS" default:"-1" help:"-1 means no per-tenant limit"`
	RealtimeMaxMessageBytes      int    `env:"REALTIME_MAX_MESSAGE_BYTES" default:"10000"`
	RealtimeClientEventsPerSec   int    `env:"REALTIME_CLIENT_EVENTS_PER_SECOND" default:"10"`

	// Files and scanning (docs/files.md). Tenant buckets are named
	// S3_BUCKET_PREFIX + tenant id; S3_ENDPOINT empty means AWS itself.
	S3Endpoint       string `env:"S3_ENDPOINT" default:"" help:"S3-compatible endpoint (http(s)://host:port); empty uses AWS S3 in S3_REGION"`
	S3PublicEndpoint string `env:"S3_PUBLIC_ENDPOINT" default:"" help:"origin browsers use for presigned URLs when it differs from S3_ENDPOINT; also added to the web CSP connect-src"`
	S3Region         string `env:"S3_REGION" default:"eu-west-2" help:"region of the tenant buckets and of SigV4 signatures (us-east-1 for most S3-compatible servers)"`
	S3AccessKey      string `env:"S3_ACCESS_KEY" default:"" help:"static credentials for an S3-compatible server; empty uses the AWS default chain (task role)"`
	S3SecretKey      string `env:"S3_SECRET_KEY" default:"" secret:"true" help:"secret of S3_ACCESS_KEY"`
	S3PathStyle      string `env:"S3_PATH_STYLE" default:"auto" help:"auto (path-style when S3_ENDPOINT is set), on or off"`
	S3BucketPrefix   string `env:"S3_BUCKET_PREFIX" default:"palisade-tenant-" help:"tenant buckets are <prefix><tenant id>"`
	S3ExemptRoleARNs string `env:"S3_EXEMPT_ROLE_ARNS" default:"" help:"comma-separated role ARNs exempt from the deny-unless-Clean read rule (the scanner and worker; infra output tenant_bucket_read_exempt_role_arns)"`
	S3WebhookToken   string `env:"S3_WEBHOOK_TOKEN" default:"" secret:"true" help:"shared token an S3-compatible server's ObjectCreated webhook must present; empty turns the webhook off"`
	KMSKeyID         string `env:"KMS_KEY_ID" default:"" help:"KMS key for tenant buckets' default encryption (SSE-KMS); empty uses SSE-S3"`

	// OutboundAllow exempts ranges from the outbound (SSRF) guard; production leaves it empty.
	OutboundAllow string `env:"OUTBOUND_ALLOW" default:"" help:"CIDRs the outbound guard lets through although private or loopback (dev and tests only; empty in production)"`

	ClamdAddr           string        `env:"CLAMD_ADDR" default:""`
	ClamdTimeout        time.Duration `env:"CLAMD_TIMEOUT" default:"2m" help:"bound on one scan, connection to verdict; a timeout leaves the file pending"`
	ScanMaxBytes        int           `env:"SCAN_MAX_BYTES" default:"104857600" help:"largest object streamed to clamd; larger ones are tagged Error, never Clean (keep at or below clamd's StreamMaxLength)"`
	FilesMaxBytes       int           `env:"FILES_MAX_BYTES" default:"52428800" help:"largest upload the API signs a URL for"`
	FilesAllowedTypes   string        `env:"FILES_ALLOWED_TYPES" default:"application/pdf,image/png,image/jpeg,image/gif,text/plain,text/csv,application/zip,application/octet-stream,application/vnd.openxmlformats-officedocument.wordprocessingml.document,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" help:"comma-separated content types uploads may declare"`
	FilesUploadURLTTL   time.Duration `env:"FILES_UPLOAD_URL_TTL" default:"5m" help:"expiry of presigned upload URLs"`
	FilesDownloadURLTTL time.Duration `env:"FILES_DOWNLOAD_URL_TTL" default:"2m" help:"expiry of presigned download URLs"`
	FilesRescanAfter    time.Duration `env:"FILES_RESCAN_AFTER" default:"10m" help:"the scheduler re-enqueues scans of files still pending this long after upload"`

	// Worker and scheduler. The drain bound stays under ECS's 30 s stop
	// timeout so unfinished jobs are handed back before SIGKILL.
	WorkerConcurrency  int           `env:"WORKER_CONCURRENCY" default:"10" help:"jobs one worker process runs at once"`
	WorkerDrainTimeout time.Duration `env:"WORKER_DRAIN_TIMEOUT" default:"25s" help:"after SIGTERM, how long running jobs may finish before they are put back on their queue"`
	SchedulerEvery     time.Duration `env:"SCHEDULER_EVERY" default:"0s" help:"tests and dev only: tick every periodic job at this interval instead of its cron spec; 0 uses the specs"`

	// HQ: offboarding, break-glass and the health page.
	HQDeletionGrace       time.Duration `env:"HQ_DELETION_GRACE" default:"72h" help:"how long an approved tenant deletion waits before the worker deletes its rows and bucket; the request can be cancelled until then"`
	HQBreakGlassMax       time.Duration `env:"HQ_BREAK_GLASS_MAX" default:"4h" help:"longest time limit an operator may ask for on break-glass access to a tenant's content"`
	HealthTargets         string        `env:"HEALTH_TARGETS" default:"" help:"comma-separated name=url of each role's readiness endpoint (api=http://api:8000/readyz,web=…) that HQ's health page polls"`
	HealthRealtimeMetrics string        `env:"HEALTH_REALTIME_METRICS" default:"" help:"comma-separated /metrics URLs of the realtime replicas; HQ's health page sums their open connections"`

	// Dev-only seed accounts; generated when empty.
	DevOwnerEmail       string `env:"DEV_OWNER_EMAIL" default:"owner@acme.test"`
	DevOwnerPassword    string `env:"DEV_OWNER_PASSWORD" default:"" secret:"true"`
	DevOperatorEmail    string `env:"DEV_OPERATOR_EMAIL" default:"operator@palisade.test"`
	DevOperatorPassword string `env:"DEV_OPERATOR_PASSWORD" default:"" secret:"true"`
	DevDataDir          string `env:"DEV_DATA_DIR" default:".palisade"`
	DevPublicAddr       string `env:"DEV_PUBLIC_ADDR" default:":3000"`
	DevAPIAddr          string `env:"DEV_API_ADDR" default:"127.0.0.1:8000"`
	DevRealtimeAddr     string `env:"DEV_REALTIME_ADDR" default:":8080"`
	DevS3Addr           string `env:"DEV_S3_ADDR" default:"127.0.0.1:9000" help:"dev: the embedded S3-compatible store (versitygw), unless PALISADE_S3_ENDPOINT names another"`
}

// MaxBaseHostLen leaves room under the base domain for the longest tenant
// label (32 characters) and its dot within DNS's 253.
const MaxBaseHostLen = 253 - 33

// Getenv is os.Getenv's shape; run passes it down so tests control the environment.
type Getenv func(string) string

// FieldError names the variable that is wrong.
type FieldError struct {
	Var string
	Msg string
}

func (e *FieldError) Error() string { return Prefix + e.Var + ": " + e.Msg }

// SecretResolver turns an aws-sm:// reference into its value.
type SecretResolver interface {
	Resolve(ctx context.Context, ref string) (string, error)
}

// Load reads the configuration. Values of the form aws-sm://id[#key] are
// fetched with resolver; a nil resolver makes such values an error.
// overrides are applied before the environment is read (roles use them for
// their own defaults, e.g. dev).
func Load(ctx context.Context, getenv Getenv, resolver SecretResolver, overrides map[string]string) (Config, error) {
	var c Config
	v := reflect.ValueOf(&c).Elem()
	t := v.Type()
	var errs []error
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("env")
		raw, ok := lookup(getenv, name)
		if !ok {
			if o, has := overrides[name]; has {
				raw = o
			} else {
				raw = f.Tag.Get("default")
			}
		}
		if strings.HasPrefix(raw, "aws-sm://") {
			if resolver == nil {
				errs = append(errs, &FieldError{name, "refers to AWS Secrets Manager but no resolver is configured"})
				continue
			}
			val, err := resolver.Resolve(ctx, raw)
			if err != nil {
				errs = append(errs, &FieldError{name, err.Error()})
				continue
			}
			raw = val
		}
		if err := set(v.Field(i), raw); err != nil {
			errs = append(errs, &FieldError{name, err.Error()})
		}
	}
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	return c, c.Validate()
}

func lookup(getenv Getenv, name string) (string, bool) {
	v := getenv(Prefix + name)
	return v, v != ""
}

func set(field reflect.Value, raw string) error {
	switch field.Interface().(type) {
	case string:
		field.SetString(strings.TrimSpace(raw))
	case int:
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("%q is not a whole number", raw)
		}
		field.SetInt(int64(n))
	case time.Duration:
		d, err := time.ParseDuration(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 30s or 15m", raw)
		}
		field.SetInt(int64(d))
	default:
		return fmt.Errorf("unsupported field type %s", field.Type())
	}
	return nil
}

// Validate checks values that parse but make no sense.
func (c Config) Validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, &FieldError{name, fmt.Sprintf(format, args...)})
	}
	switch c.Env {
	case EnvDev, EnvTest, EnvStaging, EnvProduction:
	default:
		bad("ENV", "%q is not one of dev, test, staging, production", c.Env)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || strings.TrimSuffix(u.Hostname(), ".") == "" || u.Path != "" && u.Path != "/" {
		bad("BASE_URL", "%q must be an origin such as https://palisade.example.com", c.BaseURL)
	} else if c.Env != EnvDev && c.Env != EnvTest && u.Scheme != "https" {
		bad("BASE_URL", "must use https outside dev and test")
	} else if strings.Trim(strings.ToLower(u.Hostname()), "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" {
		bad("BASE_URL", "host %q must be a DNS name: tenants live at <slug>.<host>", u.Hostname())
	} else if len(u.Hostname()) > MaxBaseHostLen {
		bad("BASE_URL", "host %q is %d characters; at most %d, so that <slug>.<host> fits in a 253-character DNS name", u.Hostname(), len(u.Hostname()), MaxBaseHostLen)
	}
	if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("API_URL", "%q must be an http(s) URL", c.APIURL)
	}
	switch c.DBDriver {
	case "mysql", "sqlite":
	default:
		bad("DB_DRIVER", "%q is not mysql or sqlite", c.DBDriver)
	}
	switch c.SessionStore {
	case "redis", "sql":
	default:
		bad("SESSION_STORE", "%q is not redis or sql", c.SessionStore)
	}
	switch c.MailDriver {
	case "smtp", "outbox":
	default:
		bad("MAIL_DRIVER", "%q is not smtp or outbox", c.MailDriver)
	}
	if c.MailDriver == "smtp" && c.SMTPURL != "" {
		if u, err := url.Parse(c.SMTPURL); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Host == "" {
			bad("SMTP_URL", "must look like smtp://user:pass@host:587")
		}
	}
	if c.RealtimeURL != "" {
		if u, err := url.Parse(c.RealtimeURL); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			bad("REALTIME_URL", "%q must be a ws:// or wss:// origin", c.RealtimeURL)
		}
	}
	for name, n := range map[string]int{"REALTIME_MAX_CONNECTIONS": c.RealtimeMaxConnections, "REALTIME_MAX_MESSAGE_BYTES": c.RealtimeMaxMessageBytes, "REALTIME_CLIENT_EVENTS_PER_SECOND": c.RealtimeClientEventsPerSec} {
		if n < 1 {
			bad(name, "must be at least 1")
		}
	}
	if _, err := ParseCIDRs(c.OutboundAllow); err != nil {
		bad("OUTBOUND_ALLOW", "%v", err)
	}
	if _, err := ParseCIDRs(c.TrustedProxies); err != nil {
		bad("TRUSTED_PROXIES", "%v", err)
	}
	if c.SessionIdle <= 0 {
		bad("SESSION_IDLE_TIMEOUT", "must be positive")
	}
	if c.SessionAbsolute < c.SessionIdle {
		// Name both: either may be the one that was just changed.
		bad("SESSION_ABSOLUTE_TIMEOUT", "%s must not be shorter than PALISADE_SESSION_IDLE_TIMEOUT (%s)", c.SessionAbsolute, c.SessionIdle)
	}
	if c.WorkerConcurrency < 1 || c.WorkerConcurrency > 1000 {
		bad("WORKER_CONCURRENCY", "must be between 1 and 1000")
	}
	if c.WorkerDrainTimeout < time.Second || c.WorkerDrainTimeout > 10*time.Minute {
		bad("WORKER_DRAIN_TIMEOUT", "must be between 1s and 10m")
	}
	if c.SchedulerEvery != 0 && (c.SchedulerEvery < time.Second || c.SchedulerEvery%time.Second != 0) {
		bad("SCHEDULER_EVERY", "must be 0 or a whole number of seconds")
	}
	if c.ShutdownTimeout <= 0 || c.ShutdownTimeout > 10*time.Minute {
		bad("SHUTDOWN_TIMEOUT", "must be between 0 and 10m")
	}
	if c.ShutdownDelay < 0 || c.ShutdownDelay > 5*time.Minute {
		bad("SHUTDOWN_DELAY", "must be between 0 and 5m")
	}
	for name, n := range map[string]int{"LOGIN_MAX_FAILURES_ACCOUNT": c.LoginMaxPerAccount, "LOGIN_MAX_FAILURES_IP": c.LoginMaxPerIP} {
		if n < 1 {
			bad(name, "must be at least 1")
		}
	}
	for name, n := range map[string]int{"RATE_LIMIT_API_PER_IP": c.RateLimitAPIPerIP, "RATE_LIMIT_API_PER_TENANT": c.RateLimitAPIPerTenant,
		"RATE_LIMIT_AUTH_PER_IP": c.RateLimitAuthPerIP, "RATE_LIMIT_AUTH_PER_TENANT": c.RateLimitAuthPerTenant} {
		if n < 0 {
			bad(name, "must be 0 (off) or more")
		}
	}
	if c.RateLimitPeriod < time.Second || c.RateLimitPeriod > 24*time.Hour {
		bad("RATE_LIMIT_PERIOD", "must be between 1s and 24h")
	}
	for name, d := range map[string]time.Duration{"LOGIN_THROTTLE_WINDOW": c.LoginWindow, "INVITATION_TTL": c.InvitationTTL, "PASSWORD_RESET_TTL": c.PasswordResetTTL} {
		if d <= 0 {
			bad(name, "must be positive")
		}
	}
	if c.S3Endpoint != "" {
		if u, err := url.Parse(c.S3Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("S3_ENDPOINT", "%q must be an http(s)://host[:port] origin", c.S3Endpoint)
		}
	}
	if c.S3PublicEndpoint != "" {
		if u, err := url.Parse(c.S3PublicEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("S3_PUBLIC_ENDPOINT", "%q must be an http(s)://host[:port] origin", c.S3PublicEndpoint)
		}
	}
	switch c.S3PathStyle {
	case "auto", "on", "off":
	default:
		bad("S3_PATH_STYLE", "%q is not one of auto, on, off", c.S3PathStyle)
	}
	if c.FilesMaxBytes < 1 || c.ScanMaxBytes < 1 {
		bad("FILES_MAX_BYTES", "FILES_MAX_BYTES and SCAN_MAX_BYTES must be positive")
	}
	for name, d := range map[string]time.Duration{"FILES_UPLOAD_URL_TTL": c.FilesUploadURLTTL, "FILES_DOWNLOAD_URL_TTL": c.FilesDownloadURLTTL} {
		if d < time.Second || d > time.Hour {
			bad(name, "must be between 1s and 1h")
		}
	}
	if c.FilesRescanAfter < time.Second || c.ClamdTimeout < time.Second {
		bad("FILES_RESCAN_AFTER", "FILES_RESCAN_AFTER and CLAMD_TIMEOUT must be at least 1s")
	}
	if c.HQDeletionGrace < 0 {
		bad("HQ_DELETION_GRACE", "must not be negative")
	}
	if c.HQBreakGlassMax < time.Minute || c.HQBreakGlassMax > 24*time.Hour {
		bad("HQ_BREAK_GLASS_MAX", "must be between 1m and 24h")
	}
	if _, err := ParseHealthTargets(c.HealthTargets); err != nil {
		bad("HEALTH_TARGETS", "%v", err)
	}
	if _, err := ParseURLList(c.HealthRealtimeMetrics); err != nil {
		bad("HEALTH_REALTIME_METRICS", "%v", err)
	}
	return errors.Join(errs...)
}

// ParseURLList reads a comma-separated list of absolute http(s) URLs.
func ParseURLList(v string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		u, err := url.Parse(part)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%q is not an http(s) URL", part)
		}
		out = append(out, u.String())
	}
	return out, nil
}

// HealthTarget is one role's readiness endpoint for HQ's health page.
type HealthTarget struct {
	Name, URL string
}

// ParseHealthTargets reads "name=url,name=url"; names must be unique and
// URLs absolute http(s).
func ParseHealthTargets(v string) ([]HealthTarget, error) {
	var out []HealthTarget
	seen := map[string]bool{}
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, raw, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("%q is not name=url", part)
		}
		if seen[name] {
			return nil, fmt.Errorf("%q is named twice", name)
		}
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%s: %q is not an http(s) URL", name, raw)
		}
		seen[name] = true
		out = append(out, HealthTarget{Name: name, URL: u.String()})
	}
	return out, nil
}

// RequireDB and RequireRedis are called by roles that need them, so the error
// names the variable instead of failing later on connect.
func (c Config) RequireDB() error {
	if c.DBDSN == "" {
		return &FieldError{"DB_DSN", "is required for this role"}
	}
	return nil
}

func (c Config) RequireRedis() error {
	if c.RedisURL == "" {
		return &FieldError{"REDIS_URL", "is required for this role"}
	}
	return nil
}

// RequireRealtime checks that the Pusher app credentials are set.
func (c Config) RequireRealtime() error {
	for name, v := range map[string]string{"REALTIME_APP_ID": c.RealtimeAppID, "REALTIME_APP_KEY": c.RealtimeAppKey, "REALTIME_APP_SECRET": c.RealtimeAppSecret} {
		if v == "" {
			return &FieldError{name, "is required for this role"}
		}
	}
	return nil
}

// RequireMail checks that mail can be sent.
func (c Config) RequireMail() error {
	if c.MailDriver == "smtp" && c.SMTPURL == "" {
		return &FieldError{"SMTP_URL", "is required when PALISADE_MAIL_DRIVER is smtp"}
	}
	return nil
}

// Secure reports whether cookies must be Secure and HSTS sent.
func (c Config) Secure() bool { return c.Env != EnvDev && c.Env != EnvTest }

// ParseCIDRs parses a comma-separated list of CIDRs or bare addresses.
func ParseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR or address", part)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR", part)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// LogValue prints the configuration with secrets masked; credentials inside
// URLs and DSNs are masked too, so the value is safe for CloudWatch.
func (c Config) LogValue() slog.Value {
	v := reflect.ValueOf(c)
	t := v.Type()
	attrs := make([]slog.Attr, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		val := fmt.Sprint(v.Field(i).Interface())
		if f.Tag.Get("secret") == "true" {
			val = Mask(val)
		}
		attrs = append(attrs, slog.String(f.Tag.Get("env"), val))
	}
	return slog.GroupValue(attrs...)
}

// Mask hides a secret but keeps enough shape to debug a misconfiguration:
// the scheme and host of a URL, nothing of a password.
func Mask(s string) string {
	if s == "" {
		return ""
	}
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" {
		return u.Scheme + "://***@" + u.Host
	}
	return "***"
}
