package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
)

// File statuses in the database. They mirror the object's ScanStatus tag
// (pending = no tag yet); the tag is what downloads trust.
const (
	FilePending  = "pending"
	FileClean    = "clean"
	FileInfected = "infected"
	FileError    = "error"
)

// File is one uploaded (or announced) object of a tenant.
type File struct {
	ID          int64      `json:"id"`
	TenantID    int64      `json:"tenant_id"`
	UploaderID  int64      `json:"uploader_id"`
	Name        string     `json:"name"`
	ContentType string     `json:"content_type"`
	Size        int64      `json:"size"`
	Bucket      string     `json:"-"`
	ObjectKey   string     `json:"-"`
	VersionID   string     `json:"-"`
	Status      string     `json:"status"`
	Signature   string     `json:"signature,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UploadedAt  *time.Time `json:"uploaded_at"`
	ScannedAt   *time.Time `json:"scanned_at"`
}

const fileColumns = `id, tenant_id, uploader_id, name, content_type, size, bucket, object_key, version_id, status, signature, created_at, uploaded_at, scanned_at`

func scanFile(row interface{ Scan(...any) error }) (File, error) {
	var (
		f                 File
		created           int64
		uploaded, scanned sql.NullInt64
	)
	err := row.Scan(&f.ID, &f.TenantID, &f.UploaderID, &f.Name, &f.ContentType, &f.Size, &f.Bucket, &f.ObjectKey, &f.VersionID,
		&f.Status, &f.Signature, &created, &uploaded, &scanned)
	f.CreatedAt, f.UploadedAt, f.ScannedAt = fromMillis(created), nullMillis(uploaded), nullMillis(scanned)
	return f, err
}

const insertFile = `INSERT INTO files (tenant_id, uploader_id, name, content_type, size, bucket, object_key, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

// CreateFile records an announced upload as pending, audited with it. key
// is called with the new id to name the object.
func (ts *TenantStore) CreateFile(ctx context.Context, f File, key func(id int64) string, ev core.AuditEvent) (File, error) {
	err := ts.s.InTx(ctx, func(tx *sql.Tx) error {
		now := ts.s.now()
		// A placeholder key keeps the UNIQUE index happy until the id is known.
		tmp := fmt.Sprintf("pending/%d/%d", ts.tenantID, now)
		res, err := tx.ExecContext(ctx, insertFile, ts.tenantID, f.UploaderID, f.Name, f.ContentType, f.Size, f.Bucket, tmp+"/"+randomSuffix(), FilePending, now)
		if err != nil {
			return fmt.Errorf("insert file: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		f.ID, f.TenantID, f.Status, f.CreatedAt, f.ObjectKey = id, ts.tenantID, FilePending, fromMillis(now), key(id)
		if _, err := tx.ExecContext(ctx, `UPDATE files SET object_key = ? WHERE tenant_id = ? AND id = ?`, f.ObjectKey, ts.tenantID, id); err != nil {
			return fmt.Errorf("name file object: %w", err)
		}
		ev.TenantID = &ts.tenantID
		ev.Target = fmt.Sprintf("file:%d", id)
		return ts.s.audit(ctx, tx, ev)
	})
	return f, err
}

// File returns one file of this tenant.
func (ts *TenantStore) File(ctx context.Context, id int64) (File, error) {
	f, err := scanFile(ts.s.db.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files WHERE tenant_id = ? AND id = ?`, ts.tenantID, id))
	return f, notFound(err)
}

// Files lists this tenant's files, newest first.
func (ts *TenantStore) Files(ctx context.Context, limit, offset int) ([]File, error) {
	rows, err := ts.s.db.QueryContext(ctx, `SELECT `+fileColumns+` FROM files WHERE tenant_id = ? ORDER BY id DESC LIMIT ? OFFSET ?`, ts.tenantID, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("list files: %w", err)
	}
	defer rows.Close()
	out := []File{}
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// MarkFileUploaded records that the object arrived (size and version as S3
// reports them). It leaves a judged file alone.
func (ts *TenantStore) MarkFileUploaded(ctx context.Context, id int64, size int64, versionID string) error {
	_, err := ts.s.db.ExecContext(ctx, `UPDATE files SET uploaded_at = COALESCE(uploaded_at, ?), size = ?, version_id = ? WHERE tenant_id = ? AND id = ? AND status = ?`,
		ts.s.now(), size, versionID, ts.tenantID, id, FilePending)
	return err
}

// RecordScan stores a scan's outcome with an audit event, once per object
// version: a repeated result for the same version changes nothing and
// returns changed=false.
func (ts *TenantStore) RecordScan(ctx context.Context, id int64, versionID, status, signature string, ev core.AuditEvent) (f File, changed bool, err error) {
	err = ts.s.InTx(ctx, func(tx *sql.Tx) error {
		now := ts.s.now()
		res, err := tx.ExecContext(ctx, `UPDATE files SET status = ?, signature = ?, scanned_at = ?, version_id = ?, uploaded_at = COALESCE(uploaded_at, ?)
			WHERE tenant_id = ? AND id = ? AND NOT (status = ? AND version_id = ?)`,
			status, signature, now, versionID, now, ts.tenantID, id, status, versionID)
		if err != nil {
			return fmt.Errorf("record scan: %w", err)
		}
		n, _ := res.RowsAffected()
		if f, err = scanFile(tx.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files WHERE tenant_id = ? AND id = ?`, ts.tenantID, id)); err != nil {
			return notFound(err)
		}
		if n == 0 {
			return nil
		}
		changed = true
		ev.TenantID = &ts.tenantID
		ev.Target = fmt.Sprintf("file:%d", id)
		return ts.s.audit(ctx, tx, ev)
	})
	return f, changed, err
}

// DeleteFile removes a file record, audited.
func (ts *TenantStore) DeleteFile(ctx context.Context, id int64, ev core.AuditEvent) error {
	return ts.s.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM files WHERE tenant_id = ? AND id = ?`, ts.tenantID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return core.ErrNotFound
		}
		ev.TenantID = &ts.tenantID
		ev.Target = fmt.Sprintf("file:%d", id)
		return ts.s.audit(ctx, tx, ev)
	})
}

// FileByObject finds the file an S3 object belongs to, across tenants: S3
// events name a bucket and key, not a tenant. The bucket pins the tenant.
func (s *Store) FileByObject(ctx context.Context, bucket, key string) (File, error) {
	f, err := scanFile(s.db.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files WHERE bucket = ? AND object_key = ?`, bucket, key))
	return f, notFound(err)
}

// PendingFiles lists files still unjudged whose upload (or announcement)
// is older than before, oldest first, for the rescan sweep.
func (s *Store) PendingFiles(ctx context.Context, before time.Time, limit int) ([]File, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+fileColumns+` FROM files WHERE status = ? AND COALESCE(uploaded_at, created_at) < ? ORDER BY id LIMIT ?`,
		FilePending, before.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("pending files: %w", err)
	}
	defer rows.Close()
	var out []File
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// TenantBucket is a provisioned bucket.
type TenantBucket struct {
	TenantID      int64
	Bucket        string
	ProvisionedAt time.Time
	Warnings      string
}

// RecordBucket notes that a tenant's bucket was provisioned (again).
func (s *Store) RecordBucket(ctx context.Context, tenantID int64, bucket, warnings string) error {
	now := s.now()
	res, err := s.db.ExecContext(ctx, `UPDATE tenant_buckets SET bucket = ?, provisioned_at = ?, warnings = ? WHERE tenant_id = ?`, bucket, now, warnings, tenantID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO tenant_buckets (tenant_id, bucket, provisioned_at, warnings) VALUES (?, ?, ?, ?)`, tenantID, bucket, now, warnings)
	if isUniqueViolation(err) {
		return nil // provisioned concurrently; either row is right
	}
	return err
}

// Buckets lists provisioned tenant buckets.
func (s *Store) Buckets(ctx context.Context) ([]TenantBucket, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT tenant_id, bucket, provisioned_at, warnings FROM tenant_buckets ORDER BY tenant_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TenantBucket
	for rows.Next() {
		var b TenantBucket
		var at int64
		if err := rows.Scan(&b.TenantID, &b.Bucket, &at, &b.Warnings); err != nil {
			return nil, err
		}
		b.ProvisionedAt = fromMillis(at)
		out = append(out, b)
	}
	return out, rows.Err()
}

// TenantsWithoutBucket lists active tenants no bucket was provisioned for.
func (s *Store) TenantsWithoutBucket(ctx context.Context, limit int) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT t.id FROM tenants t LEFT JOIN tenant_buckets b ON b.tenant_id = t.id WHERE b.tenant_id IS NULL ORDER BY t.id LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// ManagerEmails lists the e-mail addresses of a tenant's owners and admins.
func (ts *TenantStore) ManagerEmails(ctx context.Context) ([]string, error) {
	rows, err := ts.s.db.QueryContext(ctx, `SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.tenant_id = ? AND m.role IN ('owner', 'admin') ORDER BY u.id`, ts.tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func randomSuffix() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ScanHealth counts, over all tenants, files still pending since before
// overdue, and files found infected since since (HQ's health page).
func (s *Store) ScanHealth(ctx context.Context, overdue, since time.Time) (pendingOverdue, infected int64, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(CASE WHEN status = ? AND COALESCE(uploaded_at, created_at) < ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN status = ? AND scanned_at >= ? THEN 1 ELSE 0 END), 0)
		FROM files`, FilePending, overdue.UnixMilli(), FileInfected, since.UnixMilli()).Scan(&pendingOverdue, &infected)
	if err != nil {
		return 0, 0, fmt.Errorf("scan health: %w", err)
	}
	return pendingOverdue, infected, nil
}
