package store

import (
	"context"
	"database/sql"
	"fmt"
	"unicode/utf8"

	"github.com/palisade-hq/palisade/internal/core"
)

// Audit outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
	OutcomeDenied  = "denied"
)

const insertAudit = `INSERT INTO audit_events (tenant_id, actor_type, actor_id, action, target, outcome, ip, user_agent, request_id, detail, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// Audit appends an event on its own. Rows are only ever inserted.
func (s *Store) Audit(ctx context.Context, ev core.AuditEvent) error {
	return s.audit(ctx, s.db, ev)
}

func (s *Store) audit(ctx context.Context, q execer, ev core.AuditEvent) error {
	if ev.Outcome == "" {
		ev.Outcome = OutcomeSuccess
	}
	if ev.ActorType == "" {
		ev.ActorType = "system"
	}
	_, err := q.ExecContext(ctx, insertAudit, ev.TenantID, ev.ActorType, ev.ActorID, clip(ev.Action, 64), clip(ev.Target, 255),
		ev.Outcome, clip(ev.IP, 64), clip(ev.UserAgent, 512), clip(ev.RequestID, 64), clip(ev.Detail, 1000), s.now())
	if err != nil {
		return fmt.Errorf("audit %s: %w", ev.Action, err)
	}
	return nil
}

// clip shortens s to at most n bytes on a rune boundary; audit rows must
// never fail because a user agent was long.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

const auditColumns = `id, tenant_id, actor_type, actor_id, action, target, outcome, ip, user_agent, request_id, detail, created_at`

func scanAudit(rows *sql.Rows) (core.AuditEvent, error) {
	var (
		ev       core.AuditEvent
		tid, aid sql.NullInt64
		created  int64
	)
	err := rows.Scan(&ev.ID, &tid, &ev.ActorType, &aid, &ev.Action, &ev.Target, &ev.Outcome, &ev.IP, &ev.UserAgent, &ev.RequestID, &ev.Detail, &created)
	if tid.Valid {
		ev.TenantID = &tid.Int64
	}
	if aid.Valid {
		ev.ActorID = &aid.Int64
	}
	ev.CreatedAt = fromMillis(created)
	return ev, err
}

func collectAudit(rows *sql.Rows, err error) ([]core.AuditEvent, error) {
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	out := []core.AuditEvent{}
	for rows.Next() {
		ev, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

const selectTenantAudit = `SELECT ` + auditColumns + ` FROM audit_events WHERE tenant_id = ? AND id < ? ORDER BY id DESC LIMIT ?`

// AuditEvents lists this tenant's trail, newest first, before a cursor id
// (0 for the newest page).
func (ts *TenantStore) AuditEvents(ctx context.Context, beforeID int64, limit int) ([]core.AuditEvent, error) {
	if beforeID <= 0 {
		beforeID = 1<<62 - 1
	}
	return collectAudit(ts.s.db.QueryContext(ctx, selectTenantAudit, ts.tenantID, beforeID, limit))
}

const selectAllAudit = `SELECT ` + auditColumns + ` FROM audit_events WHERE id < ? ORDER BY id DESC LIMIT ?`

// AllAuditEvents lists every tenant's and the platform's trail (HQ).
func (s *Store) AllAuditEvents(ctx context.Context, beforeID int64, limit int) ([]core.AuditEvent, error) {
	if beforeID <= 0 {
		beforeID = 1<<62 - 1
	}
	return collectAudit(s.db.QueryContext(ctx, selectAllAudit, beforeID, limit))
}
