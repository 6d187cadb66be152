package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/palisade-hq/palisade/internal/core"
)

const (
	selectUserName     = `SELECT name FROM users WHERE id = ?`
	selectOperatorName = `SELECT name FROM operators WHERE id = ?`
	selectTenantName   = `SELECT name FROM tenants WHERE id = ?`
)

// AuditNames resolves the actor and tenant names of a page of events, one
// lookup per distinct id (a page holds at most a few hundred events and far
// fewer actors). An id whose row is gone resolves to no name.
func (s *Store) AuditNames(ctx context.Context, evs []core.AuditEvent) ([]core.AuditRow, error) {
	cache := map[string]string{}
	lookup := func(query, kind string, id int64) (string, error) {
		key := fmt.Sprintf("%s:%d", kind, id)
		if n, ok := cache[key]; ok {
			return n, nil
		}
		var n string
		err := s.db.QueryRowContext(ctx, query, id).Scan(&n)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("audit names: %w", err)
		}
		cache[key] = n
		return n, nil
	}
	out := make([]core.AuditRow, len(evs))
	for i, ev := range evs {
		out[i].AuditEvent = ev
		var err error
		if ev.ActorID != nil {
			switch ev.ActorType {
			case "user":
				out[i].ActorName, err = lookup(selectUserName, "user", *ev.ActorID)
			case "operator":
				out[i].ActorName, err = lookup(selectOperatorName, "operator", *ev.ActorID)
			}
			if err != nil {
				return nil, err
			}
		}
		if ev.TenantID != nil {
			if out[i].TenantName, err = lookup(selectTenantName, "tenant", *ev.TenantID); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
