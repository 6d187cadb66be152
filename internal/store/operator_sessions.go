package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
)

// HQ's session index: the operator-realm twin of session_index. Every HQ
// session is indexed at login (only a hash of its token), so an operator
// sees their own live sessions and can end them; a session without a live
// entry (logged out, revoked, from before a password change) is void.

// OperatorSessionCheck is what requireOperator learns on each request.
type OperatorSessionCheck struct {
	Live     bool // indexed for this operator and not revoked
	LastSeen int64
}

// IndexOperatorSession records a new HQ session at its login.
func (s *Store) IndexOperatorSession(ctx context.Context, operatorID int64, tokenHash, userAgent, ip string, awaitingMFA bool) error {
	now := s.now()
	_, err := s.db.ExecContext(ctx, `INSERT INTO operator_sessions (token_hash, operator_id, user_agent, ip, created_at, last_seen_at, awaiting_mfa) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		tokenHash, operatorID, clip(userAgent, 512), clip(ip, 64), now, now, awaitingMFA)
	if err != nil {
		return fmt.Errorf("index operator session: %w", err)
	}
	return nil
}

// CheckOperatorSession reads a session's index entry.
func (s *Store) CheckOperatorSession(ctx context.Context, operatorID int64, tokenHash string) (OperatorSessionCheck, error) {
	var (
		c       OperatorSessionCheck
		revoked sql.NullInt64
	)
	err := s.db.QueryRowContext(ctx, `SELECT revoked_at, last_seen_at FROM operator_sessions WHERE token_hash = ? AND operator_id = ?`, tokenHash, operatorID).Scan(&revoked, &c.LastSeen)
	switch {
	case err == nil:
		c.Live = !revoked.Valid
	case notFound(err) != core.ErrNotFound:
		return c, err
	}
	return c, nil
}

// TouchOperatorSession records a session as seen now.
func (s *Store) TouchOperatorSession(ctx context.Context, tokenHash, userAgent, ip string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE operator_sessions SET last_seen_at = ?, ip = ?, user_agent = ? WHERE token_hash = ?`, s.now(), clip(ip, 64), clip(userAgent, 512), tokenHash)
	return err
}

// RekeyOperatorSession moves an entry to the session's renewed token (a
// privilege change); the session is then fully logged in. A revoked entry
// stays revoked under the old token, so the renewed session is void.
func (s *Store) RekeyOperatorSession(ctx context.Context, oldHash, newHash string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE operator_sessions SET token_hash = ?, awaiting_mfa = ? WHERE token_hash = ? AND revoked_at IS NULL`, newHash, false, oldHash)
	return err
}

// ForgetOperatorSession removes an entry (logout, or replaced by a login).
func (s *Store) ForgetOperatorSession(ctx context.Context, tokenHash string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM operator_sessions WHERE token_hash = ?`, tokenHash)
	return err
}

// OperatorSessions lists an operator's live sessions, most recently seen
// first; one idle for longer than idle has expired and is left out.
func (s *Store) OperatorSessions(ctx context.Context, operatorID int64, currentHash string, idle time.Duration) ([]SessionInfo, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, token_hash, user_agent, ip, created_at, last_seen_at, awaiting_mfa FROM operator_sessions
WHERE operator_id = ? AND revoked_at IS NULL AND last_seen_at > ? ORDER BY last_seen_at DESC, id DESC LIMIT 100`,
		operatorID, s.now()-idle.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("list operator sessions: %w", err)
	}
	return scanSessions(rows, currentHash)
}

// RevokeOperatorSession ends one of an operator's own sessions, audited
// on the platform trail.
func (s *Store) RevokeOperatorSession(ctx context.Context, operatorID, id int64, ev core.AuditEvent) error {
	return s.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE operator_sessions SET revoked_at = ? WHERE operator_id = ? AND id = ? AND revoked_at IS NULL`, s.now(), operatorID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return core.ErrNotFound
		}
		ev.TenantID, ev.Target = nil, fmt.Sprintf("operator_session:%d", id)
		return s.audit(ctx, tx, ev)
	})
}

// RevokeOtherOperatorSessions ends every session of the operator but the
// one whose hash is keepHash, audited.
func (s *Store) RevokeOtherOperatorSessions(ctx context.Context, operatorID int64, keepHash string, ev core.AuditEvent) (int64, error) {
	var n int64
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if n, err = revokeOtherOperatorSessions(ctx, tx, s.now(), operatorID, keepHash); err != nil {
			return err
		}
		ev.TenantID, ev.Target = nil, fmt.Sprintf("operator:%d", operatorID)
		ev.Detail = fmt.Sprintf("%d sessions", n)
		return s.audit(ctx, tx, ev)
	})
	return n, err
}

func revokeOtherOperatorSessions(ctx context.Context, tx *sql.Tx, now, operatorID int64, keepHash string) (int64, error) {
	res, err := tx.ExecContext(ctx, `UPDATE operator_sessions SET revoked_at = ? WHERE operator_id = ? AND token_hash <> ? AND revoked_at IS NULL`, now, operatorID, keepHash)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// ChangeOperatorPassword sets an operator's password hash and ends every
// other session of theirs, in one transaction, on the platform trail.
func (s *Store) ChangeOperatorPassword(ctx context.Context, operatorID int64, hash, keepHash string, ev core.AuditEvent) error {
	return s.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE operators SET password_hash = ? WHERE id = ?`, hash, operatorID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return core.ErrNotFound
		}
		n, err := revokeOtherOperatorSessions(ctx, tx, s.now(), operatorID, keepHash)
		if err != nil {
			return err
		}
		ev.TenantID, ev.Target = nil, fmt.Sprintf("operator:%d", operatorID)
		ev.Detail = fmt.Sprintf("%d other sessions ended", n)
		return s.audit(ctx, tx, ev)
	})
}
