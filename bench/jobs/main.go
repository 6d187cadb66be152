// Command jobs measures the job pipeline on a real Redis: how fast
// producers enqueue, and how many jobs per second a worker takes from
// enqueued to handler to done, for a no-op job and for a job doing one
// database write. See docs/benchmarks.md ("Jobs") for how it is run.
//
// It flushes the Redis database it is given, so it refuses database 0,
// where Palisade and the tests keep their prefixed keys.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/jobs"
)

type payload struct {
	N int `json:"n"`
}

func main() {
	redisURL := flag.String("redis", "redis://127.0.0.1:6379/13", "Redis URL with a database number other than 0 (it is flushed)")
	dsn := flag.String("mysql", "root@tcp(127.0.0.1:3306)/", "MariaDB DSN without a database; the bench creates palisade_bench")
	n := flag.Int("n", 20000, "jobs per run")
	concurrency := flag.Int("c", 10, "worker concurrency and producer goroutines")
	flag.Parse()
	if err := run(*redisURL, *dsn, *n, *concurrency); err != nil {
		log.Fatal(err)
	}
}

func run(redisURL, dsn string, n, c int) error {
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return err
	}
	if opt.DB == 0 {
		return errors.New("refusing Redis database 0: give a URL ending in /1 … /15")
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx := context.Background()

	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, q := range []string{"CREATE DATABASE IF NOT EXISTS palisade_bench", "CREATE TABLE IF NOT EXISTS palisade_bench.job_writes (id BIGINT PRIMARY KEY AUTO_INCREMENT, n BIGINT NOT NULL, created_at BIGINT NOT NULL)", "TRUNCATE palisade_bench.job_writes"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	db.SetMaxOpenConns(c)

	fmt.Printf("jobs=%d concurrency=%d redis=%s\n", n, c, opt.Addr)
	for _, kind := range []string{"noop", "db-write"} {
		if err := rdb.FlushDB(ctx).Err(); err != nil {
			return err
		}
		def := jobs.Define[payload]("bench."+kind, jobs.Options{})
		var done atomic.Int64
		all := make(chan struct{})
		reg := jobs.NewRegistry()
		jobs.Handle(reg, def, func(ctx context.Context, p payload) error {
			if kind == "db-write" {
				if _, err := db.ExecContext(ctx, "INSERT INTO palisade_bench.job_writes (n, created_at) VALUES (?, ?)", p.N, time.Now().UnixMilli()); err != nil {
					return err
				}
			}
			if done.Add(1) == int64(n) {
				close(all)
			}
			return nil
		})
		client := jobs.NewClient(rdb)

		// Phase 1: c producers enqueue n jobs.
		start := time.Now()
		var wg sync.WaitGroup
		var next atomic.Int64
		var enqErr atomic.Value
		for range c {
			wg.Go(func() {
				for {
					i := next.Add(1)
					if i > int64(n) {
						return
					}
					if _, err := def.Enqueue(ctx, client, payload{N: int(i)}); err != nil {
						enqErr.Store(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if err, _ := enqErr.Load().(error); err != nil {
			return err
		}
		enq := time.Since(start)

		// Phase 2: one worker of concurrency c drains them.
		w := jobs.NewWorker(rdb, reg, jobs.WorkerConfig{Concurrency: c, Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
		wctx, stop := context.WithCancel(ctx)
		werr := make(chan error, 1)
		start = time.Now()
		go func() { werr <- w.Run(wctx) }()
		<-all
		proc := time.Since(start)
		stop()
		if err := <-werr; err != nil {
			return err
		}
		client.Close()
		fmt.Printf("%-8s enqueue: %7.0f jobs/s (%v)   enqueue→handler→done: %7.0f jobs/s (%v)\n",
			kind, float64(n)/enq.Seconds(), enq.Round(time.Millisecond), float64(n)/proc.Seconds(), proc.Round(time.Millisecond))
	}
	return rdb.FlushDB(ctx).Err()
}
