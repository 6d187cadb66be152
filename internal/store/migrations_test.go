package store_test

// The expand/contract rule: during a rolling deploy the previous release's
// tasks keep serving on the schema the new release migrated, so a migration
// may only add. Removing or reshaping a column or table happens in a later
// release, after no running code reads it, in a file marked
//
//	-- palisade:contract <what> unused since <release tag>
//
// (docs/operations.md, "Migrations and rolling deploys").

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

var dialects = []string{"mysql", "sqlite"}

// migrationSource is one migration file split into its sections.
type migrationSource struct {
	name     string
	up, down string
	contract bool
}

func loadMigrations(t *testing.T, driver string) []migrationSource {
	t.Helper()
	files, err := store.MigrationFiles(driver)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no %s migrations embedded", driver)
	}
	var out []migrationSource
	for _, f := range files {
		b, err := store.ReadMigration(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := splitMigration(path.Base(f), string(b))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		out = append(out, m)
	}
	return out
}

var contractMarker = regexp.MustCompile(`(?m)^--\s*palisade:contract\s+\S.*\bunused since v[0-9]+\.[0-9]+\.[0-9]+`)

func splitMigration(name, src string) (migrationSource, error) {
	m := migrationSource{name: name, contract: contractMarker.MatchString(src)}
	upAt := strings.Index(src, "-- +goose Up")
	downAt := strings.Index(src, "-- +goose Down")
	if upAt < 0 || downAt < 0 || downAt < upAt {
		return m, fmt.Errorf("want a '-- +goose Up' section followed by a '-- +goose Down' section")
	}
	m.up = src[upAt+len("-- +goose Up") : downAt]
	m.down = src[downAt+len("-- +goose Down"):]
	return m, nil
}

// statements strips comments and splits on semicolons outside quotes.
func statements(sql string) []string {
	var out []string
	var cur strings.Builder
	var quote byte
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		switch {
		case quote != 0:
			cur.WriteByte(c)
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
			cur.WriteByte(c)
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
			cur.WriteByte('\n')
		case c == ';':
			if s := strings.TrimSpace(cur.String()); s != "" {
				out = append(out, s)
			}
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

var (
	ddl = regexp.MustCompile(`(?i)^\s*(CREATE|ALTER|DROP|RENAME|TRUNCATE)\b`)
	// What the previous release's code would trip over.
	destructive = []struct {
		re   *regexp.Regexp
		what string
	}{
		{regexp.MustCompile(`(?i)\bDROP\s+(TABLE|VIEW)\b`), "drops a table"},
		{regexp.MustCompile(`(?i)\bDROP\s+(COLUMN\b|[a-z_]+\s*(,|$))`), "drops a column"},
		{regexp.MustCompile(`(?i)\bRENAME\b`), "renames a table or column"},
		{regexp.MustCompile(`(?i)\bMODIFY\b`), "changes a column's type"},
		{regexp.MustCompile(`(?i)\bCHANGE\s+(COLUMN\s+)?[a-z_` + "`" + `]+\s+[a-z_` + "`" + `]+`), "changes a column"},
		{regexp.MustCompile(`(?i)\bALTER\s+COLUMN\b.*\b(TYPE|DROP\s+DEFAULT|SET\s+NOT\s+NULL)\b`), "reshapes a column"},
		{regexp.MustCompile(`(?i)\bTRUNCATE\b`), "empties a table"},
		{regexp.MustCompile(`(?i)^\s*DELETE\b`), "deletes rows"},
	}
	addColumn = regexp.MustCompile(`(?is)\bADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?([a-z_` + "`" + `]+)\s+([^,]*)`)
)

func TestMigrationsOnlyExpand(t *testing.T) {
	for _, d := range dialects {
		for _, m := range loadMigrations(t, d) {
			if m.contract {
				continue
			}
			for _, st := range statements(m.up) {
				for _, rule := range destructive {
					if rule.re.MatchString(st) {
						t.Errorf("%s/%s: the Up section %s, which breaks the release still running during a rolling deploy; "+
							"do it in a later release marked '-- palisade:contract <what> unused since vX.Y.Z':\n%s", d, m.name, rule.what, st)
					}
				}
				// The previous release inserts rows without the new column, so
				// a NOT NULL column needs a default.
				if regexp.MustCompile(`(?i)^\s*ALTER\s+TABLE`).MatchString(st) {
					for _, add := range addColumn.FindAllStringSubmatch(st, -1) {
						def := strings.ToUpper(add[2])
						if strings.Contains(def, "NOT NULL") && !strings.Contains(def, "DEFAULT") && !strings.Contains(def, "AUTO_INCREMENT") {
							t.Errorf("%s/%s: column %s is NOT NULL without a DEFAULT: the previous release's INSERTs would fail", d, m.name, add[1])
						}
					}
				}
			}
		}
	}
}

func TestMigrationsSameFilesInBothDialects(t *testing.T) {
	names := map[string][]string{}
	for _, d := range dialects {
		for _, m := range loadMigrations(t, d) {
			names[d] = append(names[d], m.name)
		}
	}
	if !slices.Equal(names["mysql"], names["sqlite"]) {
		t.Errorf("dialects differ:\nmysql:  %v\nsqlite: %v", names["mysql"], names["sqlite"])
	}
	// Numbered 00001, 00002, … with no gap or duplicate, so goose applies
	// them in the order they were written.
	for i, n := range names["mysql"] {
		if want := fmt.Sprintf("%05d_", i+1); !strings.HasPrefix(n, want) {
			t.Errorf("migration %d is %s, want a name starting %s", i+1, n, want)
		}
	}
}

// MariaDB commits every DDL statement on its own, so a file with two would
// be left half-applied if the second failed; goose could then neither redo
// nor undo it.
func TestMariaDBOneDDLChangePerFile(t *testing.T) {
	for _, m := range loadMigrations(t, "mysql") {
		for section, body := range map[string]string{"Up": m.up, "Down": m.down} {
			n := 0
			for _, st := range statements(body) {
				if ddl.MatchString(st) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("mysql/%s: %s section has %d DDL statements, want exactly 1", m.name, section, n)
			}
		}
	}
}

// The rule's own checks must catch what they claim to.
func TestMigrationRulesCatchBreakingChanges(t *testing.T) {
	breaking := []string{
		"DROP TABLE users",
		"ALTER TABLE users DROP COLUMN email",
		"ALTER TABLE users DROP email",
		"ALTER TABLE users RENAME COLUMN email TO mail",
		"RENAME TABLE users TO people",
		"ALTER TABLE users MODIFY email VARCHAR(10)",
		"ALTER TABLE users CHANGE email mail VARCHAR(10)",
		"TRUNCATE TABLE users",
	}
	for _, st := range breaking {
		caught := false
		for _, rule := range destructive {
			caught = caught || rule.re.MatchString(st)
		}
		if !caught {
			t.Errorf("not caught: %s", st)
		}
	}
	for _, st := range []string{
		"CREATE TABLE t (id BIGINT NOT NULL)",
		"ALTER TABLE users ADD COLUMN x INT NOT NULL DEFAULT 0",
		"CREATE INDEX users_email ON users (email)",
		"ALTER TABLE audit_events ADD COLUMN hash CHAR(64) NOT NULL DEFAULT ''",
	} {
		for _, rule := range destructive {
			if rule.re.MatchString(st) {
				t.Errorf("%q flagged as %s", st, rule.what)
			}
		}
	}
	if m := addColumn.FindStringSubmatch("ALTER TABLE users ADD COLUMN x INT NOT NULL"); m == nil || strings.Contains(m[2], "DEFAULT") {
		t.Error("NOT NULL without DEFAULT not detected")
	}
	if got := statements("-- a; comment\nCREATE TABLE t (a TEXT DEFAULT ';');\n-- x\nALTER TABLE t ADD b INT;"); len(got) != 2 {
		t.Errorf("statements split into %d: %q", len(got), got)
	}
	if _, err := splitMigration("x.sql", "-- +goose Down\nDROP TABLE t;\n-- +goose Up\nCREATE TABLE t (a INT);"); err == nil {
		t.Error("Down before Up accepted")
	}
}

// Every migration can be undone and redone on the real databases, so a
// failed release can be rolled back to the schema its predecessor expects.
func TestMigrationsRoundTrip(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		dsn := testenv.DSN(t, driver)
		st, err := store.Open(ctx, driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		dialect := goose.DialectSQLite3
		if driver == "mysql" {
			dialect = goose.DialectMySQL
		}
		p, err := goose.NewProvider(dialect, st.DB(), os.DirFS("migrations/"+driver),
			goose.WithDisableGlobalRegistry(true), goose.WithTableName("schema_migrations"))
		if err != nil {
			t.Fatal(err)
		}
		n := len(p.ListSources())
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("up: %v", err)
		}
		before := tables(t, st.DB(), driver)
		if _, err := p.DownTo(ctx, 0); err != nil {
			t.Fatalf("down to 0: %v", err)
		}
		if left := tables(t, st.DB(), driver); len(left) != 0 {
			t.Errorf("after every Down, tables remain: %v", left)
		}
		res, err := p.Up(ctx)
		if err != nil {
			t.Fatalf("up again: %v", err)
		}
		if len(res) != n {
			t.Errorf("re-applied %d migrations, want %d", len(res), n)
		}
		if after := tables(t, st.DB(), driver); !slices.Equal(before, after) {
			t.Errorf("tables differ after down and up:\n%v\n%v", before, after)
		}
		// The store's own Migrate agrees that nothing is pending.
		if err := st.Migrate(ctx, testenv.Logger(t)); err != nil {
			t.Fatal(err)
		}
	})
}

func tables(t *testing.T, db *sql.DB, driver string) []string {
	t.Helper()
	q := "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name"
	if driver == "mysql" {
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name <> 'schema_migrations' ORDER BY table_name"
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
