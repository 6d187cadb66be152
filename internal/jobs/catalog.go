package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/store"
)

// This file is the one place that lists Palisade's jobs: their
// definitions, their handlers (Register) and the periodic schedule.
// docs/jobs.md says how to add one.

// Empty is the payload of jobs that need none.
type Empty struct{}

// Definitions. Producers enqueue through these.
var (
	// PurgeExpired deletes expired sessions, invitations and reset tokens.
	PurgeExpired = Define[Empty]("maintenance.purge_expired", Options{Queue: QueueLow, MaxAttempts: 3, Timeout: 5 * time.Minute, Backoff: Backoff{Base: time.Minute, Max: 10 * time.Minute}})
	// VerifyAuditTrail checks the audit hash chain; see Deps.VerifyAuditTrail.
	VerifyAuditTrail = Define[Empty]("audit.verify", Options{Queue: QueueLow, MaxAttempts: 3, Timeout: 15 * time.Minute, Backoff: Backoff{Base: time.Minute, Max: 10 * time.Minute}})
	// Heartbeat proves jobs flow end to end; the scheduler's readiness
	// reports its last run.
	Heartbeat = Define[Empty]("system.heartbeat", Options{Queue: QueueCritical, MaxAttempts: 1, Timeout: 10 * time.Second})

	// ScanFile scans one uploaded file (internal/files). Producers: the
	// API's upload-complete call, the S3 ObjectCreated webhook, and the
	// RescanPendingFiles sweep. Idempotent per object version.
	ScanFile = Define[ScanFilePayload]("files.scan", Options{Queue: QueueDefault, MaxAttempts: 4, Timeout: 5 * time.Minute, Backoff: Backoff{Base: 5 * time.Second, Max: time.Minute}})
	// RescanPendingFiles re-enqueues scans of files still pending after
	// PALISADE_FILES_RESCAN_AFTER (clamd was down, an event was lost).
	RescanPendingFiles = Define[Empty]("files.rescan_pending", Options{Queue: QueueLow, MaxAttempts: 1, Timeout: 2 * time.Minute})
	// ProvisionBuckets creates the bucket of every tenant that has none yet.
	ProvisionBuckets = Define[Empty]("files.provision_buckets", Options{Queue: QueueLow, MaxAttempts: 3, Timeout: 5 * time.Minute})
	// ProvisionBucket (re)applies one tenant bucket's settings.
	ProvisionBucket = Define[BucketPayload]("files.provision_bucket", Options{Queue: QueueDefault, MaxAttempts: 5, Timeout: 2 * time.Minute})
	// AuditBuckets reports tenant buckets whose settings drifted (ISO 27001 8.9).
	AuditBuckets = Define[Empty]("files.audit_buckets", Options{Queue: QueueLow, MaxAttempts: 2, Timeout: 15 * time.Minute})
)

// ScanFilePayload names the file to scan.
type ScanFilePayload struct {
	TenantID int64 `json:"tenant_id"`
	FileID   int64 `json:"file_id"`
}

// BucketPayload names a tenant whose bucket to provision.
type BucketPayload struct {
	TenantID int64 `json:"tenant_id"`
}

// FileJobs are the files feature's handlers (internal/files.Jobs); jobs
// does not import files, which imports jobs to enqueue.
type FileJobs interface {
	Scan(ctx context.Context, p ScanFilePayload) error
	RescanPending(ctx context.Context) error
	ProvisionMissing(ctx context.Context) error
	Provision(ctx context.Context, p BucketPayload) error
	AuditBuckets(ctx context.Context) error
}

// DeleteDueTenants carries out approved tenant deletions whose grace
// period is over (HQ's four-eyes offboarding). Idempotent: a finished
// deletion is skipped, and deleting a gone bucket succeeds.
var DeleteDueTenants = Define[Empty]("tenants.delete_due", Options{Queue: QueueLow, MaxAttempts: 5, Timeout: 30 * time.Minute, Backoff: Backoff{Base: time.Minute, Max: 30 * time.Minute}})

// TenantDataDeleter removes a tenant's objects outside the database: every
// object version in its bucket, then the bucket. The files feature
// implements it; it must succeed when the bucket is already gone.
type TenantDataDeleter interface {
	DeleteTenantData(ctx context.Context, tenantID int64) error
}

// deleteDueTenants runs each due deletion: the bucket first, so a failure
// there leaves the rows (and the request) for the next attempt, then the
// rows with the final audit event.
func deleteDueTenants(ctx context.Context, d Deps) error {
	if d.Store == nil {
		return Permanent(fmt.Errorf("no database configured on this worker"))
	}
	// With an object store but no deleter the bucket would outlive the
	// rows with nobody knowing: refuse instead.
	if d.TenantData == nil && d.Files != nil {
		return Permanent(fmt.Errorf("object store configured but no TenantDataDeleter wired (jobs.Deps.TenantData); tenant buckets cannot be deleted"))
	}
	due, err := d.Store.DueTenantDeletions(ctx, d.Now(), 20)
	if err != nil {
		return err
	}
	for _, del := range due {
		note := "bucket: no object store configured, nothing to delete"
		if d.TenantData != nil {
			if err := d.TenantData.DeleteTenantData(ctx, del.TenantID); err != nil {
				return fmt.Errorf("delete tenant %d objects: %w", del.TenantID, err)
			}
			note = "bucket: every object version and the bucket deleted"
		}
		if err := d.Store.DeleteTenantRows(ctx, del.ID, note); err != nil {
			return fmt.Errorf("delete tenant %d rows: %w", del.TenantID, err)
		}
		d.Log.InfoContext(ctx, "tenant deleted", "tenant_id", del.TenantID, "deletion_id", del.ID)
	}
	return nil
}

// Schedule is every periodic job, in UTC. The scheduler role enqueues
// these and nothing else.
func Schedule() []Periodic {
	return []Periodic{
		Every("17 * * * *", PurgeExpired, Empty{}),
		Every("*/5 * * * *", DeleteDueTenants, Empty{}),
		Every("41 3 * * *", VerifyAuditTrail, Empty{}),
		Every("* * * * *", Heartbeat, Empty{}),
		Every("*/2 * * * *", RescanPendingFiles, Empty{}),
		Every("* * * * *", ProvisionBuckets, Empty{}),
		Every("23 4 * * *", AuditBuckets, Empty{}),
	}
}

// PurgeKeep is how long expired invitations and reset tokens stay before
// the purge deletes them, so a late click still gets "expired" rather than
// "not found".
const PurgeKeep = 7 * 24 * time.Hour

// WebhookTarget is where realtime webhooks go.
type WebhookTarget struct {
	URL, Key, Secret string
}

// Deps are what handlers use. Fields a deployment lacks stay nil and the
// jobs that need them fail permanently with a clear message.
type Deps struct {
	Store       *store.Store
	Redis       redis.UniversalClient
	RedisPrefix string
	Log         *slog.Logger
	HTTP        *http.Client
	Webhook     WebhookTarget
	// VerifyAuditTrail is the hook the audit-chain issue fills: verify
	// every chain and return an error describing the first broken link.
	// Until it is set, the audit.verify job records that verification is
	// not wired and succeeds.
	VerifyAuditTrail func(ctx context.Context) error
	Now              func() time.Time
	// Files runs the files jobs; nil where no object store is configured,
	// and then those jobs fail permanently saying so.
	Files FileJobs
	// TenantData deletes offboarded tenants' buckets; nil where no object
	// store is configured, and then only the rows are deleted.
	TenantData TenantDataDeleter
}

// Register wires every handler. The worker role calls it once.
func Register(r *Registry, d Deps) {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	Handle(r, PurgeExpired, func(ctx context.Context, _ Empty) error {
		if d.Store == nil {
			return Permanent(fmt.Errorf("no database configured on this worker"))
		}
		n, err := d.Store.PurgeExpired(ctx, PurgeKeep)
		if err != nil {
			return fmt.Errorf("purge expired: %w", err)
		}
		d.Log.InfoContext(ctx, "purged expired rows", "rows", n)
		return nil
	})
	Handle(r, VerifyAuditTrail, func(ctx context.Context, _ Empty) error {
		if d.VerifyAuditTrail == nil {
			d.Log.WarnContext(ctx, "audit trail verification is not wired yet (audit-chain issue); nothing checked")
			return nil
		}
		if err := d.VerifyAuditTrail(ctx); err != nil {
			return fmt.Errorf("audit trail verification failed: %w", err)
		}
		d.Log.InfoContext(ctx, "audit trail verified")
		return nil
	})
	Handle(r, Heartbeat, func(ctx context.Context, _ Empty) error {
		if d.Redis == nil {
			return Permanent(fmt.Errorf("no redis for the heartbeat"))
		}
		return RecordHeartbeat(ctx, d.Redis, d.RedisPrefix, d.Now())
	})
	registerRealtime(r, d)
	registerFiles(r, d)
	Handle(r, DeleteDueTenants, func(ctx context.Context, _ Empty) error { return deleteDueTenants(ctx, d) })
}

func registerFiles(r *Registry, d Deps) {
	files := func() (FileJobs, error) {
		if d.Files == nil {
			return nil, Permanent(fmt.Errorf("no object store configured on this worker (PALISADE_S3_ENDPOINT, or AWS outside dev/test)"))
		}
		return d.Files, nil
	}
	Handle(r, ScanFile, func(ctx context.Context, p ScanFilePayload) error {
		f, err := files()
		if err != nil {
			return err
		}
		return f.Scan(ctx, p)
	})
	// The periodic sweeps have nothing to do without an object store; they
	// must not fill the dead-letter queue every minute on such deployments.
	Handle(r, RescanPendingFiles, func(ctx context.Context, _ Empty) error {
		if d.Files == nil {
			return nil
		}
		return d.Files.RescanPending(ctx)
	})
	Handle(r, ProvisionBuckets, func(ctx context.Context, _ Empty) error {
		if d.Files == nil {
			return nil
		}
		return d.Files.ProvisionMissing(ctx)
	})
	Handle(r, ProvisionBucket, func(ctx context.Context, p BucketPayload) error {
		f, err := files()
		if err != nil {
			return err
		}
		return f.Provision(ctx, p)
	})
	Handle(r, AuditBuckets, func(ctx context.Context, _ Empty) error {
		f, err := files()
		if err != nil {
			return err
		}
		return f.AuditBuckets(ctx)
	})
}

func heartbeatKey(prefix string) string { return prefix + "jobs:heartbeat" }

// recordHeartbeat keeps the newest time only, so a late or repeated run
// never moves it backwards.
var recordHeartbeat = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1]) end
return 1`)

// RecordHeartbeat stores t as the last heartbeat.
func RecordHeartbeat(ctx context.Context, rdb redis.UniversalClient, prefix string, t time.Time) error {
	return recordHeartbeat.Run(ctx, rdb, []string{heartbeatKey(prefix)}, t.UnixMilli()).Err()
}

// LastHeartbeat is when the heartbeat job last ran; zero if never.
func LastHeartbeat(ctx context.Context, rdb redis.UniversalClient, prefix string) (time.Time, error) {
	v, err := rdb.Get(ctx, heartbeatKey(prefix)).Result()
	if err == redis.Nil {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("heartbeat value %q: %w", v, err)
	}
	return time.UnixMilli(ms), nil
}
