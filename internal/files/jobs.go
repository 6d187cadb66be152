package files

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/realtime/channels"
	"github.com/palisade-hq/palisade/internal/scan"
	"github.com/palisade-hq/palisade/internal/store"
)

// The files feature's jobs. Names and options are persisted with queued
// jobs in Redis: never change them once deployed.
var (
	// ScanFile scans one uploaded file. Producers: the API's upload-complete
	// call, the S3 ObjectCreated webhook, and the RescanPendingFiles sweep.
	// Idempotent per object version.
	ScanFile = jobs.Define[ScanFilePayload]("files.scan", jobs.Options{Queue: jobs.QueueDefault, MaxAttempts: 4, Timeout: 5 * time.Minute, Backoff: jobs.Backoff{Base: 5 * time.Second, Max: time.Minute}})
	// RescanPendingFiles re-enqueues scans of files still pending after
	// PALISADE_FILES_RESCAN_AFTER (clamd was down, an event was lost).
	RescanPendingFiles = jobs.Define[jobs.Empty]("files.rescan_pending", jobs.Options{Queue: jobs.QueueLow, MaxAttempts: 1, Timeout: 2 * time.Minute})
	// ProvisionBuckets creates the bucket of every tenant that has none yet.
	ProvisionBuckets = jobs.Define[jobs.Empty]("files.provision_buckets", jobs.Options{Queue: jobs.QueueLow, MaxAttempts: 3, Timeout: 5 * time.Minute})
	// ProvisionBucket (re)applies one tenant bucket's settings.
	ProvisionBucket = jobs.Define[BucketPayload]("files.provision_bucket", jobs.Options{Queue: jobs.QueueDefault, MaxAttempts: 5, Timeout: 2 * time.Minute})
	// AuditBuckets reports tenant buckets whose settings drifted (ISO 27001 8.9).
	AuditBuckets = jobs.Define[jobs.Empty]("files.audit_buckets", jobs.Options{Queue: jobs.QueueLow, MaxAttempts: 2, Timeout: 15 * time.Minute})
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

// RegisterJobs wires the files jobs' handlers. s is nil where no object
// store is configured: then the jobs that need one fail permanently saying
// so, and the periodic sweeps do nothing.
func RegisterJobs(r *jobs.Registry, s *Service) {
	need := func() (Jobs, error) {
		if s == nil {
			return Jobs{}, jobs.Permanent(fmt.Errorf("no object store configured on this worker (PALISADE_S3_ENDPOINT, or AWS outside dev/test)"))
		}
		return Jobs{S: s}, nil
	}
	jobs.Handle(r, ScanFile, func(ctx context.Context, p ScanFilePayload) error {
		j, err := need()
		if err != nil {
			return err
		}
		return j.Scan(ctx, p)
	})
	// The periodic sweeps have nothing to do without an object store; they
	// must not fill the dead-letter queue every minute on such deployments.
	jobs.Handle(r, RescanPendingFiles, func(ctx context.Context, _ jobs.Empty) error {
		if s == nil {
			return nil
		}
		return Jobs{S: s}.RescanPending(ctx)
	})
	jobs.Handle(r, ProvisionBuckets, func(ctx context.Context, _ jobs.Empty) error {
		if s == nil {
			return nil
		}
		return Jobs{S: s}.ProvisionMissing(ctx)
	})
	jobs.Handle(r, ProvisionBucket, func(ctx context.Context, p BucketPayload) error {
		j, err := need()
		if err != nil {
			return err
		}
		return j.Provision(ctx, p)
	})
	jobs.Handle(r, AuditBuckets, func(ctx context.Context, _ jobs.Empty) error {
		j, err := need()
		if err != nil {
			return err
		}
		return j.AuditBuckets(ctx)
	})
}

// Jobs are the files jobs' handlers over a Service.
type Jobs struct{ S *Service }

// EventScanned is the realtime event a scan result is published as.
const EventScanned = "file.scanned"

// Scan is the files.scan job: scan the object (or adopt the verdict a
// Lambda already tagged), record it, tell the uploader live, and on malware
// tell the tenant's admins. An unreachable clamd returns an error: the job
// retries, and the file stays pending meanwhile.
func (j Jobs) Scan(ctx context.Context, p ScanFilePayload) error {
	s := j.S
	ts := s.Store.Tenant(p.TenantID)
	f, err := ts.File(ctx, p.FileID)
	if core.IsNotFound(err) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	if f.Status != store.FilePending && f.VersionID != "" {
		return nil // this version was already judged
	}
	obj := scan.Object{Bucket: f.Bucket, Key: f.ObjectKey, VersionID: f.VersionID}
	if s.Scanner == nil {
		// No clamd here (AWS, where the Lambda scans; dev without clamd):
		// adopt a verdict already tagged, else the file stays pending. A
		// state, not a failure: no retries, no dead job.
		return s.adoptTagged(ctx, obj)
	}
	res, err := s.Scanner.Scan(ctx, obj)
	if err != nil {
		if c := errorCode(err); c == "NotFound" || c == "NoSuchKey" {
			return jobs.Permanent(fmt.Errorf("file %d: object not uploaded", f.ID))
		}
		return err
	}
	_, err = s.Record(ctx, res)
	return err
}

func (s *Service) adoptTagged(ctx context.Context, o scan.Object) error {
	if o.VersionID == "" {
		return nil // not confirmed yet: its completion queues the scan again
	}
	res, ok, err := (&scan.Scanner{S3: s.Clients.S3}).Tagged(ctx, o)
	if err != nil {
		if c := errorCode(err); c == "NotFound" || c == "NoSuchKey" {
			return nil // not uploaded (yet): the sweep looks again
		}
		return err
	}
	if !ok {
		return nil
	}
	_, err = s.Record(ctx, res)
	return err
}

// Record stores a scan result against its file, publishes it and, for
// malware, audits and mails. It is what the Lambda's OnResult calls too.
func (s *Service) Record(ctx context.Context, res scan.Result) (store.File, error) {
	f, err := s.Store.FileByObject(ctx, res.Bucket, res.Key)
	if err != nil {
		return f, fmt.Errorf("file of %s: %w", res.Object, err)
	}
	status := map[scan.Status]string{scan.Clean: store.FileClean, scan.Infected: store.FileInfected, scan.Error: store.FileError}[res.Status]
	ev := core.AuditEvent{Action: "file.scanned", ActorType: "system", Outcome: store.OutcomeSuccess,
		Detail: fmt.Sprintf("status=%s signature=%q version=%s bytes=%d", res.Status, res.Signature, res.VersionID, res.Size)}
	if res.Status == scan.Infected {
		ev.Action = "file.quarantined"
	}
	f, changed, err := s.Store.Tenant(f.TenantID).RecordScan(ctx, f.ID, res.VersionID, status, res.Signature, ev)
	if err != nil || !changed {
		return f, err
	}
	s.Log.InfoContext(ctx, "file scanned", "tenant_id", f.TenantID, "file_id", f.ID, "status", res.Status, "signature", res.Signature,
		"bytes", res.Size, "cached", res.Cached, "duration", res.Duration)
	s.publish(ctx, f)
	if res.Status == scan.Infected {
		s.notifyAdmins(ctx, f)
	}
	return f, nil
}

// Channels a file's updates go to: the uploader's own channel, and the
// tenant's files channel (open to every member) for others' lists.
func Channels(f store.File) []string {
	return []string{channels.User(f.TenantID, f.UploaderID), channels.Files(f.TenantID)}
}

func (s *Service) publish(ctx context.Context, f store.File) {
	if s.Publisher == nil {
		return
	}
	data := map[string]any{"id": f.ID, "name": f.Name, "status": f.Status}
	// Losing a live update costs a reload, never safety: log, do not fail.
	if err := s.Publisher.Trigger(ctx, Channels(f), EventScanned, data, ""); err != nil {
		s.Log.WarnContext(ctx, "publish scan result", "file_id", f.ID, "err", err)
	}
}

func (s *Service) notifyAdmins(ctx context.Context, f store.File) {
	if s.Mailer == nil {
		return
	}
	to, err := s.Store.Tenant(f.TenantID).ManagerEmails(ctx)
	if err != nil {
		s.Log.ErrorContext(ctx, "list admins for malware notice", "file_id", f.ID, "err", err)
		return
	}
	site := ""
	if s.SiteURL != nil {
		site = "\n\nFiles: " + s.SiteURL(f.TenantID) + "/files"
	}
	body := fmt.Sprintf("Hello,\n\nThe file %q (id %d), uploaded %s, contains malware (%s).\nIt is quarantined and cannot be downloaded. No action is needed unless you expected this file; then ask the uploader where it came from.%s\n",
		f.Name, f.ID, f.CreatedAt.Format(time.RFC1123), f.Signature, site)
	for _, addr := range to {
		if err := s.Mailer.Send(ctx, core.Mail{To: addr, Subject: "Malware blocked: " + f.Name, Body: body}); err != nil {
			s.Log.ErrorContext(ctx, "send malware notice", "file_id", f.ID, "err", err)
		}
	}
}

// RescanPending re-enqueues scans of files pending longer than RescanAfter
// whose object exists.
func (j Jobs) RescanPending(ctx context.Context) error {
	s := j.S
	pending, err := s.Store.PendingFiles(ctx, time.Now().Add(-s.Settings.RescanAfter), 500)
	if err != nil {
		return err
	}
	n := 0
	for _, f := range pending {
		version := f.VersionID
		if f.UploadedAt == nil {
			// Never confirmed: only worth a scan if the bytes did arrive.
			head, err := s.Clients.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &f.Bucket, Key: &f.ObjectKey})
			if err != nil {
				continue
			}
			version = aws.ToString(head.VersionId)
		}
		// The same job as the upload's; a dead one (clamd was down) runs again.
		if err := s.EnqueueScan(ctx, f.TenantID, f.ID, version, jobs.ReviveDead()); err != nil {
			return err
		}
		n++
	}
	if n > 0 {
		s.Log.InfoContext(ctx, "re-enqueued pending scans", "files", n)
	}
	return nil
}

// ProvisionMissing provisions every tenant without a bucket: the way a new
// tenant gets one without the sign-up path knowing about files.
func (j Jobs) ProvisionMissing(ctx context.Context) error {
	ids, err := j.S.Store.TenantsWithoutBucket(ctx, 100)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if _, err := j.S.ProvisionTenant(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Provision re-applies one tenant's bucket settings.
func (j Jobs) Provision(ctx context.Context, p BucketPayload) error {
	_, err := j.S.ProvisionTenant(ctx, p.TenantID)
	return err
}

// AuditBuckets checks every provisioned bucket and logs each drift as an
// error (alarmed on in CloudWatch). The job fails when any bucket drifted,
// so the dead-letter queue shows it too.
func (j Jobs) AuditBuckets(ctx context.Context) error {
	findings, err := j.S.AuditAll(ctx)
	if err != nil {
		return err
	}
	var drifted []string
	for _, f := range findings {
		if f.Unverified {
			j.S.Log.WarnContext(ctx, "bucket setting unverifiable", "bucket", f.Bucket, "setting", f.Setting, "problem", f.Problem)
			continue
		}
		j.S.Log.ErrorContext(ctx, "bucket drift", "bucket", f.Bucket, "setting", f.Setting, "problem", f.Problem)
		drifted = append(drifted, f.Bucket+": "+f.Setting)
	}
	if len(drifted) > 0 {
		return fmt.Errorf("%d bucket settings drifted: %s", len(drifted), strings.Join(drifted, "; "))
	}
	return nil
}

// AuditAll audits every provisioned tenant bucket.
func (s *Service) AuditAll(ctx context.Context) ([]Finding, error) {
	buckets, err := s.Store.Buckets(ctx)
	if err != nil {
		return nil, err
	}
	p := s.Provisioner()
	var out []Finding
	for _, b := range buckets {
		fs, err := p.Audit(ctx, b.Bucket)
		if err != nil {
			return out, err
		}
		out = append(out, fs...)
	}
	return out, nil
}
