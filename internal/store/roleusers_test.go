package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// The role users on a real MariaDB: created idempotently, DML only, the
// audit trail append-only, hq confined to the operator tables, and a new
// password (a rotation) applied by the next run.
func TestRoleUsersLeastPrivilege(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.MySQLDSN(t) // skips with Go alone; fails with PALISADE_TEST_REQUIRE_SERVICES=1
	master, err := store.Open(ctx, "mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	if err := master.Migrate(ctx, testenv.Logger(t)); err != nil {
		t.Fatal(err)
	}
	suffix := testenv.RandomName()[:8]
	users := map[string]store.RoleUser{}
	var list []store.RoleUser
	for _, r := range store.RoleUserRoles {
		u := store.RoleUser{Role: r, User: "t_" + r + "_" + suffix, Password: "pw-" + r + "-" + testenv.RandomName()}
		users[r] = u
		list = append(list, u)
	}
	t.Cleanup(func() {
		for _, u := range list {
			_, _ = master.DB().ExecContext(context.Background(), "DROP USER IF EXISTS ?@'%'", u.User)
		}
	})
	for i := 0; i < 2; i++ { // idempotent
		if err := master.EnsureRoleUsers(ctx, list); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}
	base, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	as := func(u store.RoleUser) *store.Store {
		t.Helper()
		c := base.Clone()
		c.User, c.Passwd = u.User, u.Password
		st, err := store.Open(ctx, "mysql", c.FormatDSN())
		if err != nil {
			t.Fatalf("connect as %s: %v", u.User, err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	denied := func(err error) bool {
		var me *mysql.MySQLError
		// 1142 table access denied, 1044 database access denied, 1227 privilege needed.
		return errors.As(err, &me) && (me.Number == 1142 || me.Number == 1044 || me.Number == 1227 || me.Number == 1143)
	}
	api := as(users["api"])
	for _, q := range []string{
		"CREATE TABLE evil (id INT)",
		"DROP TABLE users",
		"ALTER TABLE users ADD COLUMN evil INT",
		"CREATE INDEX evil ON users (id)",
		"UPDATE audit_events SET detail = 'forged'",
		"DELETE FROM audit_events",
		"SELECT * FROM schema_migrations",
		"GRANT SELECT ON users TO CURRENT_USER",
	} {
		if _, err := api.DB().ExecContext(ctx, q); !denied(err) {
			t.Errorf("api user: %q: %v; want access denied", q, err)
		}
	}
	for _, q := range []string{"SELECT COUNT(*) FROM users", "SELECT COUNT(*) FROM audit_events", "UPDATE tenants SET name = name WHERE id = 0", "DELETE FROM sessions WHERE 1 = 0"} {
		if _, err := api.DB().ExecContext(ctx, q); err != nil {
			t.Errorf("api user: %q: %v; want allowed", q, err)
		}
	}
	// The store's own audit append works as the app user (INSERT on
	// audit_events, UPDATE on audit_heads).
	if err := api.Audit(ctx, core.AuditEvent{Action: "test.role_user", ActorType: "system", Outcome: store.OutcomeSuccess}); err != nil {
		t.Errorf("api user appends an audit event: %v", err)
	}
	hq := as(users["hq"])
	for _, q := range []string{"SELECT * FROM users", "SELECT * FROM sessions", "SELECT * FROM files", "SELECT * FROM api_tokens", "SELECT * FROM tenants", "UPDATE operators SET name = 'x'", "DELETE FROM operators"} {
		if _, err := hq.DB().ExecContext(ctx, q); !denied(err) {
			t.Errorf("hq user: %q: %v; want access denied", q, err)
		}
	}
	if _, err := hq.DB().ExecContext(ctx, "SELECT COUNT(*) FROM operators"); err != nil {
		t.Errorf("hq user reads operators: %v", err)
	}
	// Rotation: the secret's new password, applied by the next migrate.
	old := users["worker"]
	rotated := old
	rotated.Password = "pw-rotated-" + testenv.RandomName()
	if err := master.EnsureRoleUsers(ctx, []store.RoleUser{rotated}); err != nil {
		t.Fatal(err)
	}
	c := base.Clone()
	c.User, c.Passwd = old.User, old.Password
	if st, err := store.Open(ctx, "mysql", c.FormatDSN()); err == nil {
		st.Close()
		t.Error("the old worker password still connects after the rotation")
	}
	as(rotated)
	// Unknown roles and odd names are refused before any statement.
	for _, bad := range []store.RoleUser{{Role: "scheduler", User: "s", Password: strings.Repeat("x", 20)}, {Role: "api", User: "x'; DROP", Password: strings.Repeat("x", 20)}} {
		if err := master.EnsureRoleUsers(ctx, []store.RoleUser{bad}); err == nil {
			t.Errorf("EnsureRoleUsers(%+v): want an error", bad)
		}
	}
}
