package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Registry maps job names to handlers; internal/app fills it with every
// job Palisade has, and tests add their own.
type Registry struct {
	entries map[string]entry
	// aggregator merges a batch, by job name (HandleBatched).
	aggregator map[string]func(log *slog.Logger, tasks []*asynq.Task) *asynq.Task
}

type entry struct {
	opts Options
	run  func(ctx context.Context, payload []byte) error
}

// NewRegistry is empty.
func NewRegistry() *Registry {
	return &Registry{entries: map[string]entry{}, aggregator: map[string]func(*slog.Logger, []*asynq.Task) *asynq.Task{}}
}

// Handle registers fn for d. A payload that does not decode is a dead job
// at once: retrying cannot fix it.
func Handle[P any](r *Registry, d Def[P], fn func(ctx context.Context, p P) error) {
	if _, dup := r.entries[d.Name]; dup {
		panic("jobs: " + d.Name + " registered twice")
	}
	r.entries[d.Name] = entry{opts: d.Opts, run: func(ctx context.Context, payload []byte) error {
		var p P
		if err := json.Unmarshal(payload, &p); err != nil {
			return Permanent(fmt.Errorf("malformed %s payload: %v", d.Name, err))
		}
		return fn(ctx, p)
	}}
}

// Names lists the registered job names.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.entries))
	for n := range r.entries {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// WorkerConfig tunes a worker.
type WorkerConfig struct {
	// Concurrency is how many jobs run at once in this process.
	Concurrency int
	// Drain bounds how long running jobs may take to finish after the
	// context ends; what is still running then is put back on its queue
	// for another worker, without counting as an attempt.
	Drain time.Duration
	// PollInterval is how often an idle worker looks for work, and how
	// often due delayed and retrying jobs are moved to their queue.
	PollInterval time.Duration
	Log          *slog.Logger
	Metrics      *Metrics
}

// Worker runs jobs from every queue.
type Worker struct {
	srv *asynq.Server
	reg *Registry
	log *slog.Logger
	m   *Metrics
	cfg WorkerConfig
}

// NewWorker builds a worker on rdb; Run starts it.
func NewWorker(rdb redis.UniversalClient, reg *Registry, cfg WorkerConfig) *Worker {
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 10
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 25 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	w := &Worker{reg: reg, log: cfg.Log, m: cfg.Metrics, cfg: cfg}
	var agg asynq.GroupAggregator
	if len(reg.aggregator) > 0 {
		agg = asynq.GroupAggregatorFunc(w.aggregate)
	}
	w.srv = asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:              cfg.Concurrency,
		Queues:                   QueueWeights,
		RetryDelayFunc:           w.retryDelay,
		ShutdownTimeout:          cfg.Drain,
		TaskCheckInterval:        cfg.PollInterval,
		DelayedTaskCheckInterval: cfg.PollInterval,
		Logger:                   asynqLogger{cfg.Log},
		LogLevel:                 asynq.WarnLevel,
		GroupAggregator:          agg,
		GroupGracePeriod:         time.Second,
		GroupMaxDelay:            5 * time.Second,
		GroupMaxSize:             100,
	})
	return w
}

// Run processes jobs until ctx ends, then drains: it takes no new job,
// waits up to Drain for running ones, and hands back the rest.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.srv.Start(asynq.HandlerFunc(w.process)); err != nil {
		return fmt.Errorf("jobs: start worker: %w", err)
	}
	w.log.Info("worker started", "concurrency", w.cfg.Concurrency, "queues", QueueWeights, "jobs", w.reg.Names())
	<-ctx.Done()
	w.log.Info("worker draining", "bound", w.cfg.Drain.String())
	w.srv.Stop()
	w.srv.Shutdown()
	w.log.Info("worker stopped")
	return nil
}

// Ping checks the worker's Redis, for readiness.
func (w *Worker) Ping() error { return w.srv.Ping() }

// process runs one attempt of one job.
func (w *Worker) process(ctx context.Context, t *asynq.Task) error {
	name := t.Type()
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	id, _ := asynq.GetTaskID(ctx)
	log := w.log.With("job", name, "job_id", id, "attempt", retried+1)
	start := time.Now()
	if retried == 0 {
		if due, err := strconv.ParseInt(t.Headers()[headerDueAt], 10, 64); err == nil {
			w.m.wait(name, start.Sub(time.UnixMilli(due)))
		}
	}
	e, ok := w.reg.entries[name]
	var err error
	if !ok {
		err = Permanent(fmt.Errorf("unknown job type %q: this worker has no handler for it (if a deploy is rolling out, retry it from HQ once it completes)", name))
	} else {
		err = e.run(ctx, t.Payload())
	}
	w.m.ran(name, time.Since(start))
	if err == nil {
		w.m.done(name)
		return nil
	}
	if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("timed out after %s: %w", e.opts.Timeout, err)
	}
	w.m.failedAttempt(name)
	if errors.Is(err, asynq.SkipRetry) || retried >= maxRetry {
		w.m.deadJob(name)
		log.Error("job failed for good; it is in dead-letter", "err", err)
	}
	// Otherwise retryDelay logs the wait before the next attempt.
	return err
}

// retryDelay is the back-off of the job's type; asynq calls it after a
// failed attempt n (0-based) that will be retried.
func (w *Worker) retryDelay(n int, err error, t *asynq.Task) time.Duration {
	b := defaultOptions.Backoff
	if e, ok := w.reg.entries[t.Type()]; ok {
		b = e.opts.Backoff
	}
	d := b.Delay(n+1, rand.Float64)
	w.m.retry(t.Type())
	w.log.Warn("job failed; retrying", "job", t.Type(), "attempt", n+1, "retry_in", d, "err", err)
	return d
}

func (w *Worker) aggregate(group string, tasks []*asynq.Task) *asynq.Task {
	if fn, ok := w.reg.aggregator[group]; ok {
		return fn(w.log, tasks)
	}
	// Unreachable for groups we create; keep the first task rather than
	// lose the set.
	return tasks[0]
}

// asynqLogger sends asynq's own messages to slog.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }

// Run calls name's handler once, outside any queue: tests use it to show a
// handler is idempotent, and operators' tools to run a job by hand.
func (r *Registry) Run(ctx context.Context, name string, payload []byte) error {
	e, ok := r.entries[name]
	if !ok {
		return fmt.Errorf("jobs: no handler for %q", name)
	}
	return e.run(ctx, payload)
}
