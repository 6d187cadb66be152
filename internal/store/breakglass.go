package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
)

// BreakGlass is an operator's time-limited access to one tenant's content.
// It is recorded on the tenant's own audit trail, so its owner sees it, and
// it lapses by itself at ExpiresAt: nothing has to revoke it.
type BreakGlass struct {
	ID         int64     `json:"id"`
	TenantID   int64     `json:"tenant_id"`
	OperatorID int64     `json:"operator_id"`
	Reason     string    `json:"reason"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

const breakGlassColumns = `id, tenant_id, operator_id, reason, created_at, expires_at`

func scanBreakGlass(row interface{ Scan(...any) error }) (BreakGlass, error) {
	var b BreakGlass
	var created, expires int64
	err := row.Scan(&b.ID, &b.TenantID, &b.OperatorID, &b.Reason, &created, &expires)
	b.CreatedAt, b.ExpiresAt = fromMillis(created), fromMillis(expires)
	return b, err
}

// OpenBreakGlass grants operatorID access to this tenant's content for ttl.
// The audit event goes on the tenant's trail in the same transaction.
func (ts *TenantStore) OpenBreakGlass(ctx context.Context, operatorID int64, reason string, ttl time.Duration, ev core.AuditEvent) (BreakGlass, error) {
	var b BreakGlass
	err := ts.s.InTx(ctx, func(tx *sql.Tx) error {
		t, err := scanTenant(tx.QueryRowContext(ctx, selectTenantByID, ts.tenantID))
		if err != nil {
			return notFound(err)
		}
		now := ts.s.now()
		exp := now + ttl.Milliseconds()
		res, err := tx.ExecContext(ctx, `INSERT INTO break_glass (tenant_id, operator_id, reason, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			ts.tenantID, operatorID, reason, now, exp)
		if err != nil {
			return fmt.Errorf("insert break-glass: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		b = BreakGlass{ID: id, TenantID: ts.tenantID, OperatorID: operatorID, Reason: reason, CreatedAt: fromMillis(now), ExpiresAt: fromMillis(exp)}
		ev.TenantID, ev.Target = &ts.tenantID, "tenant:"+t.Slug
		ev.Detail = fmt.Sprintf("content access until %s: %s", b.ExpiresAt.Format(time.RFC3339), reason)
		return ts.s.auditOperator(ctx, tx, ev)
	})
	return b, err
}

// ActiveBreakGlass returns operatorID's unexpired access to this tenant,
// or core.ErrNotFound.
func (ts *TenantStore) ActiveBreakGlass(ctx context.Context, operatorID int64) (BreakGlass, error) {
	b, err := scanBreakGlass(ts.s.db.QueryRowContext(ctx, `SELECT `+breakGlassColumns+` FROM break_glass
WHERE tenant_id = ? AND operator_id = ? AND expires_at > ? ORDER BY expires_at DESC LIMIT 1`, ts.tenantID, operatorID, ts.s.now()))
	return b, notFound(err)
}

// BreakGlassHistory lists this tenant's grants, newest first.
func (ts *TenantStore) BreakGlassHistory(ctx context.Context, limit int) ([]BreakGlass, error) {
	rows, err := ts.s.db.QueryContext(ctx, `SELECT `+breakGlassColumns+` FROM break_glass WHERE tenant_id = ? ORDER BY id DESC LIMIT ?`, ts.tenantID, limit)
	if err != nil {
		return nil, fmt.Errorf("list break-glass: %w", err)
	}
	defer rows.Close()
	out := []BreakGlass{}
	for rows.Next() {
		b, err := scanBreakGlass(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
