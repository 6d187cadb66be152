// Package testenv gives tests the real services named by PALISADE_TEST_*
// variables, and embedded stand-ins when they are unset. With
// PALISADE_TEST_REQUIRE_SERVICES=1 (CI) a missing service fails the test
// instead of skipping it.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv/skiplog"
)

// Required reports whether CI demands every service.
func Required() bool { return os.Getenv("PALISADE_TEST_REQUIRE_SERVICES") == "1" }

// Missing skips, or fails in CI, a test whose service is absent.
func Missing(tb testing.TB, service, envVar string) {
	tb.Helper()
	if Required() {
		tb.Fatalf("%s is required (PALISADE_TEST_REQUIRE_SERVICES=1) but %s is not set", service, envVar)
	}
	Note(tb, "skipped", service, envVar)
	tb.Skipf("%s not available: set %s to run this test", service, envVar)
}

// Note records that a test was skipped or ran on a stand-in (skiplog).
func Note(tb testing.TB, kind, service, envVar string) { skiplog.Note(tb, kind, service, envVar) }

// RandomName is a short random suffix for databases and key prefixes.
func RandomName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Logger writes warnings and errors to the test log only.
func Logger(tb testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Drivers lists the databases the store tests run on: SQLite always, and
// MariaDB when PALISADE_TEST_MYSQL_DSN is set (required in CI).
func Drivers(tb testing.TB) []string {
	tb.Helper()
	if os.Getenv("PALISADE_TEST_MYSQL_DSN") != "" {
		return []string{"sqlite", "mysql"}
	}
	if Required() {
		tb.Fatal("MariaDB is required (PALISADE_TEST_REQUIRE_SERVICES=1) but PALISADE_TEST_MYSQL_DSN is not set")
	}
	Note(tb, "stand-in", "MariaDB (ran on SQLite only)", "PALISADE_TEST_MYSQL_DSN")
	return []string{"sqlite"}
}

// MySQLDSN creates a fresh database for this test and drops it afterwards.
func MySQLDSN(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("PALISADE_TEST_MYSQL_DSN")
	if base == "" {
		Missing(tb, "MariaDB", "PALISADE_TEST_MYSQL_DSN")
	}
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		tb.Fatalf("PALISADE_TEST_MYSQL_DSN: %v", err)
	}
	name := "palisade_t_" + RandomName()
	admin, err := store.Open(context.Background(), "mysql", base)
	if err != nil {
		tb.Fatalf("connect to MariaDB: %v", err)
	}
	defer admin.Close()
	if _, err := admin.DB().Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		tb.Fatalf("create test database: %v", err)
	}
	tb.Cleanup(func() {
		a, err := store.Open(context.Background(), "mysql", base)
		if err != nil {
			tb.Errorf("drop test database: %v", err)
			return
		}
		defer a.Close()
		if _, err := a.DB().Exec("DROP DATABASE " + name); err != nil {
			tb.Errorf("drop test database: %v", err)
		}
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}

// DSN returns a fresh, empty database of driver.
func DSN(tb testing.TB, driver string) string {
	tb.Helper()
	if driver == "mysql" {
		return MySQLDSN(tb)
	}
	return filepath.Join(tb.TempDir(), "palisade.db")
}

// Store opens a migrated store on a fresh database of driver.
func Store(tb testing.TB, driver string) *store.Store {
	tb.Helper()
	st, err := store.Open(context.Background(), driver, DSN(tb, driver))
	if err != nil {
		tb.Fatalf("open %s: %v", driver, err)
	}
	tb.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background(), Logger(tb)); err != nil {
		tb.Fatalf("migrate %s: %v", driver, err)
	}
	return st
}

// ForEachDriver runs fn as a subtest per database driver.
func ForEachDriver(t *testing.T, fn func(t *testing.T, driver string)) {
	for _, d := range Drivers(t) {
		t.Run(d, func(t *testing.T) { fn(t, d) })
	}
}

// Redis is the test's Redis: the real one at PALISADE_TEST_REDIS_URL
// (required in CI) with a key prefix of its own, or an embedded miniredis.
// The returned URL reaches the same server.
func Redis(tb testing.TB) (client *redis.Client, prefix, url string) {
	tb.Helper()
	prefix = "palisade_test:" + RandomName() + ":"
	url = os.Getenv("PALISADE_TEST_REDIS_URL")
	if url == "" {
		if Required() {
			tb.Fatal("Redis is required (PALISADE_TEST_REQUIRE_SERVICES=1) but PALISADE_TEST_REDIS_URL is not set")
		}
		Note(tb, "stand-in", "Redis (ran on miniredis)", "PALISADE_TEST_REDIS_URL")
		mr := miniredis.RunT(tb)
		url = "redis://" + mr.Addr()
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("PALISADE_TEST_REDIS_URL: %v", err)
	}
	client = redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		tb.Fatalf("redis at %s: %v", url, err)
	}
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
		client.Close()
	})
	return client, prefix, url
}

// Chromium is the browser for chromedp tests.
func Chromium(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("PALISADE_TEST_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			tb.Fatalf("PALISADE_TEST_CHROMIUM=%s: %v", p, err)
		}
		return p
	}
	Missing(tb, "Chromium", "PALISADE_TEST_CHROMIUM")
	return ""
}
