// Package offboarding carries out HQ's approved tenant deletions (the
// four-eyes offboarding) once their grace period is over: the tenant's
// objects through the files feature, then its rows.
package offboarding

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/store"
)

// DeleteDueTenants carries out approved tenant deletions whose grace
// period is over. Idempotent: a finished deletion is skipped, and deleting
// a gone bucket succeeds. Its name and options are persisted with queued
// jobs: never change them once deployed.
var DeleteDueTenants = jobs.Define[jobs.Empty]("tenants.delete_due", jobs.Options{Queue: jobs.QueueLow, MaxAttempts: 5, Timeout: 30 * time.Minute, Backoff: jobs.Backoff{Base: time.Minute, Max: 30 * time.Minute}})

// TenantDataDeleter removes a tenant's objects outside the database: every
// object version in its bucket, then the bucket. The files feature
// (files.Service) implements it; it must succeed when the bucket is
// already gone.
type TenantDataDeleter interface {
	DeleteTenantData(ctx context.Context, tenantID int64) error
}

// Deps are what the handler uses.
type Deps struct {
	Store *store.Store
	// TenantData deletes offboarded tenants' buckets; nil where no object
	// store is configured, and then only the rows are deleted.
	TenantData TenantDataDeleter
	// ObjectStore says an object store is configured: then a nil
	// TenantData is a wiring mistake, and the job refuses rather than
	// leave the bucket behind.
	ObjectStore bool
	Log         *slog.Logger
	Now         func() time.Time
}

// Register wires the offboarding job's handler.
func Register(r *jobs.Registry, d Deps) {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	jobs.Handle(r, DeleteDueTenants, func(ctx context.Context, _ jobs.Empty) error { return deleteDueTenants(ctx, d) })
}

// deleteDueTenants runs each due deletion: the bucket first, so a failure
// there leaves the rows (and the request) for the next attempt, then the
// rows with the final audit event.
func deleteDueTenants(ctx context.Context, d Deps) error {
	if d.Store == nil {
		return jobs.Permanent(fmt.Errorf("no database configured on this worker"))
	}
	// With an object store but no deleter the bucket would outlive the
	// rows with nobody knowing: refuse instead.
	if d.TenantData == nil && d.ObjectStore {
		return jobs.Permanent(fmt.Errorf("object store configured but no TenantDataDeleter wired (offboarding.Deps.TenantData); tenant buckets cannot be deleted"))
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
