// Package jobstest gives job tests a Redis of their own. asynq has no key
// prefix, so on the real server (PALISADE_TEST_REDIS_URL) each test gets
// one of databases 1-15, claimed with a lock key in database 0 and flushed
// before and after; database 0 belongs to the prefix-scoped tests and is
// never flushed. Without the variable each test gets its own miniredis.
package jobstest

import (
	"context"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/testenv"
)

const lockTTL = 30 * time.Minute

// Redis returns a client on the test's own database and a URL that
// reaches the same database (for subprocesses).
func Redis(tb testing.TB) (*redis.Client, string) {
	tb.Helper()
	base := os.Getenv("PALISADE_TEST_REDIS_URL")
	if base == "" {
		if testenv.Required() {
			tb.Fatal("Redis is required (PALISADE_TEST_REQUIRE_SERVICES=1) but PALISADE_TEST_REDIS_URL is not set")
		}
		testenv.Note(tb, "stand-in", "Redis (ran on miniredis)", "PALISADE_TEST_REDIS_URL")
		mr := miniredis.RunT(tb)
		url := "redis://" + mr.Addr()
		opt, _ := redis.ParseURL(url)
		c := redis.NewClient(opt)
		tb.Cleanup(func() { c.Close() })
		return c, url
	}
	opt, err := redis.ParseURL(base)
	if err != nil {
		tb.Fatalf("PALISADE_TEST_REDIS_URL: %v", err)
	}
	opt.DB = 0
	admin := redis.NewClient(opt)
	defer admin.Close()
	ctx := context.Background()
	token := testenv.RandomName()
	db := 0
	deadline := time.Now().Add(5 * time.Minute)
	for db == 0 {
		for n := 1; n <= 15; n++ {
			ok, err := admin.SetNX(ctx, lockKey(n), token, lockTTL).Result()
			if err != nil {
				tb.Fatalf("claim a redis database: %v", err)
			}
			if ok {
				db = n
				break
			}
		}
		if db == 0 {
			if time.Now().After(deadline) {
				tb.Fatal("no free redis database (1-15) for a job test within 5 minutes")
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	dopt := *opt
	dopt.DB = db
	c := redis.NewClient(&dopt)
	if err := c.FlushDB(ctx).Err(); err != nil {
		tb.Fatalf("flush redis db %d: %v", db, err)
	}
	tb.Cleanup(func() {
		c.FlushDB(context.Background())
		c.Close()
		a := redis.NewClient(opt)
		defer a.Close()
		if v, _ := a.Get(context.Background(), lockKey(db)).Result(); v == token {
			a.Del(context.Background(), lockKey(db))
		}
	})
	return c, withDB(base, db)
}

func lockKey(n int) string { return "palisade_test:jobs_db_lock:" + strconv.Itoa(n) }

// withDB replaces the database of a redis:// URL.
func withDB(raw string, db int) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + strconv.Itoa(db)
	return u.String()
}
