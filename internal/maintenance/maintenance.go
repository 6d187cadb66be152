// Package maintenance holds the platform's housekeeping jobs: the purge of
// expired rows and the daily audit-trail verification. internal/app
// registers them and puts them on the schedule.
package maintenance

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/store"
)

// Job definitions. Names and options are persisted with queued jobs in
// Redis: never change them once deployed.
var (
	// PurgeExpired deletes expired sessions, invitations and reset tokens.
	PurgeExpired = jobs.Define[jobs.Empty]("maintenance.purge_expired", jobs.Options{Queue: jobs.QueueLow, MaxAttempts: 3, Timeout: 5 * time.Minute, Backoff: jobs.Backoff{Base: time.Minute, Max: 10 * time.Minute}})
	// VerifyAuditTrail checks the audit hash chain; see Deps.VerifyAuditTrail.
	VerifyAuditTrail = jobs.Define[jobs.Empty]("audit.verify", jobs.Options{Queue: jobs.QueueLow, MaxAttempts: 3, Timeout: 15 * time.Minute, Backoff: jobs.Backoff{Base: time.Minute, Max: 10 * time.Minute}})
)

// PurgeKeep is how long expired invitations and reset tokens stay before
// the purge deletes them, so a late click still gets "expired" rather than
// "not found".
const PurgeKeep = 7 * 24 * time.Hour

// Deps are what the handlers use; a nil Store fails the purge permanently.
type Deps struct {
	Store *store.Store
	Log   *slog.Logger
	// VerifyAuditTrail is the hook the audit-chain issue fills: verify
	// every chain and return an error describing the first broken link.
	// Until it is set, the audit.verify job records that verification is
	// not wired and succeeds.
	VerifyAuditTrail func(ctx context.Context) error
}

// Register wires the maintenance jobs' handlers.
func Register(r *jobs.Registry, d Deps) {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	jobs.Handle(r, PurgeExpired, func(ctx context.Context, _ jobs.Empty) error {
		if d.Store == nil {
			return jobs.Permanent(fmt.Errorf("no database configured on this worker"))
		}
		n, err := d.Store.PurgeExpired(ctx, PurgeKeep)
		if err != nil {
			return fmt.Errorf("purge expired: %w", err)
		}
		d.Log.InfoContext(ctx, "purged expired rows", "rows", n)
		return nil
	})
	jobs.Handle(r, VerifyAuditTrail, func(ctx context.Context, _ jobs.Empty) error {
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
}
