package store

import (
	"context"
	"fmt"

	"github.com/palisade-hq/palisade/internal/core"
)

// DashboardCounts are the numbers on a tenant's home page. Every query is
// bound to the handle's tenant.
type DashboardCounts struct {
	Members            int64
	PendingInvitations int64
	// InvitationsSent counts invitations members sent (pending or
	// accepted), not the owner invitation Palisade HQ sent.
	InvitationsSent int64
	// FilesByStatus has every file status, zero when there is none.
	FilesByStatus map[string]int64
	Files         int64
	// StorageBytes is the size of the files that were uploaded (announced
	// uploads that never arrived take no room).
	StorageBytes int64
}

// FileStatuses are the scan statuses a file can have, in the order pages
// show them.
var FileStatuses = []string{FilePending, FileClean, FileInfected, FileError}

// DashboardCounts counts the tenant's members, invitations and files.
func (ts *TenantStore) DashboardCounts(ctx context.Context) (DashboardCounts, error) {
	c := DashboardCounts{FilesByStatus: map[string]int64{}}
	for _, st := range FileStatuses {
		c.FilesByStatus[st] = 0
	}
	db := ts.s.db
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM memberships WHERE tenant_id = ?`, ts.tenantID).Scan(&c.Members); err != nil {
		return c, fmt.Errorf("count members: %w", err)
	}
	err := db.QueryRowContext(ctx, `SELECT
  COALESCE(SUM(CASE WHEN accepted_at IS NULL AND expires_at > ? THEN 1 ELSE 0 END), 0),
  COALESCE(SUM(CASE WHEN invited_by <> ? THEN 1 ELSE 0 END), 0)
FROM invitations WHERE tenant_id = ?`, ts.s.now(), InvitedByHQ, ts.tenantID).Scan(&c.PendingInvitations, &c.InvitationsSent)
	if err != nil {
		return c, fmt.Errorf("count invitations: %w", err)
	}
	rows, err := db.QueryContext(ctx, `SELECT status, COUNT(*), COALESCE(SUM(CASE WHEN uploaded_at IS NOT NULL THEN size ELSE 0 END), 0)
FROM files WHERE tenant_id = ? GROUP BY status`, ts.tenantID)
	if err != nil {
		return c, fmt.Errorf("count files: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			st      string
			n, size int64
		)
		if err := rows.Scan(&st, &n, &size); err != nil {
			return c, err
		}
		c.FilesByStatus[st] += n
		c.Files += n
		c.StorageBytes += size
	}
	return c, rows.Err()
}

// HasSecondFactor reports whether a member of this tenant has a confirmed
// authenticator app or a passkey. A user who is not a member has none here.
func (ts *TenantStore) HasSecondFactor(ctx context.Context, userID int64) (bool, error) {
	var n int64
	err := ts.s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM memberships m WHERE m.tenant_id = ? AND m.user_id = ? AND (
  EXISTS (SELECT 1 FROM mfa_totp x WHERE x.subject_type = 'user' AND x.subject_id = m.user_id AND x.confirmed_at IS NOT NULL)
  OR EXISTS (SELECT 1 FROM webauthn_credentials w WHERE w.subject_type = 'user' AND w.subject_id = m.user_id))`, ts.tenantID, userID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("second factor: %w", err)
	}
	return n > 0, nil
}

// HasCreatedAPIToken reports whether the user ever created an API token in
// this tenant (revoked and expired ones count: the step was done).
func (ts *TenantStore) HasCreatedAPIToken(ctx context.Context, userID int64) (bool, error) {
	var n int64
	err := ts.s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_tokens WHERE tenant_id = ? AND user_id = ?`, ts.tenantID, userID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("api tokens: %w", err)
	}
	return n > 0, nil
}

const selectActorAudit = `SELECT ` + auditColumns + ` FROM audit_events WHERE tenant_id = ? AND actor_type = 'user' AND actor_id = ? ORDER BY id DESC LIMIT ?`

// AuditEventsBy lists the newest events of this tenant that a user did,
// for members who may not read the whole trail.
func (ts *TenantStore) AuditEventsBy(ctx context.Context, userID int64, limit int) ([]core.AuditEvent, error) {
	return collectAudit(ts.s.db.QueryContext(ctx, selectActorAudit, ts.tenantID, userID, limit))
}
