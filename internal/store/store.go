// Package store is Palisade's SQL data layer, on MariaDB in production and
// SQLite for the embedded default. Statements are plain SQL in const strings
// with ? placeholders, which both drivers accept.
//
// Tenant-owned data is reachable only through a *TenantStore, which cannot be
// built without a tenant id and adds it to every statement.
package store

import (
	"context"
	"crypto/tls"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/store/rdsca"
)

//go:embed migrations
var migrations embed.FS

// Store is the data layer. It is safe for concurrent use.
type Store struct {
	db     *sql.DB
	driver string
	// Now is the clock; tests replace it.
	Now func() time.Time
	// auditLog, when set, receives every audit event as it is appended
	// (stdout JSON, kept by CloudWatch); see SetAuditLog.
	auditLog *slog.Logger
}

// RDSTLS is the DSN's TLS configuration for Amazon RDS: tls=rds verifies
// the server's certificate against the RDS CA bundle built into the binary
// (internal/store/rdsca), and its name against the DSN's host. tls=true
// would use the system roots, which do not hold the RDS roots.
const RDSTLS = "rds"

func init() {
	pool, err := rdsca.Pool()
	if err != nil {
		panic("rds ca bundle: " + err.Error()) // embedded at build time; rdsca's test checks it
	}
	// ServerName stays empty: the driver fills in the DSN's host, so the
	// name is checked too.
	if err := mysql.RegisterTLSConfig(RDSTLS, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}); err != nil {
		panic(err)
	}
}

// Options are the connection settings beyond the DSN.
type Options struct {
	// TLSCAFile, when set, replaces the RDS bundle of tls=rds with the CAs
	// of this PEM file (PALISADE_DB_TLS_CA): a MariaDB with a private CA,
	// or a bundle newer than the release.
	TLSCAFile string
	// Password, when set, is used instead of the DSN's (an RDS-managed
	// master secret holds it apart from the DSN, and RDS rotates it).
	Password string
}

// Open connects to the database. driver is "mysql" or "sqlite"; for sqlite
// the DSN is a file path (or "file::memory:").
func Open(ctx context.Context, driver, dsn string) (*Store, error) {
	return OpenWith(ctx, driver, dsn, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, driver, dsn string, opt Options) (*Store, error) {
	var (
		db  *sql.DB
		err error
	)
	switch driver {
	case "mysql":
		cfg, perr := mysql.ParseDSN(dsn)
		if perr != nil {
			return nil, fmt.Errorf("parse mysql dsn: %w", perr)
		}
		if opt.Password != "" {
			cfg.Passwd = opt.Password
		}
		if opt.TLSCAFile != "" {
			if cfg.TLSConfig != RDSTLS {
				return nil, fmt.Errorf("a TLS CA file is given but the DSN does not say tls=%s", RDSTLS)
			}
			pem, rerr := os.ReadFile(opt.TLSCAFile)
			if rerr != nil {
				return nil, fmt.Errorf("database TLS CA: %w", rerr)
			}
			pool, perr := rdsca.PoolFromPEM(pem)
			if perr != nil {
				return nil, fmt.Errorf("database TLS CA %s: %w", opt.TLSCAFile, perr)
			}
			cfg.TLS.RootCAs = pool // a clone the DSN parser made, with ServerName set
		}
		// UTC everywhere; times are stored as unix milliseconds anyway.
		cfg.Loc = time.UTC
		if cfg.Params == nil {
			cfg.Params = map[string]string{}
		}
		cfg.Params["time_zone"] = "'+00:00'"
		cfg.Params["sql_mode"] = "'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'"
		// One round trip per query instead of prepare, execute and close:
		// the driver escapes the arguments itself, which is safe with
		// utf8mb4 (it refuses the multibyte charsets where it is not).
		cfg.InterpolateParams = true
		connector, cerr := mysql.NewConnector(cfg)
		if cerr != nil {
			return nil, cerr
		}
		db = sql.OpenDB(connector)
		db.SetMaxOpenConns(50)
		db.SetMaxIdleConns(25)
		db.SetConnMaxLifetime(5 * time.Minute)
	case "sqlite":
		db, err = sql.Open("sqlite", sqliteDSN(dsn))
		if err != nil {
			return nil, err
		}
		// One writer at a time is what SQLite allows; readers run beside it in WAL mode.
		db.SetMaxOpenConns(8)
		// Keep them all: a reopened connection re-runs its pragmas, and the
		// default of 2 idle ones makes a loaded API reopen constantly.
		db.SetMaxIdleConns(8)
	default:
		return nil, fmt.Errorf("unknown database driver %q", driver)
	}
	s := &Store{db: db, driver: driver, Now: time.Now}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		_ = db.Close() // the failed ping is the error worth reporting
		return nil, fmt.Errorf("connect to %s: %w", driver, err)
	}
	return s, nil
}

func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return "file:" + strings.TrimPrefix(path, "file:") + sep + q.Encode()
}

// Close closes the pool.
func (s *Store) Close() error { return s.db.Close() }

// Driver names the SQL dialect.
func (s *Store) Driver() string { return s.driver }

// DB exposes the pool for the session store and tests.
func (s *Store) DB() *sql.DB { return s.db }

// Ping checks the database for readiness probes.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Migrate applies pending migrations. On MariaDB a named lock keeps two
// migrating tasks of a rolling deploy from racing.
func (s *Store) Migrate(ctx context.Context, log *slog.Logger) error {
	dialect := goose.DialectSQLite3
	if s.driver == "mysql" {
		dialect = goose.DialectMySQL
		conn, err := s.db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK('palisade_migrate', 120)").Scan(&got); err != nil || got.Int64 != 1 {
			return fmt.Errorf("take migration lock: %v", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK('palisade_migrate')")
	}
	sub, err := fs.Sub(migrations, "migrations/"+s.driver)
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(dialect, s.db, sub, goose.WithDisableGlobalRegistry(true), goose.WithTableName("schema_migrations"))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	res, err := p.Up(ctx)
	// One line per file at debug, one summary at info: a first start
	// applies every migration and should not fill the console with them.
	for _, r := range res {
		log.Debug("migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	if len(res) > 0 {
		log.Info("migrations applied", "count", len(res), "from_version", res[0].Source.Version, "to_version", res[len(res)-1].Source.Version)
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// MigrationFiles lists the embedded migrations of a dialect, for tests.
func MigrationFiles(driver string) ([]string, error) {
	return fs.Glob(migrations, "migrations/"+driver+"/*.sql")
}

// ReadMigration returns one embedded migration file.
func ReadMigration(name string) ([]byte, error) { return migrations.ReadFile(name) }

func (s *Store) now() int64 { return s.Now().UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func nullMillis(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMillis(n.Int64)
	return &t
}

// TxFunc writes more in a store method's own transaction: the outbox
// (internal/outbox) adds a change's side effects with the change, so one
// never commits without the other.
type TxFunc func(ctx context.Context, tx *sql.Tx) error

// runAlso runs the callers' extra writes inside tx.
func runAlso(ctx context.Context, tx *sql.Tx, also []TxFunc) error {
	for _, f := range also {
		if err := f(ctx, tx); err != nil {
			return err
		}
	}
	return nil
}

// InTx runs fn in a transaction, committing only if fn returns nil.
func (s *Store) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// isUniqueViolation recognises a duplicate key on either driver.
func isUniqueViolation(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1062
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// notFound maps sql.ErrNoRows to the domain error.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return core.ErrNotFound
	}
	return err
}

// execer is what *sql.DB and *sql.Tx share.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
