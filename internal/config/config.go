// Package config reads Palisade's configuration from PALISADE_* environment
// variables into one typed struct, validates it and prints it with secrets
// masked. Nothing in Palisade reads the environment anywhere else.
package config

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"reflect"
	"slices"
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

	HTTPAddr           string        `env:"HTTP_ADDR" default:"" help:"listen address; empty means the role's default port"`
	MetricsAddr        string        `env:"METRICS_ADDR" default:":9090" help:"Prometheus metrics listener, never public"`
	MetricsEMFInterval time.Duration `env:"METRICS_EMF_INTERVAL" default:"60s" help:"every this long, long-running roles write their metrics to stdout as CloudWatch Embedded Metric Format lines (the alarms read them); 0 turns it off; never in dev or test"`
	ShutdownTimeout    time.Duration `env:"SHUTDOWN_TIMEOUT" default:"25s" help:"bound on draining in-flight work after SIGTERM"`
	ShutdownDelay      time.Duration `env:"SHUTDOWN_DELAY" default:"0s" help:"api, web and hq: after SIGTERM, /readyz fails but requests are still served for this long before the listener closes; set it above the time a load balancer that polls /readyz takes to stop routing (ECS's own deregistration needs none); SHUTDOWN_DELAY plus SHUTDOWN_TIMEOUT must fit in the stop timeout"`

	DBDriver string `env:"DB_DRIVER" default:"mysql" help:"mysql or sqlite"`
	DBDSN    string `env:"DB_DSN" default:"" secret:"true"`
	// The RDS-managed master secret holds the password alone, and RDS
	// rotates it; migrate gets it here (the DSN from Terraform has none).
	DBPassword string `env:"DB_PASSWORD" default:"" secret:"true" help:"mysql: password of DB_DSN's user, used instead of the DSN's own (migrate in AWS: the RDS-managed, rotated master secret's password key); empty keeps the DSN's"`
	// The roles' own database users (internal/store.EnsureRoleUsers):
	// migrate, connected as the master, creates each user named in the DSN,
	// sets the DSN's password (a rotated secret takes effect here) and
	// replaces its grants. Each role connects with its own DB_DSN.
	DBUserAPI     string `env:"DB_USER_API" default:"" secret:"true" help:"migrate: DSN of the api's database user (aws-sm://<secret>#dsn); migrate creates it with DML grants and sets its password"`
	DBUserWorker  string `env:"DB_USER_WORKER" default:"" secret:"true" help:"migrate: DSN of the worker's database user, as DB_USER_API"`
	DBUserHQ      string `env:"DB_USER_HQ" default:"" secret:"true" help:"migrate: DSN of hq's database user (operators and the audit append only), as DB_USER_API"`
	DBUserScanner string `env:"DB_USER_SCANNER" default:"" secret:"true" help:"migrate: DSN of the scan Lambda's database user, as DB_USER_API"`
	DBTLSCA       string `env:"DB_TLS_CA" default:"" help:"PEM file of the CAs a DSN with tls=rds trusts; empty means the Amazon RDS global bundle built into the binary (internal/store/rdsca)"`
	RedisURL      string `env:"REDIS_URL" default:"" secret:"true"`
	// RedisPrefix namespaces every key, so tests and environments can share a server.
	RedisPrefix string `env:"REDIS_PREFIX" default:"palisade:"`

	// APIURL is where web and hq reach the internal API.
	APIURL          string        `env:"API_URL" default:"http://127.0.0.1:8000"`
	TrustedProxies  string        `env:"TRUSTED_PROXIES" default:"" help:"comma-separated CIDRs whose X-Forwarded-* headers the API believes"`
	CDNProxies      string        `env:"CDN_PROXIES" default:"" help:"api: comma-separated CIDRs of the CDN's edges in front of the load balancer (Cloudflare's published ranges); trusted in X-Forwarded-For like TRUSTED_PROXIES, and the only sources whose CLIENT_IP_HEADER the API believes"`
	ClientIPHeader  string        `env:"CLIENT_IP_HEADER" default:"" help:"the CDN's client-IP header (CF-Connecting-IP behind Cloudflare): api takes the client's address from it when the request reached it from a CDN_PROXIES edge through trusted proxies only; web and hq pass it on to the API; empty uses X-Forwarded-For alone"`
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

	MailDriver string `env:"MAIL_DRIVER" default:"smtp" help:"ses (Amazon SES v2 API over HTTPS with the task role: what AWS deployments use), smtp, or outbox (outbox keeps mail in the database for the HQ outbox page)"`
	SMTPURL    string `env:"SMTP_URL" default:"" secret:"true" help:"smtp://user:pass@host:587 (STARTTLS) or smtps://…"`
	MailFrom   string `env:"MAIL_FROM" default:"Palisade <no-reply@palisade.example.com>"`
	// SES v2: IAM-authorised (the task role), so no SMTP password exists.
	SESRegion           string `env:"SES_REGION" default:"" help:"region of the SES v2 API; empty uses AWS_REGION, then S3_REGION"`
	SESConfigurationSet string `env:"SES_CONFIGURATION_SET" default:"" help:"SES configuration set every message is sent with (event publishing, reputation); empty sends without one"`
	SESEndpoint         string `env:"SES_ENDPOINT" default:"" help:"tests only: an https(s) endpoint standing in for the SES v2 API; empty uses AWS"`

	RealtimeAppID     string `env:"REALTIME_APP_ID" default:""`
	RealtimeAppKey    string `env:"REALTIME_APP_KEY" default:""`
	RealtimeAppSecret string `env:"REALTIME_APP_SECRET" default:"" secret:"true"`
	// RealtimeURL is the WebSocket origin browsers connect to; empty means wss.<base domain>.
	RealtimeURL string `env:"REALTIME_URL" default:""`
	// RealtimeAPIURL is where api and worker publish (the realtime role's
	// HTTP API). No default: outside dev a wrong guess would drop every
	// event silently, so staging and production must name it.
	RealtimeAPIURL               string `env:"REALTIME_API_URL" default:""`
	RealtimeWebhookURL           string `env:"REALTIME_WEBHOOK_URL" default:"" help:"where channel webhooks go; empty turns them off"`
	RealtimeMaxConnections       int    `env:"REALTIME_MAX_CONNECTIONS" default:"10000"`
	RealtimeTenantMaxConnections int    `env:"REALTIME_TENANT_MAX_CONNECTIONS" default:"-1" help:"-1 means no per-tenant limit"`
	RealtimeMaxMessageBytes      int    `env:"REALTIME_MAX_MESSAGE_BYTES" default:"10000"`
	RealtimeClientEventsPerSec   int    `env:"REALTIME_CLIENT_EVENTS_PER_SECOND" default:"10"`
	// Realtime keepalive and end-to-end encryption (docs/realtime.md).
	RealtimeActivityTimeout     time.Duration `env:"REALTIME_ACTIVITY_TIMEOUT" default:"30s" help:"silence after which clients ping (sent to them) and the server pings a socket"`
	RealtimePongTimeout         time.Duration `env:"REALTIME_PONG_TIMEOUT" default:"30s" help:"how long the server waits for a pong before closing a socket with 4201"`
	RealtimeEncryptionMasterKey string        `env:"REALTIME_ENCRYPTION_MASTER_KEY" default:"" secret:"true" help:"base64 of 32 bytes: the api derives encrypted channels' keys from it; empty refuses private-encrypted- channels"`

	// Files and scanning (docs/files.md). Tenant buckets are named
	// S3_BUCKET_PREFIX + tenant id; S3_ENDPOINT empty means AWS itself.
	S3Endpoint            string `env:"S3_ENDPOINT" default:"" help:"S3-compatible endpoint (http(s)://host:port); empty uses AWS S3 in S3_REGION"`
	S3PublicEndpoint      string `env:"S3_PUBLIC_ENDPOINT" default:"" help:"origin browsers use for presigned URLs when it differs from S3_ENDPOINT; also added to the web CSP connect-src"`
	S3Region              string `env:"S3_REGION" default:"eu-west-2" help:"region of the tenant buckets and of SigV4 signatures (us-east-1 for most S3-compatible servers)"`
	S3AccessKey           string `env:"S3_ACCESS_KEY" default:"" help:"static credentials for an S3-compatible server; empty uses the AWS default chain (task role)"`
	S3SecretKey           string `env:"S3_SECRET_KEY" default:"" secret:"true" help:"secret of S3_ACCESS_KEY"`
	S3PathStyle           string `env:"S3_PATH_STYLE" default:"auto" help:"auto (path-style when S3_ENDPOINT is set), on or off"`
	S3BucketPrefix        string `env:"S3_BUCKET_PREFIX" default:"palisade-tenant-" help:"tenant buckets are <prefix><tenant id>"`
	S3ExemptRoleARNs      string `env:"S3_EXEMPT_ROLE_ARNS" default:"" help:"comma-separated role ARNs exempt from the deny-unless-Clean read rule (the scanner and worker; infra output tenant_bucket_read_exempt_role_arns)"`
	S3TaggerRoleARNs      string `env:"S3_TAGGER_ROLE_ARNS" default:"" help:"comma-separated role ARNs the bucket policy lets write the ScanStatus and Quarantine tags (the scanner Lambda; infra output tenant_bucket_tagger_role_arns); empty: the S3_EXEMPT_ROLE_ARNS"`
	S3ExpectedBucketOwner string `env:"S3_EXPECTED_BUCKET_OWNER" default:"" help:"AWS account id sent as x-amz-expected-bucket-owner on every S3 call, so a bucket of another account (a squatted name) is refused; empty sends none (S3-compatible servers)"`
	S3WebhookToken        string `env:"S3_WEBHOOK_TOKEN" default:"" secret:"true" help:"shared token an S3-compatible server's ObjectCreated webhook must present; empty turns the webhook off"`
	KMSKeyID              string `env:"KMS_KEY_ID" default:"" help:"KMS key for tenant buckets' default encryption (SSE-KMS); empty uses SSE-S3"`
	KMSTenantKeys         string `env:"KMS_TENANT_KEYS" default:"off" help:"on: each tenant bucket is encrypted with the tenant's own KMS key (alias/<S3_BUCKET_PREFIX><tenant id>), scheduled for deletion at offboarding (crypto-shredding); AWS only; off uses KMS_KEY_ID"`
	KMSShredDays          int    `env:"KMS_SHRED_DAYS" default:"7" help:"days (7-30) a shredded tenant key stays pending deletion, the window in which an offboarding by mistake can still be undone"`

	// OutboundAllow exempts ranges from the outbound (SSRF) guard; production leaves it empty.
	OutboundAllow string `env:"OUTBOUND_ALLOW" default:"" help:"CIDRs the outbound guard lets through although private or loopback (dev and tests only; empty in production)"`

	ClamdAddr           string        `env:"CLAMD_ADDR" default:""`
	ClamdBinary         string        `env:"CLAMD_BINARY" default:"" help:"scan and update-definitions: start this clamd (the scanner image sets /usr/sbin/clamd) on the signatures in CLAMAV_DIR, listening on CLAMD_ADDR; empty connects to a clamd already running at CLAMD_ADDR"`
	ClamdStartTimeout   time.Duration `env:"CLAMD_START_TIMEOUT" default:"3m" help:"bound on a started clamd loading its signatures (a cold start with the official databases takes tens of seconds)"`
	ClamAVDir           string        `env:"CLAMAV_DIR" default:"/tmp/clamav" help:"where the scanner keeps the signature databases it fetched (Lambda: only /tmp is writable)"`
	ClamAVBucket        string        `env:"CLAMAV_DEFINITIONS_BUCKET" default:"" help:"private S3 mirror of the ClamAV signatures: update-definitions writes it, the scanner reads it at cold start; empty uses the databases already in CLAMAV_DIR"`
	ClamAVUpstream      string        `env:"CLAMAV_UPSTREAM_URL" default:"https://database.clamav.net" help:"update-definitions: where the signature databases are downloaded from (ClamAV's CDN, or a mirror of it)"`
	ClamAVDatabases     string        `env:"CLAMAV_DATABASES" default:"main.cvd,daily.cvd,bytecode.cvd" help:"update-definitions: comma-separated database files to mirror"`
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
	} else if slices.Contains(strings.Split(strings.TrimSuffix(u.Hostname(), "."), "."), "") {
		bad("BASE_URL", "host %q has an empty label", u.Hostname())
	} else if p := u.Port(); p != "" && !validPort(p) || p == "" && strings.HasSuffix(u.Host, ":") {
		bad("BASE_URL", "port %q must be a number from 1 to 65535", p)
	} else if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		bad("BASE_URL", "%q must be an origin (no user, query or fragment), such as https://palisade.example.com", c.BaseURL)
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
	case "ses", "smtp", "outbox":
	default:
		bad("MAIL_DRIVER", "%q is not ses, smtp or outbox", c.MailDriver)
	}
	if c.SESEndpoint != "" {
		if u, err := url.Parse(c.SESEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("SES_ENDPOINT", "%q must be an http(s)://host[:port] origin", c.SESEndpoint)
		}
	}
	if c.RealtimeAPIURL != "" {
		if u, err := url.Parse(c.RealtimeAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("REALTIME_API_URL", "%q must be an http(s) URL such as http://realtime.internal:8080", c.RealtimeAPIURL)
		}
	}
	if u, err := url.Parse(c.ClamAVUpstream); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("CLAMAV_UPSTREAM_URL", "%q must be an http(s) URL", c.ClamAVUpstream)
	}
	if _, err := ParseDatabases(c.ClamAVDatabases); err != nil {
		bad("CLAMAV_DATABASES", "%v", err)
	}
	if c.ClamdStartTimeout < time.Second {
		bad("CLAMD_START_TIMEOUT", "must be at least 1s")
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
	for name, d := range map[string]time.Duration{"REALTIME_ACTIVITY_TIMEOUT": c.RealtimeActivityTimeout, "REALTIME_PONG_TIMEOUT": c.RealtimePongTimeout} {
		if d < time.Second || d > time.Hour {
			bad(name, "%s must be between 1s and 1h", d)
		}
	}
	if k := c.RealtimeEncryptionMasterKey; k != "" {
		if b, err := base64.StdEncoding.DecodeString(k); err != nil || len(b) != 32 {
			bad("REALTIME_ENCRYPTION_MASTER_KEY", "must be the base64 of exactly 32 bytes (openssl rand -base64 32)")
		}
	}
	if _, err := ParseCIDRs(c.OutboundAllow); err != nil {
		bad("OUTBOUND_ALLOW", "%v", err)
	}
	if _, err := ParseCIDRs(c.TrustedProxies); err != nil {
		bad("TRUSTED_PROXIES", "%v", err)
	}
	if _, err := ParseCIDRs(c.CDNProxies); err != nil {
		bad("CDN_PROXIES", "%v", err)
	}
	if err := validClientIPHeader(c.ClientIPHeader); err != nil {
		bad("CLIENT_IP_HEADER", "%v", err)
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
	if c.MetricsEMFInterval != 0 && (c.MetricsEMFInterval < time.Second || c.MetricsEMFInterval > time.Hour) {
		bad("METRICS_EMF_INTERVAL", "must be 0 (off) or between 1s and 1h")
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
	switch c.KMSTenantKeys {
	case "off", "on":
	default:
		bad("KMS_TENANT_KEYS", "%q is not one of on, off", c.KMSTenantKeys)
	}
	if c.KMSShredDays < 7 || c.KMSShredDays > 30 {
		bad("KMS_SHRED_DAYS", "%d is not from 7 to 30 (AWS's pending-deletion window)", c.KMSShredDays)
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

// ParseDatabases reads CLAMAV_DATABASES: plain file names of ClamAV
// databases (no folders, so a bucket key can never climb out of its prefix).
func ParseDatabases(v string) ([]string, error) {
	var out []string
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.ContainsAny(part, `/\`) || strings.HasPrefix(part, ".") || !strings.Contains(part, ".") {
			return nil, fmt.Errorf("%q is not a database file name such as daily.cvd", part)
		}
		out = append(out, part)
	}
	if len(out) == 0 {
		return nil, errors.New("names no database")
	}
	return out, nil
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

// validClientIPHeader accepts an HTTP header name that a CDN sets, never
// one of the headers the proxies in front of the API write themselves.
func validClientIPHeader(h string) error {
	if h == "" {
		return nil
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("%q is not a header name (letters, digits and '-')", h)
		}
	}
	for _, own := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "Host"} {
		if strings.EqualFold(h, own) {
			return fmt.Errorf("%q is written by the load balancer or the BFF, not by the CDN; use the CDN's own header (CF-Connecting-IP behind Cloudflare)", h)
		}
	}
	return nil
}

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

// Secrets lists the secret values of c (fields tagged secret, and the
// password inside a URL or DSN among them), for loggers to mask wherever
// one appears.
func (c Config) Secrets() []string {
	v := reflect.ValueOf(c)
	t := v.Type()
	var out []string
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("secret") != "true" {
			continue
		}
		s, ok := v.Field(i).Interface().(string)
		if !ok || s == "" {
			continue
		}
		out = append(out, s)
		if u, err := url.Parse(s); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok && p != "" {
				out = append(out, p, url.QueryEscape(p))
			}
		} else if user, rest, ok := strings.Cut(s, "@"); ok && rest != "" {
			// A MySQL DSN: user:password@tcp(host)/db.
			if _, p, ok := strings.Cut(user, ":"); ok && p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// validPort is 1–5 ASCII digits naming a port from 1 to 65535.
func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && len(p) <= 5 && strings.Trim(p, "0123456789") == "" && n >= 1 && n <= 65535
}
