package store

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// RoleUser is one role's own database user: least privilege (ISO 27001
// 8.2, 8.3) instead of every role connecting as the RDS master user.
// Migrate connects as the master (the only DDL); it creates these users
// and (re)applies their password and grants on every run, so a rotated
// password in the role's secret takes effect with the next migrate.
type RoleUser struct {
	Role     string // api, worker, hq or scanner
	User     string
	Password string
}

// Table privileges of the roles. Every role is DML-only (no CREATE, ALTER,
// DROP, INDEX, REFERENCES, GRANT); on top of that:
//
//   - audit_events is append-only for everyone (SELECT, INSERT): no role
//     can rewrite or delete the trail it is audited by;
//   - schema_migrations belongs to migrate alone;
//   - hq's task runs only `palisade hq create-operator` against the
//     database (the console goes through the API), so it gets the
//     operator tables and the audit append, and cannot read tenants' users,
//     sessions, files or tokens at all.
//
// The scheduler only enqueues into Redis and gets no database user.
var (
	dml            = []string{"SELECT", "INSERT", "UPDATE", "DELETE"}
	appendOnly     = map[string][]string{"audit_events": {"SELECT", "INSERT"}}
	ownedByMigrate = map[string]bool{"schema_migrations": true}
	hqTables       = map[string][]string{
		"operators":    {"SELECT", "INSERT"},
		"audit_events": {"SELECT", "INSERT"},
		"audit_heads":  {"SELECT", "INSERT", "UPDATE"},
	}
)

// RoleUserRoles are the roles that get a database user.
var RoleUserRoles = []string{"api", "worker", "hq", "scanner"}

// TablePrivileges is what role may do on table (nil: nothing).
func TablePrivileges(role, table string) []string {
	if ownedByMigrate[table] {
		return nil
	}
	if role == "hq" {
		return hqTables[table]
	}
	if p, ok := appendOnly[table]; ok {
		return p
	}
	return dml
}

var userName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// EnsureRoleUsers creates each user if missing, sets its password (the
// secret's current value, so a rotation is applied here) and replaces its
// grants with TablePrivileges on every table of the current database. It
// must run on a connection with CREATE USER and GRANT OPTION (the master),
// after Migrate, so new tables get their grants in the same run. MariaDB
// only: SQLite has no users.
func (s *Store) EnsureRoleUsers(ctx context.Context, users []RoleUser) error {
	if s.driver != "mysql" {
		return fmt.Errorf("database users need MariaDB, not %s", s.driver)
	}
	known := map[string]bool{}
	for _, r := range RoleUserRoles {
		known[r] = true
	}
	var db string
	if err := s.db.QueryRowContext(ctx, `SELECT DATABASE()`).Scan(&db); err != nil || db == "" {
		return fmt.Errorf("current database: %v (the migrate DSN must name one)", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'`)
	if err != nil {
		return err
	}
	tables, err := scanTableNames(rows)
	if err != nil {
		return err
	}
	sort.Strings(tables)
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, u := range users {
		if !known[u.Role] {
			return fmt.Errorf("no database grants are defined for role %q", u.Role)
		}
		if !userName.MatchString(u.User) {
			return fmt.Errorf("%s: database user name %q is not [a-z][a-z0-9_]{0,31}", u.Role, u.User)
		}
		if len(u.Password) < 16 {
			return fmt.Errorf("%s: the database password is shorter than 16 characters", u.Role)
		}
		// The DSN parameters interpolate ? client-side (InterpolateParams),
		// which account-management statements need: they take no
		// server-side placeholders.
		stmts := []struct {
			q    string
			args []any
		}{
			{`CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?`, []any{u.User, u.Password}},
			{`ALTER USER ?@'%' IDENTIFIED BY ?`, []any{u.User, u.Password}},
			{`REVOKE ALL PRIVILEGES, GRANT OPTION FROM ?@'%'`, []any{u.User}},
		}
		for _, t := range tables {
			if p := TablePrivileges(u.Role, t); len(p) > 0 {
				stmts = append(stmts, struct {
					q    string
					args []any
				}{fmt.Sprintf("GRANT %s ON %s.%s TO ?@'%%'", strings.Join(p, ", "), quoteIdent(db), quoteIdent(t)), []any{u.User}})
			}
		}
		for _, st := range stmts {
			if _, err := conn.ExecContext(ctx, st.q, st.args...); err != nil {
				return fmt.Errorf("%s user %s: %s: %w", u.Role, u.User, strings.SplitN(st.q, " ?", 2)[0], err)
			}
		}
	}
	return nil
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// scanTableNames reads one name per row and closes rows.
func scanTableNames(rows *sql.Rows) (names []string, err error) {
	defer func() {
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
	}()
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		names = append(names, t)
	}
	return names, rows.Err()
}
