package app_test

import (
	"slices"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/files"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/maintenance"
	"github.com/palisade-hq/palisade/internal/offboarding"
	"github.com/palisade-hq/palisade/internal/outbox"
	"github.com/palisade-hq/palisade/internal/realtime"
)

// TestCatalogPersistedNames: job names and delivery options are stored
// with queued jobs in Redis, so moving a job between packages must not
// change them. The list is what the worker registers and logs at start.
func TestCatalogPersistedNames(t *testing.T) {
	mi, sec := time.Minute, time.Second
	want := map[string]jobs.Options{
		"audit.verify":              {Queue: jobs.QueueLow, MaxAttempts: 3, Timeout: 15 * mi, Backoff: jobs.Backoff{Base: mi, Max: 10 * mi}},
		"files.audit_buckets":       {Queue: jobs.QueueLow, MaxAttempts: 2, Timeout: 15 * mi, Backoff: jobs.Backoff{Base: 10 * sec, Max: 10 * mi}},
		"files.provision_bucket":    {Queue: jobs.QueueDefault, MaxAttempts: 5, Timeout: 2 * mi, Backoff: jobs.Backoff{Base: 10 * sec, Max: 10 * mi}},
		"files.provision_buckets":   {Queue: jobs.QueueLow, MaxAttempts: 3, Timeout: 5 * mi, Backoff: jobs.Backoff{Base: 10 * sec, Max: 10 * mi}},
		"files.rescan_pending":      {Queue: jobs.QueueLow, MaxAttempts: 1, Timeout: 2 * mi, Backoff: jobs.Backoff{Base: 10 * sec, Max: 10 * mi}},
		"files.scan":                {Queue: jobs.QueueDefault, MaxAttempts: 4, Timeout: 5 * mi, Backoff: jobs.Backoff{Base: 5 * sec, Max: mi}},
		"maintenance.purge_expired": {Queue: jobs.QueueLow, MaxAttempts: 3, Timeout: 5 * mi, Backoff: jobs.Backoff{Base: mi, Max: 10 * mi}},
		"realtime.webhook":          {Queue: jobs.QueueDefault, MaxAttempts: 10, Timeout: 30 * sec, Backoff: jobs.Backoff{Base: 2 * sec, Max: 5 * mi}},
		"system.heartbeat":          {Queue: jobs.QueueCritical, MaxAttempts: 1, Timeout: 10 * sec, Backoff: jobs.Backoff{Base: 10 * sec, Max: 10 * mi}},
		"tenants.delete_due":        {Queue: jobs.QueueLow, MaxAttempts: 5, Timeout: 30 * mi, Backoff: jobs.Backoff{Base: mi, Max: 30 * mi}},
		"outbox.deliver":            {Queue: jobs.QueueCritical, MaxAttempts: 1, Timeout: 5 * mi, Backoff: jobs.Backoff{Base: 10 * sec, Max: 10 * mi}},
	}
	reg := jobs.NewRegistry()
	app.RegisterJobs(reg, app.JobDeps{})
	var names []string
	for n := range want {
		names = append(names, n)
	}
	slices.Sort(names)
	if got := reg.Names(); !slices.Equal(got, names) {
		t.Fatalf("registered jobs\n %v\nwant\n %v", got, names)
	}
	got := map[string]jobs.Options{}
	add := func(name string, o jobs.Options) { got[name] = o }
	add(maintenance.PurgeExpired.Name, maintenance.PurgeExpired.Opts)
	add(maintenance.VerifyAuditTrail.Name, maintenance.VerifyAuditTrail.Opts)
	add(jobs.Heartbeat.Name, jobs.Heartbeat.Opts)
	add(realtime.WebhookJob.Name, realtime.WebhookJob.Opts)
	add(files.ScanFile.Name, files.ScanFile.Opts)
	add(files.RescanPendingFiles.Name, files.RescanPendingFiles.Opts)
	add(files.ProvisionBuckets.Name, files.ProvisionBuckets.Opts)
	add(files.ProvisionBucket.Name, files.ProvisionBucket.Opts)
	add(files.AuditBuckets.Name, files.AuditBuckets.Opts)
	add(offboarding.DeleteDueTenants.Name, offboarding.DeleteDueTenants.Opts)
	add(outbox.DeliverDue.Name, outbox.DeliverDue.Opts)
	for name, o := range want {
		if got[name] != o {
			t.Errorf("%s options %+v, want %+v", name, got[name], o)
		}
	}

	// The schedule: the same rows on the same specs.
	wantRows := []string{
		"maintenance.purge_expired 17 * * * *", "tenants.delete_due */5 * * * *", "audit.verify 41 3 * * *",
		"system.heartbeat * * * * *", "files.rescan_pending */2 * * * *", "files.provision_buckets * * * * *",
		"files.audit_buckets 23 4 * * *", "outbox.deliver * * * * *",
	}
	var rows []string
	for _, p := range app.Schedule() {
		rows = append(rows, p.Name+" "+p.Spec)
	}
	if !slices.Equal(rows, wantRows) {
		t.Fatalf("schedule\n %q\nwant\n %q", rows, wantRows)
	}
}
