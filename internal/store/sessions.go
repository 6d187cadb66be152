package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
)

// SessionInfo is one of a user's sessions as they see it.
type SessionInfo struct {
	ID         int64     `json:"id"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	Current    bool      `json:"current"`
	// AwaitingMFA: a password was given here, the second factor not yet.
	AwaitingMFA bool `json:"awaiting_second_factor"`
	tokenHash   string
}

// SessionCheck is what requireUser learns about a session on each request.
type SessionCheck struct {
	Revoked  bool
	CutoffMs int64 // sessions valid from before this are void; 0 = none
	Indexed  bool
	LastSeen int64
}

// CheckSession reads a session's index entry and the cutoffs that apply to
// it, in one round trip each. Every session is indexed at login, so one
// without an entry was logged out, replaced or never properly started.
func (ts *TenantStore) CheckSession(ctx context.Context, userID int64, tokenHash string) (SessionCheck, error) {
	var (
		c       SessionCheck
		revoked sql.NullInt64
	)
	err := ts.s.db.QueryRowContext(ctx, `SELECT revoked_at, last_seen_at FROM session_index WHERE token_hash = ? AND tenant_id = ? AND user_id = ?`, tokenHash, ts.tenantID, userID).Scan(&revoked, &c.LastSeen)
	switch {
	case err == nil:
		c.Indexed, c.Revoked = true, revoked.Valid
	case notFound(err) != core.ErrNotFound:
		return c, err
	}
	var cutoff sql.NullInt64
	if err := ts.s.db.QueryRowContext(ctx, `SELECT MAX(cutoff_at) FROM session_cutoffs WHERE (tenant_id = ? AND user_id = 0) OR (tenant_id = 0 AND user_id = ?)`, ts.tenantID, userID).Scan(&cutoff); err != nil {
		return c, err
	}
	c.CutoffMs = cutoff.Int64
	return c, nil
}

// IndexSession records a session at its login, before it makes any other
// request, so it can be listed and revoked from the start. awaitingMFA
// marks a session that has not yet given its holder's second factor.
func (ts *TenantStore) IndexSession(ctx context.Context, userID int64, tokenHash, userAgent, ip string, awaitingMFA bool) error {
	now := ts.s.now()
	_, err := ts.s.db.ExecContext(ctx, `INSERT INTO session_index (token_hash, tenant_id, user_id, user_agent, ip, created_at, last_seen_at, awaiting_mfa) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		tokenHash, ts.tenantID, userID, clip(userAgent, 512), clip(ip, 64), now, now, awaitingMFA)
	if err != nil {
		return fmt.Errorf("index session: %w", err)
	}
	return nil
}

// TouchSession records a session as seen now.
func (ts *TenantStore) TouchSession(ctx context.Context, tokenHash, userAgent, ip string) error {
	_, err := ts.s.db.ExecContext(ctx, `UPDATE session_index SET last_seen_at = ?, ip = ?, user_agent = ? WHERE token_hash = ? AND tenant_id = ?`, ts.s.now(), clip(ip, 64), clip(userAgent, 512), tokenHash, ts.tenantID)
	return err
}

// RekeySession moves a session's index entry to its new token (the token
// is renewed at each privilege change); the session is then fully logged
// in. A revoked entry stays revoked under the old token, so the renewed
// session is unknown and void. Another tenant's entry is left alone.
func (ts *TenantStore) RekeySession(ctx context.Context, oldHash, newHash string) error {
	_, err := ts.s.db.ExecContext(ctx, `UPDATE session_index SET token_hash = ?, awaiting_mfa = ? WHERE token_hash = ? AND tenant_id = ? AND revoked_at IS NULL`, newHash, false, oldHash, ts.tenantID)
	return err
}

// ForgetSession removes a session's index entry: it was logged out, or
// replaced by a new login. An unknown hash, or another tenant's, is no
// error and removes nothing.
func (ts *TenantStore) ForgetSession(ctx context.Context, tokenHash string) error {
	_, err := ts.s.db.ExecContext(ctx, `DELETE FROM session_index WHERE token_hash = ? AND tenant_id = ?`, tokenHash, ts.tenantID)
	return err
}

// Sessions lists a user's live sessions here, most recently seen first.
// A session not seen for longer than idle is left out: it has expired.
func (ts *TenantStore) Sessions(ctx context.Context, userID int64, currentHash string, idle time.Duration) ([]SessionInfo, error) {
	rows, err := ts.s.db.QueryContext(ctx, `SELECT id, token_hash, user_agent, ip, created_at, last_seen_at, awaiting_mfa FROM session_index
WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL AND last_seen_at > ? ORDER BY last_seen_at DESC LIMIT 100`,
		ts.tenantID, userID, ts.s.now()-idle.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return scanSessions(rows, currentHash)
}

// RevokeSession ends one of a user's sessions, audited.
func (ts *TenantStore) RevokeSession(ctx context.Context, userID, id int64, ev core.AuditEvent) error {
	return ts.s.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE session_index SET revoked_at = ? WHERE tenant_id = ? AND user_id = ? AND id = ? AND revoked_at IS NULL`, ts.s.now(), ts.tenantID, userID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return core.ErrNotFound
		}
		ev.TenantID = &ts.tenantID
		ev.Target = fmt.Sprintf("session:%d", id)
		return ts.s.audit(ctx, tx, ev)
	})
}

// RevokeOtherSessions ends all of a user's sessions here but one.
func (ts *TenantStore) RevokeOtherSessions(ctx context.Context, userID int64, keepHash string, ev core.AuditEvent) (int64, error) {
	var n int64
	err := ts.s.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE session_index SET revoked_at = ? WHERE tenant_id = ? AND user_id = ? AND token_hash <> ? AND revoked_at IS NULL`, ts.s.now(), ts.tenantID, userID, keepHash)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		ev.TenantID = &ts.tenantID
		ev.Target = fmt.Sprintf("user:%d", userID)
		ev.Detail = fmt.Sprintf("%d sessions", n)
		return ts.s.audit(ctx, tx, ev)
	})
	return n, err
}

// setCutoff voids sessions from before now for (tenantID, userID).
func (s *Store) setCutoff(ctx context.Context, tx *sql.Tx, tenantID, userID, at int64) error {
	res, err := tx.ExecContext(ctx, `UPDATE session_cutoffs SET cutoff_at = ? WHERE tenant_id = ? AND user_id = ?`, at, tenantID, userID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		_, err = tx.ExecContext(ctx, `INSERT INTO session_cutoffs (tenant_id, user_id, cutoff_at) VALUES (?, ?, ?)`, tenantID, userID, at)
	}
	return err
}

// RevokeTenantSessions voids every session of a tenant (HQ), audited on
// the platform trail. It returns the cutoff.
func (s *Store) RevokeTenantSessions(ctx context.Context, tenantID int64, ev core.AuditEvent) (int64, error) {
	now := s.now()
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM tenants WHERE id = ?`, tenantID).Scan(&one); err != nil {
			return notFound(err)
		}
		if err := s.setCutoff(ctx, tx, tenantID, 0, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE session_index SET revoked_at = ? WHERE tenant_id = ? AND revoked_at IS NULL`, now, tenantID); err != nil {
			return err
		}
		ev.Target = fmt.Sprintf("tenant:%d", tenantID)
		return s.audit(ctx, tx, ev)
	})
	return now, err
}

// ChangePassword sets a user's password hash and voids all their sessions
// created before now, everywhere, but the one whose token hashes to
// keepHash; the caller re-validates that one.
func (s *Store) ChangePassword(ctx context.Context, userID int64, hash, keepHash string, ev core.AuditEvent) (cutoff int64, err error) {
	cutoff = s.now()
	err = s.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, cutoff, userID); err != nil {
			return err
		}
		if err := s.setCutoff(ctx, tx, 0, userID, cutoff); err != nil {
			return err
		}
		if err := s.revokeUserSessions(ctx, tx, userID, keepHash, cutoff); err != nil {
			return err
		}
		ev.Target = fmt.Sprintf("user:%d", userID)
		return s.audit(ctx, tx, ev)
	})
	return cutoff, err
}

// revokeUserSessions marks every index entry of a user, in every tenant,
// but keepHash's as ended, so the sessions pages list only sessions that
// still work (the cutoff alone voids them, but only at their next request).
func (s *Store) revokeUserSessions(ctx context.Context, tx *sql.Tx, userID int64, keepHash string, at int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE session_index SET revoked_at = ? WHERE user_id = ? AND token_hash <> ? AND revoked_at IS NULL`, at, userID, keepHash)
	return err
}

// scanSessions reads the rows of a session list (tenant or HQ: the same
// columns) and marks the one whose token hash is currentHash.
func scanSessions(rows *sql.Rows, currentHash string) ([]SessionInfo, error) {
	defer rows.Close()
	out := []SessionInfo{}
	for rows.Next() {
		var (
			si            SessionInfo
			created, seen int64
		)
		if err := rows.Scan(&si.ID, &si.tokenHash, &si.UserAgent, &si.IP, &created, &seen, &si.AwaitingMFA); err != nil {
			return nil, err
		}
		si.CreatedAt, si.LastSeenAt, si.Current = fromMillis(created), fromMillis(seen), si.tokenHash == currentHash
		out = append(out, si)
	}
	return out, rows.Err()
}
