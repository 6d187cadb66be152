// Package app wires Palisade's parts into its roles: it opens the database
// and Redis from the configuration and builds each role's servers. Nothing
// else knows how the parts fit together.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/api"
	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/bff"
	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/hq"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/mail"
	"github.com/palisade-hq/palisade/internal/obs"
	"github.com/palisade-hq/palisade/internal/outbox"
	"github.com/palisade-hq/palisade/internal/scan"
	"github.com/palisade-hq/palisade/internal/session"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/tenancy"
	"github.com/palisade-hq/palisade/internal/ui"
	"github.com/palisade-hq/palisade/internal/web"

	"github.com/alexedwards/scs/v2"
)

// OpenStore connects to the configured database.
func OpenStore(ctx context.Context, cfg config.Config) (*store.Store, error) {
	if err := cfg.RequireDB(); err != nil {
		return nil, err
	}
	return store.OpenWith(ctx, cfg.DBDriver, cfg.DBDSN, store.Options{TLSCAFile: cfg.DBTLSCA, Password: cfg.DBPassword})
}

// OpenRedis connects to the configured Redis and checks it answers.
func OpenRedis(ctx context.Context, cfg config.Config) (*redis.Client, error) {
	if err := cfg.RequireRedis(); err != nil {
		return nil, err
	}
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, &config.FieldError{Var: "REDIS_URL", Msg: err.Error()}
	}
	c := redis.NewClient(opt)
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close() // the failed ping is the error worth reporting
		return nil, fmt.Errorf("connect to redis: %w", err)
	}
	return c, nil
}

// APIOptions are the knobs tests turn.
type APIOptions struct {
	Hasher auth.Hasher
	// SessionStore overrides the configured store (tests inject clocks).
	SessionStore scs.Store
}

// NewAPI builds the API server from its dependencies.
func NewAPI(cfg config.Config, st *store.Store, rdb redis.UniversalClient, log *slog.Logger, m *obs.Metrics, health *httpx.Health, opt APIOptions) (*api.Server, error) {
	trusted, err := config.ParseCIDRs(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	cdn, err := config.ParseCIDRs(cfg.CDNProxies)
	if err != nil {
		return nil, err
	}
	mailer, err := NewMailer(context.Background(), cfg, st)
	if err != nil {
		return nil, err
	}
	sessStore := opt.SessionStore
	if sessStore == nil {
		if cfg.SessionStore == "sql" {
			sessStore = &session.SQLStore{DB: st.DB()}
		} else {
			sessStore = &session.RedisStore{Client: rdb, Prefix: cfg.RedisPrefix}
		}
	}
	sessErr := api.SessionError(log)
	onErr := func(w http.ResponseWriter, r *http.Request, err error) {
		sessErr(w, r, fmt.Errorf("session store: %w", err))
	}
	hasher := opt.Hasher
	if hasher.P.KeyLen == 0 {
		hasher = auth.Hasher{P: auth.DefaultParams}
	}
	filesSvc, err := NewFiles(context.Background(), cfg, st, rdb, log)
	if err != nil {
		return nil, err
	}
	// Every audit event also goes to the role's JSON log on stdout, which
	// CloudWatch keeps for 90 days: a copy outside the database.
	st.SetAuditLog(log)
	s := api.New(api.Deps{
		Files:            filesSvc,
		S3WebhookToken:   cfg.S3WebhookToken,
		HQ:               api.HQPolicy{DeletionGrace: cfg.HQDeletionGrace, BreakGlassMax: cfg.HQBreakGlassMax},
		Scanner:          NewScannerProbe(cfg, st),
		Store:            st,
		Redis:            rdb,
		RedisPrefix:      cfg.RedisPrefix,
		Log:              log,
		Metrics:          m,
		Mailer:           mailer,
		Outbox:           &outbox.Deliverer{Store: st, Mailer: mailer, Log: log},
		Hasher:           hasher,
		Throttle:         &auth.Throttle{Redis: rdb, Prefix: cfg.RedisPrefix, MaxAccount: cfg.LoginMaxPerAccount, MaxIP: cfg.LoginMaxPerIP, Window: cfg.LoginWindow},
		TenantSessions:   session.New(session.Options{Realm: session.RealmTenant, Secure: cfg.Secure(), Idle: cfg.SessionIdle, Absolute: cfg.SessionAbsolute, Store: sessStore, OnError: onErr}),
		OperatorSessions: session.New(session.Options{Realm: session.RealmOperator, Secure: cfg.Secure(), Idle: cfg.SessionIdle, Absolute: cfg.SessionAbsolute, Store: sessStore, OnError: onErr}),
		TrustedProxies:   trusted,
		CDNProxies:       cdn,
		ClientIPHeader:   cfg.ClientIPHeader,
		Hosts:            tenancy.FromBaseURL(cfg.BaseURL),
		InvitationTTL:    cfg.InvitationTTL,
		PasswordResetTTL: cfg.PasswordResetTTL,
		OutboxEnabled:    cfg.MailDriver == "outbox",
		RealtimeKey:      cfg.RealtimeAppKey,
		RealtimeSecret:   cfg.RealtimeAppSecret,
		Health:           health,
		RateLimits: api.RateLimits{
			APIPerIP:      auth.Limit{Rate: cfg.RateLimitAPIPerIP, Period: cfg.RateLimitPeriod},
			APIPerTenant:  auth.Limit{Rate: cfg.RateLimitAPIPerTenant, Period: cfg.RateLimitPeriod},
			AuthPerIP:     auth.Limit{Rate: cfg.RateLimitAuthPerIP, Period: cfg.RateLimitPeriod},
			AuthPerTenant: auth.Limit{Rate: cfg.RateLimitAuthPerTenant, Period: cfg.RateLimitPeriod},
		},
	})
	s.RealtimeEncryptionKey, s.Realtime = realtimeEncryptionKey(cfg), realtimeTerminator(cfg) // realtime.go
	s.ReadyChecks(s.Health)
	return s, nil
}

// NewMailer is the configured mail driver: SES (the AWS deployments),
// SMTP (other hosts) or the database outbox (dev).
func NewMailer(ctx context.Context, cfg config.Config, st *store.Store) (mail.Mailer, error) {
	switch cfg.MailDriver {
	case "outbox":
		return mail.Outbox{Store: st}, nil
	case "ses":
		var opts []func(*awsconfig.LoadOptions) error
		if cfg.SESRegion != "" {
			opts = append(opts, awsconfig.WithRegion(cfg.SESRegion))
		}
		acfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("aws config for ses: %w", err)
		}
		if acfg.Region == "" {
			acfg.Region = cfg.S3Region
		}
		m, err := mail.NewSES(acfg, cfg.SESEndpoint, cfg.MailFrom, cfg.SESConfigurationSet)
		if err != nil {
			return nil, &config.FieldError{Var: "MAIL_DRIVER", Msg: err.Error()}
		}
		return m, nil
	default:
		if err := cfg.RequireMail(); err != nil {
			return nil, err
		}
		m, err := mail.NewSMTP(cfg.SMTPURL, cfg.MailFrom)
		if err != nil {
			return nil, &config.FieldError{Var: "SMTP_URL", Msg: err.Error()}
		}
		return m, nil
	}
}

// NewScannerProbe reports malware scanning to HQ's health page.
func NewScannerProbe(cfg config.Config, st *store.Store) api.ScannerProbe {
	p := scannerProbe{st: st, rescanAfter: cfg.FilesRescanAfter, now: time.Now}
	if cfg.ClamdAddr != "" {
		p.clamd = &scan.Clamd{Addr: cfg.ClamdAddr, Timeout: cfg.ClamdTimeout}
	}
	return p
}

// NewWeb builds the tenant and sign-up site.
func NewWeb(cfg config.Config, log *slog.Logger, m *obs.Metrics, health *httpx.Health) (*web.Server, error) {
	client, views, err := bffParts(cfg)
	if err != nil {
		return nil, err
	}
	hosts := tenancy.FromBaseURL(cfg.BaseURL)
	s := web.New(web.Deps{API: client, Hosts: hosts, Log: log, Metrics: m, Views: views, Health: health, HSTS: cfg.Secure(),
		RealtimeURL: RealtimePublicURL(cfg, hosts), RealtimeKey: cfg.RealtimeAppKey, UploadOrigin: UploadOrigin(cfg),
		UploadTypes: strings.Split(cfg.FilesAllowedTypes, ",")})
	s.ReadyChecks(s.Health)
	return s, nil
}

// RealtimePublicURL is the WebSocket origin browsers use: PALISADE_REALTIME_URL,
// or wss.<base domain> (ws:// when the site itself is plain http).
func RealtimePublicURL(cfg config.Config, hosts tenancy.Hosts) string {
	if cfg.RealtimeURL != "" {
		return cfg.RealtimeURL
	}
	return strings.Replace(strings.Replace(hosts.RealtimeURL(), "https://", "wss://", 1), "http://", "ws://", 1)
}

// NewHQ builds the operators' console.
func NewHQ(cfg config.Config, log *slog.Logger, m *obs.Metrics, health *httpx.Health) (*hq.Server, error) {
	client, views, err := bffParts(cfg)
	if err != nil {
		return nil, err
	}
	targets, err := config.ParseHealthTargets(cfg.HealthTargets)
	if err != nil {
		return nil, &config.FieldError{Var: "HEALTH_TARGETS", Msg: err.Error()}
	}
	probes := make([]hq.HealthTarget, 0, len(targets))
	for _, t := range targets {
		probes = append(probes, hq.HealthTarget{Name: t.Name, URL: t.URL})
	}
	rtMetrics, err := config.ParseURLList(cfg.HealthRealtimeMetrics)
	if err != nil {
		return nil, &config.FieldError{Var: "HEALTH_REALTIME_METRICS", Msg: err.Error()}
	}
	s := hq.New(hq.Deps{API: client, Hosts: tenancy.FromBaseURL(cfg.BaseURL), Log: log, Metrics: m, Views: views, Health: health, HSTS: cfg.Secure(), Targets: probes, RealtimeMetrics: rtMetrics})
	s.ReadyChecks(s.Health)
	return s, nil
}

func bffParts(cfg config.Config) (*bff.Client, *ui.Renderer, error) {
	client, err := bff.NewClient(cfg.APIURL)
	if err != nil {
		return nil, nil, &config.FieldError{Var: "API_URL", Msg: err.Error()}
	}
	client.ClientIPHeader = cfg.ClientIPHeader
	views, err := ui.New()
	if err != nil {
		return nil, nil, fmt.Errorf("templates: %w", err)
	}
	return client, views, nil
}

// CreateOperator adds an HQ operator after checking the input.
func CreateOperator(ctx context.Context, st *store.Store, hasher auth.Hasher, email, name, password string) (core.Operator, error) {
	email, err := core.NormalizeEmail(email)
	if err != nil {
		return core.Operator{}, err
	}
	if name, err = core.ValidateName("name", name); err != nil {
		return core.Operator{}, err
	}
	if err := core.ValidatePassword(password); err != nil {
		return core.Operator{}, err
	}
	hash, err := hasher.Hash(password)
	if err != nil {
		return core.Operator{}, err
	}
	return st.CreateOperator(ctx, email, name, hash, core.AuditEvent{Action: "hq.operator.created", ActorType: "system"})
}

// MetricsServer serves /metrics plus the health endpoints on the internal
// port, which is also how roles without a public port (worker, scheduler)
// answer ECS health checks.
func MetricsServer(m *obs.Metrics, health *httpx.Health, addr string) httpx.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	health.Register(mux)
	return httpx.Server{Name: "metrics", Addr: addr, Handler: mux}
}
