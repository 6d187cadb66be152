package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
)

// Deletion request states.
const (
	DeletionPending   = "pending"   // waiting for a second operator
	DeletionApproved  = "approved"  // waiting out the grace period
	DeletionCancelled = "cancelled" // withdrawn before the deletion ran
	DeletionDone      = "done"      // the tenant's rows are gone
)

// TenantDeletion is a four-eyes request to delete a tenant.
type TenantDeletion struct {
	ID          int64      `json:"id"`
	TenantID    int64      `json:"tenant_id"`
	TenantSlug  string     `json:"tenant_slug"`
	Reason      string     `json:"reason"`
	Status      string     `json:"status"`
	RequestedBy int64      `json:"requested_by"`
	RequestedAt time.Time  `json:"requested_at"`
	ApprovedBy  *int64     `json:"approved_by,omitempty"`
	ApprovedAt  *time.Time `json:"approved_at,omitempty"`
	DeleteAfter *time.Time `json:"delete_after,omitempty"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
}

const deletionColumns = `id, tenant_id, tenant_slug, reason, status, requested_by, requested_at, approved_by, approved_at, delete_after, finished_at`

func scanDeletion(row interface{ Scan(...any) error }) (TenantDeletion, error) {
	var (
		d                           TenantDeletion
		requested                   int64
		approver                    sql.NullInt64
		approved, after, finishedAt sql.NullInt64
	)
	err := row.Scan(&d.ID, &d.TenantID, &d.TenantSlug, &d.Reason, &d.Status, &d.RequestedBy, &requested, &approver, &approved, &after, &finishedAt)
	d.RequestedAt = fromMillis(requested)
	if approver.Valid {
		d.ApprovedBy = &approver.Int64
	}
	d.ApprovedAt, d.DeleteAfter, d.FinishedAt = nullMillis(approved), nullMillis(after), nullMillis(finishedAt)
	return d, err
}

const selectOpenDeletion = `SELECT ` + deletionColumns + ` FROM tenant_deletions WHERE tenant_id = ? AND status IN ('pending', 'approved') ORDER BY id DESC LIMIT 1`

// OpenTenantDeletion returns the tenant's pending or approved deletion
// request, or core.ErrNotFound.
func (s *Store) OpenTenantDeletion(ctx context.Context, tenantID int64) (TenantDeletion, error) {
	d, err := scanDeletion(s.db.QueryRowContext(ctx, selectOpenDeletion, tenantID))
	return d, notFound(err)
}

// RequestTenantDeletion opens a deletion request; a second operator must
// approve it. One open request per tenant.
func (s *Store) RequestTenantDeletion(ctx context.Context, tenantID, operatorID int64, reason string, ev core.AuditEvent) (TenantDeletion, error) {
	var d TenantDeletion
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		t, err := scanTenant(tx.QueryRowContext(ctx, selectTenantByID+lockSuffix(s.driver), tenantID))
		if err != nil {
			return notFound(err)
		}
		if _, err := scanDeletion(tx.QueryRowContext(ctx, selectOpenDeletion, tenantID)); err == nil {
			return &core.Error{Kind: core.KindConflict, Message: "a deletion of this tenant is already requested"}
		} else if err != sql.ErrNoRows {
			return err
		}
		now := s.now()
		res, err := tx.ExecContext(ctx, `INSERT INTO tenant_deletions (tenant_id, tenant_slug, reason, status, requested_by, requested_at) VALUES (?, ?, ?, 'pending', ?, ?)`,
			t.ID, t.Slug, reason, operatorID, now)
		if err != nil {
			return fmt.Errorf("insert deletion: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		d = TenantDeletion{ID: id, TenantID: t.ID, TenantSlug: t.Slug, Reason: reason, Status: DeletionPending, RequestedBy: operatorID, RequestedAt: fromMillis(now)}
		ev.TenantID, ev.Target, ev.Detail = &t.ID, "tenant:"+t.Slug, reason
		return s.auditOperator(ctx, tx, ev)
	})
	return d, err
}

// ApproveTenantDeletion is the second pair of eyes: another operator than
// the requester approves, and the deletion becomes due after grace.
func (s *Store) ApproveTenantDeletion(ctx context.Context, tenantID, approverID int64, grace time.Duration, ev core.AuditEvent) (TenantDeletion, error) {
	var d TenantDeletion
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		d, err = scanDeletion(tx.QueryRowContext(ctx, selectOpenDeletion+lockSuffix(s.driver), tenantID))
		if err != nil {
			return notFound(err)
		}
		if d.Status != DeletionPending {
			return &core.Error{Kind: core.KindConflict, Message: "this deletion is already approved"}
		}
		if d.RequestedBy == approverID {
			return &core.Error{Kind: core.KindForbidden, Message: "a second operator must approve; you requested this deletion"}
		}
		now := s.now()
		after := now + grace.Milliseconds()
		if _, err := tx.ExecContext(ctx, `UPDATE tenant_deletions SET status = 'approved', approved_by = ?, approved_at = ?, delete_after = ? WHERE id = ? AND status = 'pending'`,
			approverID, now, after, d.ID); err != nil {
			return fmt.Errorf("approve deletion: %w", err)
		}
		d.Status, d.ApprovedBy = DeletionApproved, &approverID
		at, due := fromMillis(now), fromMillis(after)
		d.ApprovedAt, d.DeleteAfter = &at, &due
		ev.TenantID, ev.Target = &d.TenantID, "tenant:"+d.TenantSlug
		ev.Detail = fmt.Sprintf("deletion %d approved; rows are deleted after %s", d.ID, due.Format(time.RFC3339))
		return s.auditOperator(ctx, tx, ev)
	})
	return d, err
}

// CancelTenantDeletion withdraws an open request, before it runs.
func (s *Store) CancelTenantDeletion(ctx context.Context, tenantID int64, ev core.AuditEvent) error {
	return s.InTx(ctx, func(tx *sql.Tx) error {
		d, err := scanDeletion(tx.QueryRowContext(ctx, selectOpenDeletion+lockSuffix(s.driver), tenantID))
		if err != nil {
			return notFound(err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tenant_deletions SET status = 'cancelled', finished_at = ? WHERE id = ?`, s.now(), d.ID); err != nil {
			return fmt.Errorf("cancel deletion: %w", err)
		}
		ev.TenantID, ev.Target = &d.TenantID, "tenant:"+d.TenantSlug
		ev.Detail = fmt.Sprintf("deletion %d cancelled", d.ID)
		return s.auditOperator(ctx, tx, ev)
	})
}

// DueTenantDeletions lists approved deletions whose grace period is over.
func (s *Store) DueTenantDeletions(ctx context.Context, now time.Time, limit int) ([]TenantDeletion, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+deletionColumns+` FROM tenant_deletions WHERE status = 'approved' AND delete_after <= ? ORDER BY id LIMIT ?`, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("due deletions: %w", err)
	}
	defer rows.Close()
	var out []TenantDeletion
	for rows.Next() {
		d, err := scanDeletion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// TenantDeletions lists recent requests of every state, newest first (HQ).
func (s *Store) TenantDeletions(ctx context.Context, limit int) ([]TenantDeletion, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+deletionColumns+` FROM tenant_deletions ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list deletions: %w", err)
	}
	defer rows.Close()
	out := []TenantDeletion{}
	for rows.Next() {
		d, err := scanDeletion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeleteTenantRows carries out an approved, due deletion: the tenant row
// goes and its foreign keys cascade to every tenant-owned table. Users left
// without any membership go too. The audit trail stays (ISO 27001 asks for
// retention) and its last event, in the same transaction, records the
// deletion. Running it again for a finished request does nothing, because
// the job may run twice.
func (s *Store) DeleteTenantRows(ctx context.Context, deletionID int64, bucketNote string) error {
	return s.InTx(ctx, func(tx *sql.Tx) error {
		d, err := scanDeletion(tx.QueryRowContext(ctx, `SELECT `+deletionColumns+` FROM tenant_deletions WHERE id = ?`+lockSuffix(s.driver), deletionID))
		if err != nil {
			return notFound(err)
		}
		if d.Status == DeletionDone || d.Status == DeletionCancelled {
			return nil
		}
		if d.Status != DeletionApproved || d.DeleteAfter == nil || d.DeleteAfter.After(s.Now()) {
			return &core.Error{Kind: core.KindConflict, Message: "this deletion is not approved and due"}
		}
		var orphans []int64
		rows, err := tx.QueryContext(ctx, `SELECT m.user_id FROM memberships m WHERE m.tenant_id = ?
  AND NOT EXISTS (SELECT 1 FROM memberships o WHERE o.user_id = m.user_id AND o.tenant_id <> m.tenant_id)`, d.TenantID)
		if err != nil {
			return fmt.Errorf("find tenant-only users: %w", err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return errors.Join(err, rows.Close())
			}
			orphans = append(orphans, id)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM tenants WHERE id = ?`, d.TenantID)
		if err != nil {
			return fmt.Errorf("delete tenant: %w", err)
		}
		n, _ := res.RowsAffected()
		for _, uid := range orphans {
			for _, q := range []string{
				`DELETE FROM mfa_recovery_codes WHERE subject_type = 'user' AND subject_id = ?`,
				`DELETE FROM mfa_totp WHERE subject_type = 'user' AND subject_id = ?`,
				`DELETE FROM webauthn_credentials WHERE subject_type = 'user' AND subject_id = ?`,
				`DELETE FROM users WHERE id = ?`,
			} {
				if _, err := tx.ExecContext(ctx, q, uid); err != nil {
					return fmt.Errorf("delete user %d: %w", uid, err)
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tenant_deletions SET status = 'done', finished_at = ? WHERE id = ?`, s.now(), d.ID); err != nil {
			return fmt.Errorf("finish deletion: %w", err)
		}
		ev := core.AuditEvent{TenantID: &d.TenantID, ActorType: "system", Action: "tenant.deleted", Target: "tenant:" + d.TenantSlug,
			Detail: fmt.Sprintf("deletion %d: tenant row removed (%d), %d users without other memberships removed; %s", d.ID, n, len(orphans), bucketNote)}
		return s.auditOperator(ctx, tx, ev)
	})
}

// lockSuffix locks the selected row for the transaction on MariaDB;
// SQLite's write transactions are serial already.
func lockSuffix(driver string) string {
	if driver == "mysql" {
		return " FOR UPDATE"
	}
	return ""
}

// TenantExport is the archive of a tenant's data handed over before
// deletion: its rows and a manifest of its files (the objects themselves
// are copied from the bucket by the manifest's keys).
type TenantExport struct {
	Format      string            `json:"format"`
	ExportedAt  time.Time         `json:"exported_at"`
	Tenant      HQTenant          `json:"tenant"`
	Members     []MemberMFA       `json:"members"`
	Invitations []core.Invitation `json:"invitations"`
	Files       []FileManifest    `json:"files"`
	Audit       []core.AuditEvent `json:"audit"`
}

// FileManifest is one file of the export, with where its bytes are.
type FileManifest struct {
	File
	Bucket    string `json:"bucket"`
	ObjectKey string `json:"object_key"`
	VersionID string `json:"version_id"`
}

// Export writes the tenant's data as one JSON document. Secrets (password
// hashes, token hashes, MFA seeds) are never part of it.
func (ts *TenantStore) Export(ctx context.Context, w io.Writer) error {
	ov, err := ts.Overview(ctx, 1_000_000)
	if err != nil {
		return err
	}
	ex := TenantExport{Format: "palisade-tenant-export-v1", ExportedAt: ts.s.Now().UTC(), Tenant: ov.Tenant, Members: ov.Members, Files: []FileManifest{}}
	if ex.Invitations, err = ts.PendingInvitations(ctx); err != nil {
		return err
	}
	for off := 0; ; off += 500 {
		fs, err := ts.Files(ctx, 500, off)
		if err != nil {
			return err
		}
		for _, f := range fs {
			ex.Files = append(ex.Files, FileManifest{File: f, Bucket: f.Bucket, ObjectKey: f.ObjectKey, VersionID: f.VersionID})
		}
		if len(fs) < 500 {
			break
		}
	}
	ex.Audit = []core.AuditEvent{}
	for before := int64(0); ; {
		evs, err := ts.AuditEvents(ctx, before, 500)
		if err != nil {
			return err
		}
		ex.Audit = append(ex.Audit, evs...)
		if len(evs) < 500 {
			break
		}
		before = evs[len(evs)-1].ID
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(ex)
}
