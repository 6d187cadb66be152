// Package jobs is Palisade's background work: typed job definitions on
// Redis queues (github.com/hibiken/asynq), a worker that runs them with
// retries, back-off, timeouts and a dead-letter state, and a scheduler that
// only enqueues periodic jobs. It is plumbing only: features (files,
// realtime, maintenance, offboarding) define their own jobs with Define and
// Handle, and internal/app assembles the catalog and the schedule.
// Producers enqueue through a Client; the worker role runs the handlers
// registered on its Registry. Every handler must be idempotent: a job runs
// at least once, and sometimes twice (a worker killed after the work but
// before the acknowledgement).
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Queues, most urgent first. Weights share the workers between them when
// all have work: critical gets 6 of 10 dequeues, default 3, low 1, so low
// is slowed but never starved.
const (
	QueueCritical = "critical"
	QueueDefault  = "default"
	QueueLow      = "low"
)

// QueueWeights are the worker's priorities.
var QueueWeights = map[string]int{QueueCritical: 6, QueueDefault: 3, QueueLow: 1}

// QueueNames lists the queues in display order.
var QueueNames = []string{QueueCritical, QueueDefault, QueueLow}

// Backoff is exponential with jitter: attempt n (1-based) waits about
// Base·2^(n-1), capped at Max, spread ±20% so a burst of failures does not
// retry in lock-step. The spread is narrow enough that each wait is still
// longer than the one before it (until the cap).
//
// Due times are kept in whole seconds, so waits under a second or two are
// coarse.
type Backoff struct {
	Base time.Duration
	Max  time.Duration
}

// Delay is the wait after the failed attempt number attempt (1-based);
// rnd returns a value in [0,1).
func (b Backoff) Delay(attempt int, rnd func() float64) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := float64(b.Base)
	for i := 1; i < attempt && d < float64(b.Max); i++ {
		d *= 2
	}
	d = min(d, float64(b.Max))
	return time.Duration(d * (0.8 + 0.4*rnd()))
}

// Options are a job type's delivery rules.
type Options struct {
	// Queue is one of QueueCritical, QueueDefault, QueueLow.
	Queue string
	// MaxAttempts counts every run, the first included; after the last
	// failed one the job is dead (archived) until an operator retries or
	// deletes it.
	MaxAttempts int
	// Timeout bounds one attempt; the handler's context ends then. It is
	// rounded to whole seconds, at least one.
	Timeout time.Duration
	Backoff Backoff
	// Unique, when set, refuses an identical job (same type and payload)
	// while one is pending, scheduled, retrying or running, for at most
	// this long.
	Unique time.Duration
	// Retention keeps a finished job visible (and its ID taken) this long.
	Retention time.Duration
}

// Defaults for fields left zero.
var defaultOptions = Options{
	Queue:       QueueDefault,
	MaxAttempts: 5,
	Timeout:     time.Minute,
	Backoff:     Backoff{Base: 10 * time.Second, Max: 10 * time.Minute},
}

func (o Options) withDefaults() Options {
	if o.Queue == "" {
		o.Queue = defaultOptions.Queue
	}
	if o.MaxAttempts < 1 {
		o.MaxAttempts = defaultOptions.MaxAttempts
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultOptions.Timeout
	}
	// Redis keeps the timeout in whole seconds; a sub-second one would be
	// stored as none at all.
	o.Timeout = max(o.Timeout.Round(time.Second), time.Second)
	if o.Backoff.Base <= 0 {
		o.Backoff.Base = defaultOptions.Backoff.Base
	}
	if o.Backoff.Max < o.Backoff.Base {
		o.Backoff.Max = max(defaultOptions.Backoff.Max, o.Backoff.Base)
	}
	return o
}

// Def is a job type whose payload is P, encoded as JSON.
type Def[P any] struct {
	Name string
	Opts Options
}

// Define declares a job type. Names are dotted, area first
// ("maintenance.purge_expired"), and never change once deployed: queued
// jobs carry them.
func Define[P any](name string, opts Options) Def[P] {
	if _, ok := QueueWeights[opts.withDefaults().Queue]; !ok {
		panic(fmt.Sprintf("jobs: %s uses unknown queue %q", name, opts.Queue))
	}
	return Def[P]{Name: name, Opts: opts.withDefaults()}
}

// EnqueueOption changes one enqueue.
type EnqueueOption func(*enqueueOpts)

type enqueueOpts struct {
	at     time.Time
	id     string
	batch  bool
	revive bool
}

// ReviveDead, with ID, runs the job of that ID again when it is dead
// instead of refusing the enqueue: a sweep that retries work (the rescan of
// pending files) gets one job per ID that still comes back after clamd was
// down for longer than its retries.
func ReviveDead() EnqueueOption { return func(o *enqueueOpts) { o.revive = true } }

// In delays the job by d.
func In(d time.Duration) EnqueueOption {
	return func(o *enqueueOpts) { o.at = time.Now().Add(d) }
}

// At runs the job no earlier than t.
func At(t time.Time) EnqueueOption { return func(o *enqueueOpts) { o.at = t } }

// ID names the job; a second enqueue with an ID still held (pending,
// running, retrying, dead, or finished within Retention) is refused with
// ErrDuplicate. The scheduler uses it to enqueue each tick once.
func ID(id string) EnqueueOption { return func(o *enqueueOpts) { o.id = id } }

// ErrDuplicate is returned when a Unique job or a job ID is already held.
var ErrDuplicate = errors.New("jobs: an identical job is already queued")

// Header names carried by every job, for latency metrics.
const (
	headerEnqueuedAt = "palisade-enqueued-at"
	headerDueAt      = "palisade-due-at"
)

// Enqueue queues one job. The payload is encoded here, so a producer's
// mistake fails in the producer, not in a worker.
func (d Def[P]) Enqueue(ctx context.Context, c *Client, p P, opts ...EnqueueOption) (string, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("jobs: encode %s payload: %w", d.Name, err)
	}
	return c.enqueue(ctx, d.Name, d.Opts, body, opts...)
}

// Client enqueues jobs. It shares the caller's Redis connection pool.
type Client struct {
	c    *asynq.Client
	insp *asynq.Inspector
}

// NewClient enqueues on rdb. Closing the Client leaves rdb open.
func NewClient(rdb redis.UniversalClient) *Client {
	return &Client{c: asynq.NewClientFromRedisClient(rdb), insp: asynq.NewInspectorFromRedisClient(rdb)}
}

// Close releases the client (not the Redis connection).
func (c *Client) Close() error { return c.c.Close() }

func (c *Client) enqueue(ctx context.Context, name string, o Options, body []byte, opts ...EnqueueOption) (string, error) {
	var eo enqueueOpts
	for _, f := range opts {
		f(&eo)
	}
	now := time.Now()
	due := now
	headers := map[string]string{headerEnqueuedAt: strconv.FormatInt(now.UnixMilli(), 10)}
	aopts := asyncOptions(o)
	if !eo.at.IsZero() && eo.at.After(now) {
		aopts = append(aopts, asynq.ProcessAt(eo.at))
		due = eo.at
	}
	headers[headerDueAt] = strconv.FormatInt(due.UnixMilli(), 10)
	if eo.id != "" {
		aopts = append(aopts, asynq.TaskID(eo.id))
	}
	if eo.batch {
		// The batch is named after the job: HandleBatched merges by name.
		aopts = append(aopts, asynq.Group(name))
	}
	info, err := c.c.EnqueueContext(ctx, asynq.NewTaskWithHeaders(name, body, headers), aopts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) && eo.revive {
		if ti, ierr := c.insp.GetTaskInfo(o.Queue, eo.id); ierr == nil && ti.State == asynq.TaskStateArchived {
			if rerr := c.insp.RunTask(o.Queue, eo.id); rerr == nil {
				return eo.id, nil
			}
		}
	}
	switch {
	case errors.Is(err, asynq.ErrDuplicateTask), errors.Is(err, asynq.ErrTaskIDConflict):
		return "", fmt.Errorf("%w (%s)", ErrDuplicate, name)
	case err != nil:
		return "", fmt.Errorf("jobs: enqueue %s: %w", name, err)
	}
	return info.ID, nil
}

func asyncOptions(o Options) []asynq.Option {
	opts := []asynq.Option{
		asynq.Queue(o.Queue),
		asynq.MaxRetry(o.MaxAttempts - 1),
		asynq.Timeout(o.Timeout),
	}
	if o.Unique > 0 {
		opts = append(opts, asynq.Unique(o.Unique))
	}
	if o.Retention > 0 {
		opts = append(opts, asynq.Retention(o.Retention))
	}
	return opts
}

// Permanent marks a handler error that no retry can fix (bad input, a
// missing setting): the job goes straight to dead-letter.
func Permanent(err error) error {
	return fmt.Errorf("%w (%w)", err, asynq.SkipRetry)
}
