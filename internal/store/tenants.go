package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/palisade-hq/palisade/internal/core"
)

const tenantColumns = `id, slug, name, status, suspend_reason, created_at`

func scanTenant(row interface{ Scan(...any) error }) (core.Tenant, error) {
	var t core.Tenant
	var created int64
	err := row.Scan(&t.ID, &t.Slug, &t.Name, &t.Status, &t.SuspendReason, &created)
	t.CreatedAt = fromMillis(created)
	return t, err
}

// NewUser is what creating an account needs; the password is already hashed.
type NewUser struct {
	Email        string
	Name         string
	PasswordHash string
}

const insertTenant = `INSERT INTO tenants (slug, name, status, created_at, updated_at) VALUES (?, ?, 'active', ?, ?)`

func (s *Store) insertTenant(ctx context.Context, q execer, slug, name string) (core.Tenant, error) {
	now := s.now()
	res, err := q.ExecContext(ctx, insertTenant, slug, name, now, now)
	if isUniqueViolation(err) {
		return core.Tenant{}, &core.Error{Kind: core.KindConflict, Field: "slug", Message: fmt.Sprintf("the address %q is taken", slug)}
	}
	if err != nil {
		return core.Tenant{}, fmt.Errorf("insert tenant: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return core.Tenant{}, err
	}
	return core.Tenant{ID: id, Slug: slug, Name: name, Status: core.TenantActive, CreatedAt: fromMillis(now)}, nil
}

const insertUser = `INSERT INTO users (email, name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`

func (s *Store) insertUser(ctx context.Context, q execer, u NewUser) (core.User, error) {
	now := s.now()
	res, err := q.ExecContext(ctx, insertUser, u.Email, u.Name, u.PasswordHash, now, now)
	if isUniqueViolation(err) {
		return core.User{}, &core.Error{Kind: core.KindConflict, Field: "email", Message: "an account with this email already exists; log in instead"}
	}
	if err != nil {
		return core.User{}, fmt.Errorf("insert user: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return core.User{}, err
	}
	return core.User{ID: id, Email: u.Email, Name: u.Name, PasswordHash: u.PasswordHash, CreatedAt: fromMillis(now)}, nil
}

const insertMembership = `INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`

func (s *Store) insertMembership(ctx context.Context, q execer, tenantID, userID int64, role core.Role) error {
	_, err := q.ExecContext(ctx, insertMembership, tenantID, userID, string(role), s.now())
	if isUniqueViolation(err) {
		return core.Errorf(core.KindConflict, "already a member of this organisation")
	}
	return err
}

// SignUp creates a tenant, its owner account and the owner membership in one
// transaction, with the audit event inside it: all of it exists or none.
func (s *Store) SignUp(ctx context.Context, slug, tenantName string, owner NewUser, ev core.AuditEvent) (core.Tenant, core.User, error) {
	var (
		t core.Tenant
		u core.User
	)
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if t, err = s.insertTenant(ctx, tx, slug, tenantName); err != nil {
			return err
		}
		if u, err = s.insertUser(ctx, tx, owner); err != nil {
			return err
		}
		if err = s.insertMembership(ctx, tx, t.ID, u.ID, core.RoleOwner); err != nil {
			return err
		}
		ev.TenantID, ev.ActorID = &t.ID, &u.ID
		return s.audit(ctx, tx, ev)
	})
	return t, u, err
}

// CreateTenant creates a tenant without members (HQ).
func (s *Store) CreateTenant(ctx context.Context, slug, name string, ev core.AuditEvent) (core.Tenant, error) {
	var t core.Tenant
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if t, err = s.insertTenant(ctx, tx, slug, name); err != nil {
			return err
		}
		ev.TenantID = &t.ID
		ev.Target = "tenant:" + t.Slug
		return s.audit(ctx, tx, ev)
	})
	return t, err
}

const selectTenantBySlug = `SELECT ` + tenantColumns + ` FROM tenants WHERE slug = ?`

// TenantBySlug finds a tenant by its host label.
func (s *Store) TenantBySlug(ctx context.Context, slug string) (core.Tenant, error) {
	t, err := scanTenant(s.db.QueryRowContext(ctx, selectTenantBySlug, slug))
	return t, notFound(err)
}

const selectTenantByID = `SELECT ` + tenantColumns + ` FROM tenants WHERE id = ?`

// TenantByID finds a tenant by id (HQ).
func (s *Store) TenantByID(ctx context.Context, id int64) (core.Tenant, error) {
	t, err := scanTenant(s.db.QueryRowContext(ctx, selectTenantByID, id))
	return t, notFound(err)
}

// TenantFilter narrows HQ's tenant list.
type TenantFilter struct {
	Status string
	Query  string // substring of slug or name
	Limit  int
	Offset int
}

// ListTenants returns a page of tenants, newest first, and the total count.
func (s *Store) ListTenants(ctx context.Context, f TenantFilter) ([]core.Tenant, int, error) {
	where := []string{"1=1"}
	var args []any
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, f.Status)
	}
	if f.Query != "" {
		where = append(where, "(slug LIKE ? OR name LIKE ?)")
		like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(f.Query) + "%"
		args = append(args, like, like)
	}
	cond := strings.Join(where, " AND ")
	var total int
	// #nosec G202 -- cond joins only the fixed fragments above; values go in args.
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM tenants WHERE "+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count tenants: %w", err)
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+tenantColumns+" FROM tenants WHERE "+cond+" ORDER BY id DESC LIMIT ? OFFSET ?", append(args, f.Limit, f.Offset)...) // #nosec G202 -- fixed fragments only; values are placeholders
	if err != nil {
		return nil, 0, fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	var out []core.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, t)
	}
	return out, total, rows.Err()
}

const updateTenantStatus = `UPDATE tenants SET status = ?, suspend_reason = ?, updated_at = ? WHERE id = ?`

// SetTenantStatus suspends or reactivates a tenant, audited in the same transaction.
func (s *Store) SetTenantStatus(ctx context.Context, id int64, status, reason string, ev core.AuditEvent) (core.Tenant, error) {
	if status != core.TenantActive && status != core.TenantSuspended {
		return core.Tenant{}, core.Invalid("status", "must be active or suspended")
	}
	if status == core.TenantActive {
		reason = ""
	}
	var t core.Tenant
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, updateTenantStatus, status, reason, s.now(), id)
		if err != nil {
			return fmt.Errorf("update tenant: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// MariaDB reports 0 when nothing changed; tell that apart from a missing row.
			if _, err := scanTenant(tx.QueryRowContext(ctx, selectTenantByID, id)); err != nil {
				return notFound(err)
			}
		}
		if t, err = scanTenant(tx.QueryRowContext(ctx, selectTenantByID, id)); err != nil {
			return notFound(err)
		}
		ev.TenantID = &t.ID
		ev.Target = "tenant:" + t.Slug
		return s.audit(ctx, tx, ev)
	})
	return t, err
}
