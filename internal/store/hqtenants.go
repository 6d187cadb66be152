package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
)

// Plans a tenant can be on. HQ filters by them; billing will set them.
var Plans = []string{"free", "team", "business", "enterprise"}

// ValidPlan reports whether p is a known plan.
func ValidPlan(p string) bool {
	for _, x := range Plans {
		if x == p {
			return true
		}
	}
	return false
}

// HQTenant is a tenant as operators see it in lists.
type HQTenant struct {
	core.Tenant
	Plan string `json:"plan"`
}

// HQTenantFilter narrows and orders HQ's tenant search.
type HQTenantFilter struct {
	Status      string
	Plan        string
	Query       string // substring of slug or name
	CreatedFrom time.Time
	CreatedTo   time.Time // exclusive
	Sort        string    // a key of hqTenantSorts
	Desc        bool
	Limit       int
	Offset      int
}

// hqTenantSorts maps the sort keys the API accepts to columns; the map is
// the allow-list that keeps user input out of ORDER BY.
var hqTenantSorts = map[string]string{
	"created": "created_at",
	"name":    "name",
	"slug":    "slug",
	"status":  "status",
	"plan":    "plan",
}

// ValidTenantSort reports whether k is a sort key SearchTenants accepts.
func ValidTenantSort(k string) bool { _, ok := hqTenantSorts[k]; return ok }

// SearchTenants returns one page of tenants and the total that match f.
func (s *Store) SearchTenants(ctx context.Context, f HQTenantFilter) ([]HQTenant, int, error) {
	where := []string{"1=1"}
	var args []any
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, f.Status)
	}
	if f.Plan != "" {
		where = append(where, "plan = ?")
		args = append(args, f.Plan)
	}
	if f.Query != "" {
		where = append(where, "(slug LIKE ? OR name LIKE ?)")
		like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(f.Query) + "%"
		args = append(args, like, like)
	}
	if !f.CreatedFrom.IsZero() {
		where = append(where, "created_at >= ?")
		args = append(args, f.CreatedFrom.UnixMilli())
	}
	if !f.CreatedTo.IsZero() {
		where = append(where, "created_at < ?")
		args = append(args, f.CreatedTo.UnixMilli())
	}
	cond := strings.Join(where, " AND ")
	var total int
	// #nosec G202 -- cond joins only the fixed fragments above; values go in args.
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM tenants WHERE "+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count tenants: %w", err)
	}
	col, ok := hqTenantSorts[f.Sort]
	if !ok {
		col = "created_at"
	}
	dir := "ASC"
	if f.Desc {
		dir = "DESC"
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	// id breaks ties so pages never overlap or skip rows.
	q := "SELECT " + tenantColumns + ", plan FROM tenants WHERE " + cond + " ORDER BY " + col + " " + dir + ", id " + dir + " LIMIT ? OFFSET ?" // #nosec G202 -- cond is fixed fragments, col comes from the hqTenantSorts allow-list, dir is ASC or DESC; values are placeholders
	rows, err := s.db.QueryContext(ctx, q, append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("search tenants: %w", err)
	}
	defer rows.Close()
	out := []HQTenant{}
	for rows.Next() {
		var t HQTenant
		var created int64
		if err := rows.Scan(&t.ID, &t.Slug, &t.Name, &t.Status, &t.SuspendReason, &created, &t.Plan); err != nil {
			return nil, 0, err
		}
		t.CreatedAt = fromMillis(created)
		out = append(out, t)
	}
	return out, total, rows.Err()
}

// HQTenantByID is one tenant with its plan.
func (s *Store) HQTenantByID(ctx context.Context, id int64) (HQTenant, error) {
	var t HQTenant
	var created int64
	err := s.db.QueryRowContext(ctx, "SELECT "+tenantColumns+", plan FROM tenants WHERE id = ?", id).
		Scan(&t.ID, &t.Slug, &t.Name, &t.Status, &t.SuspendReason, &created, &t.Plan)
	t.CreatedAt = fromMillis(created)
	return t, notFound(err)
}

// UpdateTenant renames a tenant and sets its plan, audited on its trail.
func (s *Store) UpdateTenant(ctx context.Context, id int64, name, plan string, ev core.AuditEvent) (HQTenant, error) {
	if !ValidPlan(plan) {
		return HQTenant{}, core.Invalid("plan", "must be one of %s", strings.Join(Plans, ", "))
	}
	var t HQTenant
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		var old HQTenant
		var created int64
		err := tx.QueryRowContext(ctx, "SELECT "+tenantColumns+", plan FROM tenants WHERE id = ?", id).
			Scan(&old.ID, &old.Slug, &old.Name, &old.Status, &old.SuspendReason, &created, &old.Plan)
		if err != nil {
			return notFound(err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tenants SET name = ?, plan = ?, updated_at = ? WHERE id = ?`, name, plan, s.now(), id); err != nil {
			return fmt.Errorf("update tenant: %w", err)
		}
		t = old
		t.CreatedAt = fromMillis(created)
		t.Name, t.Plan = name, plan
		ev.TenantID, ev.Target = &t.ID, "tenant:"+t.Slug
		ev.Detail = fmt.Sprintf("name %q -> %q; plan %s -> %s", old.Name, name, old.Plan, plan)
		return s.auditOperator(ctx, tx, ev)
	})
	return t, err
}

// MemberMFA is a member with whether they have a confirmed second factor.
type MemberMFA struct {
	core.Member
	MFA bool `json:"mfa"`
}

// TenantOverview is what an operator sees of a tenant: metadata only,
// never content.
type TenantOverview struct {
	Tenant  HQTenant    `json:"tenant"`
	Members []MemberMFA `json:"members"`
	// MFACoverage is the share of members with a second factor, 0 to 1.
	MFACoverage  float64          `json:"mfa_coverage"`
	StorageBytes int64            `json:"storage_bytes"`
	FilesByScan  map[string]int64 `json:"files_by_scan"`
	LastActivity *time.Time       `json:"last_activity"`
}

const selectMembersMFA = `SELECT u.id, u.email, u.name, m.role, m.created_at,
  CASE WHEN EXISTS (SELECT 1 FROM mfa_totp x WHERE x.subject_type = 'user' AND x.subject_id = u.id AND x.confirmed_at IS NOT NULL) THEN 1 ELSE 0 END
FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.tenant_id = ? ORDER BY m.created_at, u.id LIMIT ?`

// Overview gathers a tenant's metadata for HQ: members and their MFA,
// storage and file counts by scan status, and the time of its newest
// audit event as its last activity.
func (ts *TenantStore) Overview(ctx context.Context, memberLimit int) (TenantOverview, error) {
	var o TenantOverview
	var err error
	if o.Tenant, err = ts.s.HQTenantByID(ctx, ts.tenantID); err != nil {
		return o, err
	}
	rows, err := ts.s.db.QueryContext(ctx, selectMembersMFA, ts.tenantID, memberLimit)
	if err != nil {
		return o, fmt.Errorf("members: %w", err)
	}
	defer rows.Close()
	o.Members = []MemberMFA{}
	for rows.Next() {
		var m MemberMFA
		var role string
		var joined, mfa int64
		if err := rows.Scan(&m.UserID, &m.Email, &m.Name, &role, &joined, &mfa); err != nil {
			return o, err
		}
		m.Role, m.JoinedAt, m.MFA = core.Role(role), fromMillis(joined), mfa == 1
		o.Members = append(o.Members, m)
	}
	if err := rows.Err(); err != nil {
		return o, err
	}
	// Coverage counts every member, not just the page listed.
	var all, withMFA int64
	err = ts.s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM mfa_totp x WHERE x.subject_type = 'user' AND x.subject_id = m.user_id AND x.confirmed_at IS NOT NULL) THEN 1 ELSE 0 END), 0)
FROM memberships m WHERE m.tenant_id = ?`, ts.tenantID).Scan(&all, &withMFA)
	if err != nil {
		return o, fmt.Errorf("mfa coverage: %w", err)
	}
	if all > 0 {
		o.MFACoverage = float64(withMFA) / float64(all)
	}
	o.FilesByScan = map[string]int64{}
	frows, err := ts.s.db.QueryContext(ctx, `SELECT status, COUNT(*), COALESCE(SUM(size), 0) FROM files WHERE tenant_id = ? GROUP BY status`, ts.tenantID)
	if err != nil {
		return o, fmt.Errorf("file counts: %w", err)
	}
	defer frows.Close()
	for frows.Next() {
		var st string
		var n, size int64
		if err := frows.Scan(&st, &n, &size); err != nil {
			return o, err
		}
		o.FilesByScan[st], o.StorageBytes = n, o.StorageBytes+size
	}
	if err := frows.Err(); err != nil {
		return o, err
	}
	var last sql.NullInt64
	if err := ts.s.db.QueryRowContext(ctx, `SELECT MAX(created_at) FROM audit_events WHERE tenant_id = ?`, ts.tenantID).Scan(&last); err != nil {
		return o, fmt.Errorf("last activity: %w", err)
	}
	o.LastActivity = nullMillis(last)
	return o, nil
}
