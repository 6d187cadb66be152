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

const insertAudit = `INSERT INTO audit_events (tenant_id, actor_type, actor_id, action, target, outcome, ip, user_agent, request_id, detail, created_at, chain_seq, prev_hash, hash)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// Audit appends an event in a transaction of its own. Rows are only ever
// inserted.
func (s *Store) Audit(ctx context.Context, ev core.AuditEvent) error {
	return s.InTx(ctx, func(tx *sql.Tx) error { return s.audit(ctx, tx, ev) })
}

// audit appends ev to its chain inside tx: it locks the chain's head row,
// links the event to the previous one and moves the head. The head lock is
// what keeps two concurrent appends from linking to the same predecessor.
func (s *Store) audit(ctx context.Context, tx *sql.Tx, ev core.AuditEvent) error {
	if ev.Outcome == "" {
		ev.Outcome = OutcomeSuccess
	}
	if ev.ActorType == "" {
		ev.ActorType = "system"
	}
	ev.Action, ev.Target = clip(ev.Action, 64), clip(ev.Target, 255)
	ev.IP, ev.UserAgent = clip(ev.IP, 64), clip(ev.UserAgent, 512)
	ev.RequestID, ev.Detail = clip(ev.RequestID, 64), clip(ev.Detail, 1000)
	ev.CreatedAt = fromMillis(s.now())
	chain := chainID(ev.TenantID)
	seq, prev, err := s.lockChainHead(ctx, tx, chain)
	if err != nil {
		return fmt.Errorf("audit %s: %w", ev.Action, err)
	}
	link := ChainLink{Seq: seq + 1, PrevHash: prev}
	link.Hash = HashAuditEvent(ev, link.Seq, link.PrevHash)
	res, err := tx.ExecContext(ctx, insertAudit, ev.TenantID, ev.ActorType, ev.ActorID, ev.Action, ev.Target,
		ev.Outcome, ev.IP, ev.UserAgent, ev.RequestID, ev.Detail, ev.CreatedAt.UnixMilli(), link.Seq, link.PrevHash, link.Hash)
	if err != nil {
		return fmt.Errorf("audit %s: %w", ev.Action, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_heads SET last_seq = ?, last_hash = ? WHERE chain_id = ?`, link.Seq, link.Hash, chain); err != nil {
		return fmt.Errorf("audit %s: move chain head: %w", ev.Action, err)
	}
	ev.ID, _ = res.LastInsertId()
	s.logAudit(ChainedEvent{AuditEvent: ev, ChainLink: link})
	return nil
}

// lockChainHead returns the newest link of a chain, creating the head row
// on the chain's first event. On MariaDB the row is locked until tx ends;
// SQLite's write transactions (BEGIN IMMEDIATE) are serial already.
func (s *Store) lockChainHead(ctx context.Context, tx *sql.Tx, chain int64) (int64, string, error) {
	ins := `INSERT OR IGNORE INTO audit_heads (chain_id, last_seq, last_hash) VALUES (?, 0, '')`
	sel := `SELECT last_seq, last_hash FROM audit_heads WHERE chain_id = ?`
	if s.driver == "mysql" {
		// An upsert takes the row's exclusive lock at once, whether the row
		// is new or not. INSERT IGNORE would take a shared lock, and two
		// appends upgrading shared locks deadlock; SELECT … FOR UPDATE on a
		// missing row takes gap locks, with the same end for two first events.
		ins = `INSERT INTO audit_heads (chain_id, last_seq, last_hash) VALUES (?, 0, '') ON DUPLICATE KEY UPDATE last_seq = last_seq`
		sel += ` FOR UPDATE`
	}
	if _, err := tx.ExecContext(ctx, ins, chain); err != nil {
		return 0, "", fmt.Errorf("create chain head: %w", err)
	}
	var (
		seq  int64
		hash string
	)
	if err := tx.QueryRowContext(ctx, sel, chain).Scan(&seq, &hash); err != nil {
		return 0, "", fmt.Errorf("lock chain head: %w", err)
	}
	return seq, hash, nil
}

// chainID names an event's chain: its tenant, or 0 for platform events.
func chainID(tenantID *int64) int64 {
	if tenantID == nil {
		return 0
	}
	return *tenantID
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
