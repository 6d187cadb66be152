package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
)

// APIToken is a personal access token as listed; the secret itself is
// never stored, only its hash.
type APIToken struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"user_id"`
	Name       string     `json:"name"`
	Hint       string     `json:"hint"`
	Scopes     []string   `json:"scopes"`
	ExpiresAt  time.Time  `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	LastUsedIP string     `json:"last_used_ip,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

// #nosec G101 -- column names, not a credential.
const apiTokenColumns = `id, user_id, name, hint, scopes, expires_at, last_used_at, last_used_ip, revoked_at, created_at`

func scanAPIToken(row interface{ Scan(...any) error }) (APIToken, error) {
	var (
		t                 APIToken
		scopes            string
		expires, created  int64
		lastUsed, revoked sql.NullInt64
	)
	err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.Hint, &scopes, &expires, &lastUsed, &t.LastUsedIP, &revoked, &created)
	t.Scopes = strings.Fields(scopes)
	t.ExpiresAt, t.CreatedAt = fromMillis(expires), fromMillis(created)
	t.LastUsedAt, t.RevokedAt = nullMillis(lastUsed), nullMillis(revoked)
	return t, err
}

// NewAPIToken is what CreateAPIToken stores.
type NewAPIToken struct {
	UserID    int64
	Name      string
	Hash      string
	Hint      string
	Scopes    []string
	ExpiresAt time.Time
}

// #nosec G101 -- an INSERT statement; the token itself is never stored, only its hash.
const insertAPIToken = `INSERT INTO api_tokens (tenant_id, user_id, name, token_hash, hint, scopes, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

// CreateAPIToken stores a token of a member of this tenant, audited.
func (ts *TenantStore) CreateAPIToken(ctx context.Context, nt NewAPIToken, ev core.AuditEvent) (APIToken, error) {
	var t APIToken
	err := ts.s.InTx(ctx, func(tx *sql.Tx) error {
		now := ts.s.now()
		res, err := tx.ExecContext(ctx, insertAPIToken, ts.tenantID, nt.UserID, nt.Name, nt.Hash, nt.Hint, strings.Join(nt.Scopes, " "), nt.ExpiresAt.UnixMilli(), now)
		if err != nil {
			return fmt.Errorf("insert api token: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		t = APIToken{ID: id, UserID: nt.UserID, Name: nt.Name, Hint: nt.Hint, Scopes: nt.Scopes, ExpiresAt: fromMillis(nt.ExpiresAt.UnixMilli()), CreatedAt: fromMillis(now)}
		ev.TenantID = &ts.tenantID
		ev.Target = fmt.Sprintf("api_token:%d", id)
		ev.Detail = "scopes: " + strings.Join(nt.Scopes, " ")
		return ts.s.audit(ctx, tx, ev)
	})
	return t, err
}

// APITokens lists a member's tokens, newest first, revoked ones included.
func (ts *TenantStore) APITokens(ctx context.Context, userID int64) ([]APIToken, error) {
	rows, err := ts.s.db.QueryContext(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE tenant_id = ? AND user_id = ? ORDER BY id DESC LIMIT 200`, ts.tenantID, userID)
	if err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	defer rows.Close()
	out := []APIToken{}
	for rows.Next() {
		t, err := scanAPIToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// APITokenByHash finds a token of this tenant by the hash of its secret. A
// token of another tenant is not found, like a token that never existed.
func (ts *TenantStore) APITokenByHash(ctx context.Context, hash string) (APIToken, error) {
	t, err := scanAPIToken(ts.s.db.QueryRowContext(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE tenant_id = ? AND token_hash = ?`, ts.tenantID, hash))
	return t, notFound(err)
}

// TouchAPIToken records a use. It writes at most once a minute per token,
// so a busy integration does not turn every read into a write.
func (ts *TenantStore) TouchAPIToken(ctx context.Context, id int64, ip string) error {
	now := ts.s.now()
	_, err := ts.s.db.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ?, last_used_ip = ? WHERE tenant_id = ? AND id = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
		now, clip(ip, 64), ts.tenantID, id, now-time.Minute.Milliseconds())
	return err
}

// RevokeAPIToken revokes one of a member's tokens, audited. Revoking twice
// is not an error; a token of someone else is not found.
func (ts *TenantStore) RevokeAPIToken(ctx context.Context, userID, id int64, ev core.AuditEvent) error {
	return ts.s.InTx(ctx, func(tx *sql.Tx) error {
		var revoked sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT revoked_at FROM api_tokens WHERE tenant_id = ? AND user_id = ? AND id = ?`, ts.tenantID, userID, id).Scan(&revoked); err != nil {
			return notFound(err)
		}
		if revoked.Valid {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE tenant_id = ? AND id = ?`, ts.s.now(), ts.tenantID, id); err != nil {
			return fmt.Errorf("revoke api token: %w", err)
		}
		ev.TenantID = &ts.tenantID
		ev.Target = fmt.Sprintf("api_token:%d", id)
		return ts.s.audit(ctx, tx, ev)
	})
}
