package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
)

const userColumns = `id, email, name, password_hash, created_at`

func scanUser(row interface{ Scan(...any) error }) (core.User, error) {
	var u core.User
	var created int64
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.PasswordHash, &created)
	u.CreatedAt = fromMillis(created)
	return u, err
}

const selectUserByEmail = `SELECT ` + userColumns + ` FROM users WHERE email = ?`

// UserByEmail finds an account by its (normalised) email.
func (s *Store) UserByEmail(ctx context.Context, email string) (core.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, selectUserByEmail, email))
	return u, notFound(err)
}

const selectUserByID = `SELECT ` + userColumns + ` FROM users WHERE id = ?`

// UserByID finds an account by id.
func (s *Store) UserByID(ctx context.Context, id int64) (core.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, selectUserByID, id))
	return u, notFound(err)
}

// TenantStore is the only way to reach tenant-owned rows. Every statement it
// runs carries its tenant id, so another tenant's row is simply not found.
type TenantStore struct {
	s        *Store
	tenantID int64
}

// Tenant returns the handle for one tenant. A zero id is a programming error.
func (s *Store) Tenant(tenantID int64) *TenantStore {
	if tenantID <= 0 {
		panic("store: tenant handle without a tenant")
	}
	return &TenantStore{s: s, tenantID: tenantID}
}

// ID is the tenant this handle is bound to.
func (ts *TenantStore) ID() int64 { return ts.tenantID }

const memberColumns = `u.id, u.email, u.name, m.role, m.created_at`

func scanMember(row interface{ Scan(...any) error }) (core.Member, error) {
	var m core.Member
	var role string
	var joined int64
	err := row.Scan(&m.UserID, &m.Email, &m.Name, &role, &joined)
	m.Role, m.JoinedAt = core.Role(role), fromMillis(joined)
	return m, err
}

const selectMember = `SELECT ` + memberColumns + ` FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.tenant_id = ? AND m.user_id = ?`

// Member returns a user's membership in this tenant.
func (ts *TenantStore) Member(ctx context.Context, userID int64) (core.Member, error) {
	m, err := scanMember(ts.s.db.QueryRowContext(ctx, selectMember, ts.tenantID, userID))
	return m, notFound(err)
}

const selectMembers = `SELECT ` + memberColumns + ` FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.tenant_id = ? ORDER BY m.created_at, u.id LIMIT ? OFFSET ?`

// Members lists the tenant's members in join order.
func (ts *TenantStore) Members(ctx context.Context, limit, offset int) ([]core.Member, error) {
	rows, err := ts.s.db.QueryContext(ctx, selectMembers, ts.tenantID, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	defer rows.Close()
	out := []core.Member{}
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

const (
	countOwners      = `SELECT COUNT(*) FROM memberships WHERE tenant_id = ? AND role = 'owner'`
	deleteMembership = `DELETE FROM memberships WHERE tenant_id = ? AND user_id = ?`
)

// RemoveMember removes a membership; the last owner cannot be removed.
func (ts *TenantStore) RemoveMember(ctx context.Context, userID int64, ev core.AuditEvent) error {
	return ts.s.InTx(ctx, func(tx *sql.Tx) error {
		m, err := scanMember(tx.QueryRowContext(ctx, selectMember, ts.tenantID, userID))
		if err != nil {
			return notFound(err)
		}
		if m.Role == core.RoleOwner {
			var owners int
			if err := tx.QueryRowContext(ctx, countOwners, ts.tenantID).Scan(&owners); err != nil {
				return err
			}
			if owners <= 1 {
				return core.Errorf(core.KindConflict, "the last owner cannot be removed")
			}
		}
		if _, err := tx.ExecContext(ctx, deleteMembership, ts.tenantID, userID); err != nil {
			return fmt.Errorf("delete membership: %w", err)
		}
		ev.TenantID = &ts.tenantID
		ev.Target = fmt.Sprintf("user:%d", userID)
		return ts.s.audit(ctx, tx, ev)
	})
}

// Password resets. Tokens are stored hashed; the plain token only travels by mail.

// The row is made only for a member of the tenant: a reset sets the
// account's password everywhere, so a tenant must not hold one for a user
// who is not its member.
const insertPasswordReset = `INSERT INTO password_resets (tenant_id, user_id, token_hash, expires_at, created_at)
SELECT tenant_id, user_id, ?, ?, ? FROM memberships WHERE tenant_id = ? AND user_id = ?`

// CreatePasswordReset stores a reset token hash for a member of this
// tenant; a user who is not a member is core.ErrNotFound.
func (ts *TenantStore) CreatePasswordReset(ctx context.Context, userID int64, tokenHash string, expires time.Time, ev core.AuditEvent, also ...TxFunc) error {
	return ts.s.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, insertPasswordReset, tokenHash, expires.UnixMilli(), ts.s.now(), ts.tenantID, userID)
		if err != nil {
			return fmt.Errorf("insert password reset: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return core.ErrNotFound
		}
		ev.TenantID = &ts.tenantID
		if err := ts.s.audit(ctx, tx, ev); err != nil {
			return err
		}
		return runAlso(ctx, tx, also)
	})
}

const (
	selectPasswordReset = `SELECT id, user_id, expires_at, used_at FROM password_resets WHERE tenant_id = ? AND token_hash = ?` // #nosec G101 -- SQL text with placeholders, no credential
	usePasswordReset    = `UPDATE password_resets SET used_at = ? WHERE id = ? AND tenant_id = ? AND used_at IS NULL`
	updatePassword      = `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?` // #nosec G101 -- SQL text with placeholders, no credential
)

// ResetPassword consumes a reset token and sets the new password hash, once.
func (ts *TenantStore) ResetPassword(ctx context.Context, tokenHash, newHash string, ev core.AuditEvent) (userID int64, err error) {
	err = ts.s.InTx(ctx, func(tx *sql.Tx) error {
		var (
			id, expires int64
			used        sql.NullInt64
		)
		if err := tx.QueryRowContext(ctx, selectPasswordReset, ts.tenantID, tokenHash).Scan(&id, &userID, &expires, &used); err != nil {
			if notFound(err) == core.ErrNotFound {
				return core.Invalid("token", "this reset link is not valid; ask for a new one")
			}
			return err
		}
		if used.Valid {
			return core.Invalid("token", "this reset link was already used; ask for a new one")
		}
		if ts.s.now() > expires {
			return core.Invalid("token", "this reset link has expired; ask for a new one")
		}
		res, err := tx.ExecContext(ctx, usePasswordReset, ts.s.now(), id, ts.tenantID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return core.Invalid("token", "this reset link was already used; ask for a new one")
		}
		if _, err := tx.ExecContext(ctx, updatePassword, newHash, ts.s.now(), userID); err != nil {
			return err
		}
		// A reset is a password change: every existing session of the user,
		// in every tenant, is void from now.
		if err := ts.s.setCutoff(ctx, tx, 0, userID, ts.s.now()); err != nil {
			return err
		}
		if err := ts.s.revokeUserSessions(ctx, tx, userID, "", ts.s.now()); err != nil {
			return err
		}
		ev.TenantID, ev.ActorID = &ts.tenantID, &userID
		ev.Target = fmt.Sprintf("user:%d", userID)
		return ts.s.audit(ctx, tx, ev)
	})
	return userID, err
}
