package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
)

// HQ's view of one tenant: ending a break-glass grant early, and the
// tenant's audit trail filtered and paged in both directions.

// RevokeBreakGlass ends an unexpired grant of this tenant now, by moving its
// expiry to this instant (so every check after it refuses), and records who
// ended it on the tenant's trail and the platform chain in one transaction.
// A grant that is gone or already over is core.ErrNotFound.
func (ts *TenantStore) RevokeBreakGlass(ctx context.Context, grantID int64, ev core.AuditEvent) (BreakGlass, error) {
	var b BreakGlass
	err := ts.s.InTx(ctx, func(tx *sql.Tx) error {
		now := ts.s.now()
		var err error
		b, err = scanBreakGlass(tx.QueryRowContext(ctx, `SELECT `+breakGlassColumns+` FROM break_glass WHERE id = ? AND tenant_id = ? AND expires_at > ?`+lockSuffix(ts.s.driver),
			grantID, ts.tenantID, now))
		if err != nil {
			return notFound(err)
		}
		t, err := scanTenant(tx.QueryRowContext(ctx, selectTenantByID, ts.tenantID))
		if err != nil {
			return notFound(err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE break_glass SET expires_at = ? WHERE id = ? AND tenant_id = ?`, now, b.ID, ts.tenantID); err != nil {
			return fmt.Errorf("revoke break-glass: %w", err)
		}
		b.ExpiresAt = fromMillis(now)
		ev.TenantID, ev.Target = &ts.tenantID, "tenant:"+t.Slug
		ev.Detail = fmt.Sprintf("break-glass %d of operator %d ended before its time limit", b.ID, b.OperatorID)
		return ts.s.auditOperator(ctx, tx, ev)
	})
	return b, err
}

// AuditFilter selects and pages a tenant's trail. Zero fields select all.
type AuditFilter struct {
	// Action matches an action exactly or as a dotted prefix:
	// "hq.break_glass" matches "hq.break_glass.opened".
	Action    string
	ActorType string
	Outcome   string
	// From and To bound created_at: From <= created_at < To.
	From, To time.Time
	// Before pages to older events (id < Before); After to newer ones
	// (id > After). At most one is set.
	Before, After int64
	Limit         int
}

// AuditPage is one page of a filtered trail, newest first, with whether
// matching events exist on either side of it.
type AuditPage struct {
	Events       []core.AuditEvent
	Older, Newer bool
}

func (f AuditFilter) where(tenantID int64) (string, []any) {
	conds, args := []string{"tenant_id = ?"}, []any{tenantID}
	if f.Action != "" {
		// '!' escapes LIKE's wildcards the same way on SQLite and MariaDB
		// (a backslash depends on MariaDB's sql_mode).
		conds = append(conds, "(action = ? OR action LIKE ? ESCAPE '!')")
		args = append(args, f.Action, strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(f.Action)+".%")
	}
	if f.ActorType != "" {
		conds, args = append(conds, "actor_type = ?"), append(args, f.ActorType)
	}
	if f.Outcome != "" {
		conds, args = append(conds, "outcome = ?"), append(args, f.Outcome)
	}
	if !f.From.IsZero() {
		conds, args = append(conds, "created_at >= ?"), append(args, f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		conds, args = append(conds, "created_at < ?"), append(args, f.To.UnixMilli())
	}
	return strings.Join(conds, " AND "), args
}

// FilteredAuditEvents reads one page of this tenant's trail matching f.
func (ts *TenantStore) FilteredAuditEvents(ctx context.Context, f AuditFilter) (AuditPage, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	where, args := f.where(ts.tenantID)
	var (
		q    string
		qa   = append([]any{}, args...)
		page AuditPage
	)
	switch {
	case f.After > 0:
		q = `SELECT ` + auditColumns + ` FROM audit_events WHERE ` + where + ` AND id > ? ORDER BY id ASC LIMIT ?`
		qa = append(qa, f.After, f.Limit+1)
	default:
		before := f.Before
		if before <= 0 {
			before = 1<<62 - 1
		}
		q = `SELECT ` + auditColumns + ` FROM audit_events WHERE ` + where + ` AND id < ? ORDER BY id DESC LIMIT ?`
		qa = append(qa, before, f.Limit+1)
	}
	evs, err := collectAudit(ts.s.db.QueryContext(ctx, q, qa...))
	if err != nil {
		return page, err
	}
	more := len(evs) > f.Limit
	if more {
		evs = evs[:f.Limit]
	}
	if f.After > 0 {
		for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
			evs[i], evs[j] = evs[j], evs[i]
		}
		page.Newer = more
	} else {
		page.Older = more
	}
	page.Events = evs
	// Whether anything lies on the side the page came from.
	exists := func(cond string, id int64) (bool, error) {
		var one int
		err := ts.s.db.QueryRowContext(ctx, `SELECT 1 FROM audit_events WHERE `+where+` AND `+cond+` LIMIT 1`, append(append([]any{}, args...), id)...).Scan(&one)
		if err == sql.ErrNoRows {
			return false, nil
		}
		return err == nil, err
	}
	switch {
	case f.After > 0:
		if page.Older, err = exists("id <= ?", f.After); err != nil {
			return page, err
		}
	case f.Before > 0:
		if page.Newer, err = exists("id >= ?", f.Before); err != nil {
			return page, err
		}
	}
	return page, nil
}
