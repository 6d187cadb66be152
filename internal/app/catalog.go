package app

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/files"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/maintenance"
	"github.com/palisade-hq/palisade/internal/offboarding"
	"github.com/palisade-hq/palisade/internal/outbox"
	"github.com/palisade-hq/palisade/internal/realtime"
	"github.com/palisade-hq/palisade/internal/store"
)

// This file is the one place that lists Palisade's jobs: whose handlers
// the worker registers (RegisterJobs) and the periodic schedule. Each
// feature defines its own jobs; docs/jobs.md says how to add one.

// JobDeps are the job handlers' dependencies. Fields a deployment lacks
// stay nil and the jobs that need them fail permanently with a clear
// message.
type JobDeps struct {
	Store       *store.Store
	Redis       redis.UniversalClient
	RedisPrefix string
	Log         *slog.Logger
	// HTTP is the client of outbound calls to tenants' servers.
	HTTP    *http.Client
	Webhook realtime.WebhookTarget
	// VerifyAuditTrail verifies every audit chain (maintenance.Deps).
	VerifyAuditTrail func(ctx context.Context) error
	// Files runs the files jobs and deletes offboarded tenants' buckets;
	// nil where no object store is configured.
	Files *files.Service
	// Outbox delivers the side effects written beside a change.
	Outbox *outbox.Deliverer
	Now    func() time.Time
}

// NewJobDeps builds the job handlers' dependencies from the configuration.
func NewJobDeps(cfg config.Config, st *store.Store, rdb redis.UniversalClient, log *slog.Logger) JobDeps {
	svc, err := NewFiles(context.Background(), cfg, st, rdb, log)
	if err != nil {
		log.Error("files jobs disabled", "err", err)
		svc = nil
	}
	return JobDeps{
		Files:       svc,
		Store:       st,
		Redis:       rdb,
		RedisPrefix: cfg.RedisPrefix,
		Log:         log,
		// Webhook receivers are tenants' servers: the guarded client refuses
		// private, loopback and metadata addresses at connect time.
		HTTP:             OutboundGuard(cfg).Client(10 * time.Second),
		Webhook:          realtime.WebhookTarget{URL: cfg.RealtimeWebhookURL, Key: cfg.RealtimeAppKey, Secret: cfg.RealtimeAppSecret},
		VerifyAuditTrail: verifyAuditTrail(st, filesMailer(cfg, st, log), log),
		Outbox:           OutboxDeliverer(cfg, st, rdb, log),
	}
}

// RegisterJobs wires every job's handler, one line per feature. The worker
// role calls it once; the worker logs the resulting job list at start.
func RegisterJobs(r *jobs.Registry, d JobDeps) {
	jobs.RegisterHeartbeat(r, d.Redis, d.RedisPrefix, d.Now)
	maintenance.Register(r, maintenance.Deps{Store: d.Store, Log: d.Log, VerifyAuditTrail: d.VerifyAuditTrail})
	realtime.RegisterWebhookJob(r, d.Webhook, d.HTTP)
	files.RegisterJobs(r, d.Files)
	offboarding.Register(r, tenantDeletion(d))
	outbox.Register(r, d.Outbox)
}

// tenantDeletion hands the files feature to offboarding as the deleter of
// tenants' buckets; without an object store only rows are deleted.
func tenantDeletion(d JobDeps) offboarding.Deps {
	od := offboarding.Deps{Store: d.Store, Log: d.Log, Now: d.Now}
	if d.Files != nil {
		od.TenantData, od.ObjectStore = d.Files, true
	}
	return od
}

// Schedule is every periodic job, in UTC. The scheduler role enqueues
// these and nothing else.
func Schedule() []jobs.Periodic {
	return []jobs.Periodic{
		jobs.Every("17 * * * *", maintenance.PurgeExpired, jobs.Empty{}),
		jobs.Every("*/5 * * * *", offboarding.DeleteDueTenants, jobs.Empty{}),
		jobs.Every("41 3 * * *", maintenance.VerifyAuditTrail, jobs.Empty{}),
		jobs.Every("* * * * *", jobs.Heartbeat, jobs.Empty{}),
		jobs.Every("*/2 * * * *", files.RescanPendingFiles, jobs.Empty{}),
		jobs.Every("* * * * *", files.ProvisionBuckets, jobs.Empty{}),
		jobs.Every("23 4 * * *", files.AuditBuckets, jobs.Empty{}),
		jobs.Every("* * * * *", outbox.DeliverDue, jobs.Empty{}),
	}
}
