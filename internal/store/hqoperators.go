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
