package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/files"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/mail"
	"github.com/palisade-hq/palisade/internal/realtime/publish"
	"github.com/palisade-hq/palisade/internal/scan"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/tenancy"
)

// NewFiles builds the files feature, or returns nil when no object store is
// configured (dev and test without S3). rdb may be nil (the scan Lambda),
// and then nothing can be enqueued.
func NewFiles(ctx context.Context, cfg config.Config, st *store.Store, rdb redis.UniversalClient, log *slog.Logger) (*files.Service, error) {
	if !files.Configured(cfg) {
		return nil, nil
	}
	hosts := tenancy.FromBaseURL(cfg.BaseURL)
	settings := files.SettingsFrom(cfg, hosts.TenantWildcard())
	clients, err := files.NewClients(ctx, settings)
	if err != nil {
		return nil, err
	}
	svc := &files.Service{Settings: settings, Store: st, Clients: clients, Log: log}
	if rdb != nil {
		svc.Jobs = jobs.NewClient(rdb)
	}
	if cfg.RealtimeAppKey != "" && cfg.RealtimeAPIURL != "" {
		svc.Publisher = publish.New(cfg.RealtimeAPIURL, cfg.RealtimeAppID, cfg.RealtimeAppKey, cfg.RealtimeAppSecret, &http.Client{Timeout: 10 * time.Second})
	}
	if cfg.ClamdAddr != "" {
		svc.Scanner = &scan.Scanner{S3: clients.S3, Log: log,
			Clamd: scan.Clamd{Addr: cfg.ClamdAddr, Timeout: cfg.ClamdTimeout, MaxStream: int64(cfg.ScanMaxBytes)}}
	}
	if st != nil {
		svc.Mailer = filesMailer(cfg, st, log)
		svc.SiteURL = func(tenantID int64) string {
			t, err := st.TenantByID(context.Background(), tenantID)
			if err != nil {
				return hosts.ApexURL()
			}
			return hosts.TenantURL(t.Slug)
		}
	}
	return svc, nil
}

// filesMailer is the configured mailer, or nil (logged) when it cannot be
// built: a malware notice that cannot be sent must not stop scanning.
func filesMailer(cfg config.Config, st *store.Store, log *slog.Logger) mail.Mailer {
	if cfg.RequireMail() != nil {
		return nil
	}
	m, err := NewMailer(context.Background(), cfg, st)
	if err != nil {
		log.Error("files: mailer unavailable; malware notices will only be logged", "err", err)
		return nil
	}
	return m
}

// ScanHandler is the Lambda's handler (`palisade scan`): scan, tag, and —
// where the function can reach the database — record the result at once.
// Without a database the tag alone is the verdict, and the scheduler's
// rescan sweep adopts it into the files table without scanning again.
func ScanHandler(ctx context.Context, cfg config.Config, log *slog.Logger) (scan.Handler, func(), error) {
	if cfg.ClamdAddr == "" {
		return scan.Handler{}, nil, &config.FieldError{Var: "CLAMD_ADDR", Msg: "the scanner needs clamd"}
	}
	var st *store.Store
	closeFn := func() {}
	if cfg.DBDSN != "" {
		var err error
		if st, err = OpenStore(ctx, cfg); err != nil {
			return scan.Handler{}, nil, err
		}
		closeFn = func() { _ = st.Close() } // at shutdown there is nobody left to tell
	}
	settings := files.SettingsFrom(cfg, "")
	clients, err := files.NewClients(ctx, settings)
	if err != nil {
		closeFn()
		return scan.Handler{}, nil, err
	}
	h := scan.Handler{Scanner: &scan.Scanner{S3: clients.S3, Log: log,
		Clamd: scan.Clamd{Addr: cfg.ClamdAddr, Timeout: cfg.ClamdTimeout, MaxStream: int64(cfg.ScanMaxBytes)}}}
	if st != nil {
		svc, err := NewFiles(ctx, cfg, st, nil, log)
		if err != nil || svc == nil {
			closeFn()
			return scan.Handler{}, nil, fmt.Errorf("files service: %v", err)
		}
		h.OnResult = func(ctx context.Context, r scan.Result) error {
			_, err := svc.Record(ctx, r)
			return err
		}
	}
	return h, closeFn, nil
}

// AuditBuckets is `palisade files audit-buckets`: every provisioned tenant
// bucket checked against the settings Provision applies.
func AuditBuckets(ctx context.Context, cfg config.Config, log *slog.Logger) ([]files.Finding, error) {
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	svc, err := NewFiles(ctx, cfg, st, nil, log)
	if err != nil {
		return nil, err
	}
	if svc == nil {
		return nil, &config.FieldError{Var: "S3_ENDPOINT", Msg: "no object store configured (set it, or run in staging/production on AWS)"}
	}
	return svc.AuditAll(ctx)
}

// UploadOrigin is the object store origin the web CSP must let browsers
// reach, or "" without an object store.
func UploadOrigin(cfg config.Config) string {
	if !files.Configured(cfg) {
		return ""
	}
	return files.SettingsFrom(cfg, "").PublicOrigin()
}
