package files

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/mail"
	"github.com/palisade-hq/palisade/internal/scan"
	"github.com/palisade-hq/palisade/internal/store"
)

// Publisher sends realtime events (internal/realtime/publish.Client).
type Publisher interface {
	Trigger(ctx context.Context, channels []string, event string, data any, excludeSocketID string) error
}

// Service is the files feature behind the API and the jobs.
type Service struct {
	Settings  Settings
	Store     *store.Store
	Clients   Clients
	Jobs      *jobs.Client
	Publisher Publisher // nil: no live updates
	Mailer    mail.Mailer
	Log       *slog.Logger
	// Scanner runs scans in this process (worker); nil on the API.
	Scanner *scan.Scanner
	// Hosts gives the tenant's site URL for mails.
	SiteURL func(tenantID int64) string
}

// Provisioner of this service's buckets.
func (s *Service) Provisioner() *Provisioner {
	return &Provisioner{S3: s.Clients.S3, Settings: s.Settings, Keys: s.TenantKeys(), Log: s.Log}
}

// TenantKeys are the per-tenant KMS keys, nil when the tenants share one.
func (s *Service) TenantKeys() *TenantKeys {
	if s.Clients.KMS == nil {
		return nil
	}
	return &TenantKeys{KMS: s.Clients.KMS, Scope: s.Settings.BucketPrefix, ShredDays: s.Settings.ShredDays, Log: s.Log}
}

// Upload is what a client needs to send the bytes.
type Upload struct {
	URL       string            `json:"url"`
	Method    string            `json:"method"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expires_at"`
}

// NewUpload validates an announced upload, makes sure the tenant's bucket
// exists, records the file as pending and signs a PUT bound to the
// declared type and length.
func (s *Service) NewUpload(ctx context.Context, tenantID, userID int64, name string, size int64, contentType string, ev core.AuditEvent) (store.File, Upload, error) {
	name, err := ValidName(name)
	if err != nil {
		return store.File{}, Upload{}, err
	}
	if size <= 0 {
		return store.File{}, Upload{}, core.Invalid("size", "size must be a positive number of bytes")
	}
	if size > s.Settings.MaxBytes {
		return store.File{}, Upload{}, core.Invalid("size", "the file is %s; the largest allowed is %s", core.HumanSize(size), core.HumanSize(s.Settings.MaxBytes))
	}
	ct, err := s.validType(contentType)
	if err != nil {
		return store.File{}, Upload{}, err
	}
	bucket, err := s.ensureBucket(ctx, tenantID)
	if err != nil {
		return store.File{}, Upload{}, err
	}
	ts := s.Store.Tenant(tenantID)
	ev.Detail = fmt.Sprintf("name=%q size=%d type=%s", name, size, ct)
	f, err := ts.CreateFile(ctx, store.File{UploaderID: userID, Name: name, ContentType: ct, Size: size, Bucket: bucket},
		func(id int64) string { return "files/" + strconv.FormatInt(id, 10) + "/" + randomToken() }, ev)
	if err != nil {
		return store.File{}, Upload{}, err
	}
	expires := time.Now().Add(s.Settings.UploadTTL)
	req, err := s.Clients.Presign.PresignPutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(f.ObjectKey), ContentType: aws.String(ct), ContentLength: aws.Int64(size),
	}, s3.WithPresignExpires(s.Settings.UploadTTL))
	if err != nil {
		return f, Upload{}, fmt.Errorf("presign upload: %w", err)
	}
	// Only headers the browser may and must set: it adds Host and
	// Content-Length itself (and the length is signed, so a different one is
	// refused by S3).
	headers := map[string]string{"Content-Type": ct}
	for k, v := range req.SignedHeader {
		if lk := strings.ToLower(k); lk != "host" && lk != "content-length" && len(v) > 0 {
			headers[http.CanonicalHeaderKey(k)] = v[0]
		}
	}
	return f, Upload{URL: req.URL, Method: req.Method, Headers: headers, ExpiresAt: expires.UTC()}, nil
}

func (s *Service) validType(ct string) (string, error) {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || ct == "" {
		return "", core.Invalid("content_type", "content_type must be a media type such as application/pdf")
	}
	if !slices.Contains(s.Settings.AllowedTypes, mt) {
		return "", core.Invalid("content_type", "%s files are not accepted here; you can upload: %s", TypeName(mt), TypeNames(s.Settings.AllowedTypes))
	}
	return mt, nil
}

// ValidName checks a file name: a base name, 1–255 bytes of printable
// UTF-8, no path separators or control characters.
func ValidName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", core.Invalid("name", "name is required")
	case len(name) > 255:
		return "", core.Invalid("name", "name must be at most 255 bytes")
	case !utf8.ValidString(name):
		return "", core.Invalid("name", "name must be valid UTF-8")
	case strings.ContainsAny(name, `/\`) || name == "." || name == ".." || path.Base(name) != name:
		return "", core.Invalid("name", "name must be a file name without folders")
	}
	// Format characters (U+202E right-to-left override, zero-width
	// joiners…) make "gnp.exe" display as "exe.png": refuse them too.
	if r, found := core.HiddenRune(name); found {
		return "", core.RefuseHidden("name", r)
	}
	return name, nil
}

// ensureBucket provisions on first use, so a tenant created before the
// sweep ran can upload at once.
func (s *Service) ensureBucket(ctx context.Context, tenantID int64) (string, error) {
	buckets, err := s.Store.Buckets(ctx)
	if err != nil {
		return "", err
	}
	for _, b := range buckets {
		if b.TenantID == tenantID {
			return b.Bucket, nil
		}
	}
	return s.ProvisionTenant(ctx, tenantID)
}

// ProvisionTenant (re)applies the tenant bucket's settings and records it.
func (s *Service) ProvisionTenant(ctx context.Context, tenantID int64) (string, error) {
	bucket, warnings, err := s.Provisioner().Provision(ctx, tenantID)
	if err != nil {
		return "", err
	}
	return bucket, s.Store.RecordBucket(ctx, tenantID, bucket, strings.Join(warnings, "\n"))
}

// Complete is the client saying the PUT finished: the object must exist
// and match what was announced; then the scan is queued.
func (s *Service) Complete(ctx context.Context, ts *store.TenantStore, id int64) (store.File, error) {
	f, err := ts.File(ctx, id)
	if err != nil {
		return f, err
	}
	if f.Status != store.FilePending {
		return f, nil // already judged; completing twice is harmless
	}
	// GetObjectAttributes, not HeadObject: the bucket policy denies
	// s3:GetObject on an object not yet tagged Clean to every role but the
	// scanners, and HeadObject is authorised as s3:GetObject. The size and
	// version are all this needs (s3:GetObjectAttributes; infra/deploytest
	// checks the api's calls against that policy).
	attrs, err := s.Clients.S3.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: &f.Bucket, Key: &f.ObjectKey,
		ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesObjectSize}})
	if err != nil {
		if errorCode(err) == "NotFound" || errorCode(err) == "NoSuchKey" {
			return f, core.Errorf(core.KindConflict, "the file has not been uploaded yet; PUT it to the upload URL first")
		}
		return f, fmt.Errorf("object attributes: %w", err)
	}
	if got := aws.ToInt64(attrs.ObjectSize); got != f.Size {
		return f, core.Errorf(core.KindConflict, "the uploaded object is %d bytes but %d were announced", got, f.Size)
	}
	if err := ts.MarkFileUploaded(ctx, id, f.Size, aws.ToString(attrs.VersionId)); err != nil {
		return f, err
	}
	if err := s.EnqueueScan(ctx, f.TenantID, f.ID, aws.ToString(attrs.VersionId)); err != nil {
		return f, err
	}
	return ts.File(ctx, id)
}

// EnqueueScan queues the scan job of one file's object version. The
// webhook, the upload's completion and the rescan sweep all ask for the
// same version: the job id makes that one job, and a second ask while it is
// queued, retrying or dead is a no-op.
func (s *Service) EnqueueScan(ctx context.Context, tenantID, fileID int64, versionID string, opts ...jobs.EnqueueOption) error {
	if s.Jobs == nil {
		return errors.New("no job queue configured")
	}
	opts = append(opts, jobs.ID(ScanJobID(tenantID, fileID, versionID)))
	_, err := ScanFile.Enqueue(ctx, s.Jobs, ScanFilePayload{TenantID: tenantID, FileID: fileID}, opts...)
	if errors.Is(err, jobs.ErrDuplicate) {
		return nil
	}
	return err
}

// ScanJobID names the scan of one object version. Version ids are hashed:
// S3's may hold characters a job id may not (jobs.ValidJobID).
func ScanJobID(tenantID, fileID int64, versionID string) string {
	sum := sha256.Sum256([]byte(versionID))
	return fmt.Sprintf("files.scan:%d:%d:%s", tenantID, fileID, hex.EncodeToString(sum[:8]))
}

// EnqueueProvision queues the creation of a new tenant's bucket, so it
// exists before the first upload; the minutely sweep catches any missed one.
func (s *Service) EnqueueProvision(ctx context.Context, tenantID int64) error {
	if s.Jobs == nil {
		return errors.New("no job queue configured")
	}
	_, err := ProvisionBucket.Enqueue(ctx, s.Jobs, BucketPayload{TenantID: tenantID})
	if errors.Is(err, jobs.ErrDuplicate) {
		return nil
	}
	return err
}

// ObjectsCreated handles S3 ObjectCreated notifications (the S3-compatible
// server's webhook): each object that is a known file gets a scan queued.
// It returns how many were queued.
func (s *Service) ObjectsCreated(ctx context.Context, objs []scan.Object) (int, error) {
	n := 0
	for _, o := range objs {
		tenantID, ok := s.Settings.TenantOfBucket(o.Bucket)
		if !ok {
			continue
		}
		f, err := s.Store.FileByObject(ctx, o.Bucket, o.Key)
		if core.IsNotFound(err) || (err == nil && f.TenantID != tenantID) {
			s.Log.WarnContext(ctx, "object created for no known file", "bucket", o.Bucket, "key", o.Key)
			continue
		}
		if err != nil {
			return n, err
		}
		if err := s.EnqueueScan(ctx, f.TenantID, f.ID, o.VersionID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Download is a presigned GET.
type Download struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ScanState is the refusal of a download: the file is not (yet) Clean.
type ScanState struct {
	Status  string
	Message string
}

func (e *ScanState) Error() string { return e.Message }

// DownloadURL signs a GET for a file whose object is tagged Clean. The tag
// is read from S3: the database alone is not trusted to say Clean.
func (s *Service) DownloadURL(ctx context.Context, ts *store.TenantStore, id int64, ev core.AuditEvent) (Download, error) {
	f, err := ts.File(ctx, id)
	if err != nil {
		return Download{}, err
	}
	var st scan.Status
	if f.UploadedAt != nil || f.Status != store.FilePending {
		st, err = scan.ReadStatus(ctx, s.Clients.S3, scan.Object{Bucket: f.Bucket, Key: f.ObjectKey, VersionID: f.VersionID})
		if err != nil && errorCode(err) != "NoSuchKey" && errorCode(err) != "NotFound" {
			return Download{}, fmt.Errorf("read scan tag: %w", err)
		}
	}
	switch st {
	case scan.Clean:
	case scan.Infected:
		return Download{}, &ScanState{Status: store.FileInfected, Message: "this file was blocked: malware was found in it, so it cannot be downloaded"}
	case scan.Error:
		return Download{}, &ScanState{Status: store.FileError, Message: "this file could not be scanned (for example, it is too large to scan), so it cannot be downloaded"}
	default:
		return Download{}, &ScanState{Status: store.FilePending, Message: "this file is waiting for its malware scan; try again when it shows as Clean"}
	}
	req, err := s.Clients.Presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &f.Bucket, Key: &f.ObjectKey, VersionId: optional(f.VersionID),
		ResponseContentDisposition: aws.String(contentDisposition(f.Name))}, s3.WithPresignExpires(s.Settings.DownloadTTL))
	if err != nil {
		return Download{}, fmt.Errorf("presign download: %w", err)
	}
	ev.TenantID = &f.TenantID
	ev.Target = fmt.Sprintf("file:%d", f.ID)
	detail := fmt.Sprintf("name=%q version=%s ttl=%s", f.Name, f.VersionID, s.Settings.DownloadTTL)
	if ev.Detail != "" { // the caller's context, e.g. the break-glass grant an operator used
		detail = ev.Detail + "; " + detail
	}
	ev.Detail = detail
	if err := s.Store.Audit(ctx, ev); err != nil {
		return Download{}, fmt.Errorf("audit download: %w", err)
	}
	return Download{URL: req.URL, ExpiresAt: time.Now().Add(s.Settings.DownloadTTL).UTC()}, nil
}

// Delete removes the file's object version and its record.
func (s *Service) Delete(ctx context.Context, ts *store.TenantStore, id int64, ev core.AuditEvent) error {
	f, err := ts.File(ctx, id)
	if err != nil {
		return err
	}
	if _, err := s.Clients.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &f.Bucket, Key: &f.ObjectKey, VersionId: optional(f.VersionID)}); err != nil &&
		errorCode(err) != "NoSuchKey" && errorCode(err) != "NoSuchBucket" {
		return fmt.Errorf("delete object: %w", err)
	}
	return ts.DeleteFile(ctx, id, ev)
}

func contentDisposition(name string) string {
	return mime.FormatMediaType("attachment", map[string]string{"filename": name})
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
