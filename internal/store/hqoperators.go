package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/palisade-hq/palisade/internal/core"
)

// Operators lists every HQ operator, oldest first.
func (s *Store) Operators(ctx context.Context) ([]core.Operator, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+operatorColumns+` FROM operators ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list operators: %w", err)
	}
	defer rows.Close()
	out := []core.Operator{}
	for rows.Next() {
		o, err := scanOperator(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// SetOperatorStatus disables or re-enables an operator, on the platform
// trail. The last active operator cannot be disabled: HQ would be locked.
func (s *Store) SetOperatorStatus(ctx context.Context, id int64, status string, ev core.AuditEvent) (core.Operator, error) {
	if status != OperatorActive && status != OperatorDisabled {
		return core.Operator{}, core.Invalid("status", "must be active or disabled")
	}
	var o core.Operator
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if o, err = scanOperator(tx.QueryRowContext(ctx, `SELECT `+operatorColumns+` FROM operators WHERE id = ?`+lockSuffix(s.driver), id)); err != nil {
			return notFound(err)
		}
		if status == OperatorDisabled && o.Status == OperatorActive {
			var active int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM operators WHERE status = 'active'`).Scan(&active); err != nil {
				return err
			}
			if active <= 1 {
				return &core.Error{Kind: core.KindConflict, Message: "the last active operator cannot be disabled"}
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE operators SET status = ? WHERE id = ?`, status, id); err != nil {
			return fmt.Errorf("update operator: %w", err)
		}
		o.Status = status
		ev.TenantID, ev.Target = nil, fmt.Sprintf("operator:%d", id)
		return s.audit(ctx, tx, ev)
	})
	return o, err
}

// auditOperator records an operator's action on a tenant twice in one
// transaction: on the tenant's chain, where its owner sees it, and on the
// platform chain, which holds every operator action in one sequence. The
// tenant head is always locked before the platform head, so two such
// appends cannot deadlock.
func (s *Store) auditOperator(ctx context.Context, tx *sql.Tx, ev core.AuditEvent) error {
	if err := s.audit(ctx, tx, ev); err != nil {
		return err
	}
	if ev.TenantID == nil {
		return nil
	}
	platform := ev
	platform.TenantID = nil
	platform.Target = fmt.Sprintf("tenant:%d %s", *ev.TenantID, ev.Target)
	return s.audit(ctx, tx, platform)
}

// LastAuditVerification is the newest `audit verify` result on the
// platform chain, or core.ErrNotFound if none ran yet.
func (s *Store) LastAuditVerification(ctx context.Context) (core.AuditEvent, error) {
	evs, err := collectAudit(s.db.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_events WHERE tenant_id IS NULL AND action = 'audit.verify' ORDER BY id DESC LIMIT 1`))
	if err != nil {
		return core.AuditEvent{}, err
	}
	if len(evs) == 0 {
		return core.AuditEvent{}, core.ErrNotFound
	}
	return evs[0], nil
}
