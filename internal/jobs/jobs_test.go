package jobs_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/jobs"
)

type countPayload struct {
	Key string `json:"key"`
}

func TestBackoffGrowsWithJitter(t *testing.T) {
	b := jobs.Backoff{Base: time.Second, Max: time.Minute}
	for _, r := range []float64{0, 0.5, 0.999} {
		prev := time.Duration(0)
		for attempt := 1; attempt <= 6; attempt++ {
			d := b.Delay(attempt, func() float64 { return r })
			exp := time.Second << (attempt - 1)
			if d < exp*8/10 || d > exp*12/10 {
				t.Fatalf("attempt %d, rnd %v: %v outside ±20%% of %v", attempt, r, d, exp)
			}
			if d <= prev {
				t.Fatalf("attempt %d: %v did not grow from %v", attempt, d, prev)
			}
			prev = d
		}
	}
	// Growth holds across jitter draws too: the worst next delay beats the best previous one.
	if lo, hi := b.Delay(2, func() float64 { return 0 }), b.Delay(1, func() float64 { return 0.9999 }); lo <= hi {
		t.Fatalf("jitter lets attempt 2 (%v) wait less than attempt 1 (%v)", lo, hi)
	}
	if d := b.Delay(30, func() float64 { return 0.5 }); d != time.Minute {
		t.Fatalf("cap: %v", d)
	}
}

// TestRetryThenSucceed: a job that fails twice then succeeds runs exactly
// three times, and its back-off grows.
func TestRetryThenSucceed(t *testing.T) {
	h := newHarness(t)
	def := jobs.Define[countPayload]("test.flaky", jobs.Options{MaxAttempts: 5, Backoff: jobs.Backoff{Base: time.Second, Max: time.Minute}})
	var runs atomic.Int32
	var mu sync.Mutex
	var starts []time.Time
	jobs.Handle(h.reg, def, func(ctx context.Context, p countPayload) error {
		mu.Lock()
		starts = append(starts, time.Now())
		mu.Unlock()
		if n := runs.Add(1); n <= 2 {
			return errors.New("flaky dependency said no")
		}
		return nil
	})
	h.startWorker(t)
	id, err := def.Enqueue(context.Background(), h.client, countPayload{Key: "a"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "three runs", func() bool { return h.counter(t, "palisade_jobs_processed_total", "test.flaky") == 1 })
	// Give a stray fourth run every chance to show up.
	time.Sleep(time.Second)
	if n := runs.Load(); n != 3 {
		t.Fatalf("ran %d times, want 3", n)
	}
	if _, err := h.insp.Get(jobs.QueueDefault, id); !core.IsNotFound(err) {
		t.Fatalf("a finished job without retention is gone; got %v", err)
	}
	retries := h.logs.attrs("job failed; retrying")
	if len(retries) != 2 {
		t.Fatalf("%d retry log lines, want 2", len(retries))
	}
	d1, d2 := retries[0]["retry_in"].Duration(), retries[1]["retry_in"].Duration()
	if !(d2 > d1) {
		t.Fatalf("back-off did not grow: %v then %v", d1, d2)
	}
	mu.Lock()
	defer mu.Unlock()
	// The worker honoured the waits it announced, give or take the whole
	// seconds asynq keeps due times in.
	if gap1, gap2 := starts[1].Sub(starts[0]), starts[2].Sub(starts[1]); gap1 < d1-time.Second || gap2 < d2-time.Second {
		t.Fatalf("runs came sooner than the back-off: gaps %v, %v; waits %v, %v", gap1, gap2, d1, d2)
	}
	if got := h.counter(t, "palisade_jobs_failed_total", "test.flaky"); got != 2 {
		t.Fatalf("failed counter %v, want 2", got)
	}
	if got := h.counter(t, "palisade_jobs_retried_total", "test.flaky"); got != 2 {
		t.Fatalf("retried counter %v, want 2", got)
	}
}

// TestDeadLetterAndManualRetry: past its attempts a job is dead with its
// error, a manual retry runs it again, and delete removes it.
func TestDeadLetterAndManualRetry(t *testing.T) {
	h := newHarness(t)
	def := jobs.Define[countPayload]("test.doomed", jobs.Options{Queue: jobs.QueueLow, MaxAttempts: 2, Backoff: jobs.Backoff{Base: 100 * time.Millisecond}})
	var healthy atomic.Bool
	var runs atomic.Int32
	jobs.Handle(h.reg, def, func(ctx context.Context, p countPayload) error {
		runs.Add(1)
		if !healthy.Load() {
			return errors.New("upstream refused " + p.Key)
		}
		return nil
	})
	h.startWorker(t)
	ctx := context.Background()
	id, err := def.Enqueue(ctx, h.client, countPayload{Key: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	id2, err := def.Enqueue(ctx, h.client, countPayload{Key: "k2"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "two dead jobs", func() bool { d, n, _ := h.insp.Dead(ctx, jobs.QueueLow, 1, 10); return n == 2 && len(d) == 2 })
	if n := runs.Load(); n != 4 {
		t.Fatalf("ran %d times, want 2 attempts each", n)
	}
	j, err := h.insp.Get(jobs.QueueLow, id)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != "dead" || j.Attempts != 2 || j.MaxAttempts != 2 || j.LastError != "upstream refused k1" || j.LastFailedAt == nil {
		t.Fatalf("dead job: %+v", j)
	}
	qs, fails, err := h.insp.Overview(ctx, 20)
	if err != nil {
		t.Fatal(err)
	}
	if qs[2].Name != jobs.QueueLow || qs[2].Dead != 2 || qs[2].FailedTotal < 4 || len(fails) != 2 {
		t.Fatalf("overview: %+v %+v", qs, fails)
	}
	if got := h.counter(t, "palisade_jobs_dead_total", "test.doomed"); got != 2 {
		t.Fatalf("dead counter %v", got)
	}

	// Retrying a job that is not dead, or one that does not exist, is refused.
	if _, err := h.insp.RetryDead(ctx, jobs.QueueDefault, id); !core.IsNotFound(err) {
		t.Fatalf("retry in the wrong queue: %v", err)
	}
	if _, err := h.insp.RetryDead(ctx, "nosuch", id); core.KindOf(err) != core.KindInvalid {
		t.Fatalf("unknown queue: %v", err)
	}

	healthy.Store(true)
	if _, err := h.insp.RetryDead(ctx, jobs.QueueLow, id); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the retried job to succeed", func() bool { return h.counter(t, "palisade_jobs_processed_total", "test.doomed") == 1 })
	if _, err := h.insp.Get(jobs.QueueLow, id); !core.IsNotFound(err) {
		t.Fatalf("retried job still there: %v", err)
	}
	if _, err := h.insp.DeleteDead(ctx, jobs.QueueLow, id2); err != nil {
		t.Fatal(err)
	}
	if _, n, _ := h.insp.Dead(ctx, jobs.QueueLow, 1, 10); n != 0 {
		t.Fatalf("%d dead jobs left", n)
	}
	if n := runs.Load(); n != 5 {
		t.Fatalf("ran %d times in all, want 5 (the deleted job never ran again)", n)
	}
}

// TestMalformedJobsGoDead: bad JSON and an unknown type are dead after one
// attempt with an error that says why, and the worker carries on.
func TestMalformedJobsGoDead(t *testing.T) {
	h := newHarness(t)
	def := jobs.Define[countPayload]("test.strict", jobs.Options{MaxAttempts: 10})
	var good atomic.Int32
	jobs.Handle(h.reg, def, func(ctx context.Context, p countPayload) error { good.Add(1); return nil })
	h.startWorker(t)
	raw := asynq.NewClientFromRedisClient(h.rdb)
	defer raw.Close()
	bad, err := raw.Enqueue(asynq.NewTask("test.strict", []byte(`{"key":`)), asynq.MaxRetry(9))
	if err != nil {
		t.Fatal(err)
	}
	unknown, err := raw.Enqueue(asynq.NewTask("test.nobody_handles_this", []byte(`{}`)), asynq.MaxRetry(9))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := def.Enqueue(context.Background(), h.client, countPayload{Key: "fine"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both bad jobs dead", func() bool {
		_, n, _ := h.insp.Dead(context.Background(), jobs.QueueDefault, 1, 10)
		return n == 2
	})
	for id, want := range map[string]string{bad.ID: "malformed test.strict payload", unknown.ID: `unknown job type "test.nobody_handles_this"`} {
		j, err := h.insp.Get(jobs.QueueDefault, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != "dead" || j.Attempts != 1 || !strings.Contains(j.LastError, want) {
			t.Fatalf("job %s: %+v; want dead after 1 attempt with %q", id, j, want)
		}
	}
	eventually(t, "the good job", func() bool { return good.Load() == 1 })
}

// TestUniqueJobs: no duplicate while one is pending; a new one once it ran.
func TestUniqueJobs(t *testing.T) {
	h := newHarness(t)
	def := jobs.Define[countPayload]("test.unique", jobs.Options{Unique: time.Hour})
	ctx := context.Background()
	if _, err := def.Enqueue(ctx, h.client, countPayload{Key: "tenant-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := def.Enqueue(ctx, h.client, countPayload{Key: "tenant-1"}); !errors.Is(err, jobs.ErrDuplicate) {
		t.Fatalf("duplicate enqueue: %v", err)
	}
	if _, err := def.Enqueue(ctx, h.client, countPayload{Key: "tenant-2"}); err != nil {
		t.Fatalf("another payload is another job: %v", err)
	}
	var runs atomic.Int32
	jobs.Handle(h.reg, def, func(ctx context.Context, p countPayload) error { runs.Add(1); return nil })
	h.startWorker(t)
	eventually(t, "both ran", func() bool { return runs.Load() == 2 })
	eventually(t, "re-enqueue after the run", func() bool {
		_, err := def.Enqueue(ctx, h.client, countPayload{Key: "tenant-1"})
		return err == nil
	})
	eventually(t, "third run", func() bool { return runs.Load() == 3 })
}

// TestDelayedJob waits in the scheduled state and never starts early.
func TestDelayedJob(t *testing.T) {
	h := newHarness(t)
	def := jobs.Define[countPayload]("test.later", jobs.Options{})
	started := make(chan time.Time, 1)
	jobs.Handle(h.reg, def, func(ctx context.Context, p countPayload) error { started <- time.Now(); return nil })
	h.startWorker(t)
	due := time.Now().Add(1500 * time.Millisecond)
	id, err := def.Enqueue(context.Background(), h.client, countPayload{}, jobs.At(due))
	if err != nil {
		t.Fatal(err)
	}
	if j, err := h.insp.Get(jobs.QueueDefault, id); err != nil || j.State != "scheduled" || j.NextRunAt == nil {
		t.Fatalf("delayed job: %+v %v", j, err)
	}
	select {
	case at := <-started:
		// asynq keeps due times in whole seconds.
		if at.Before(due.Truncate(time.Second)) {
			t.Fatalf("started at %v, before it was due at %v", at, due)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("delayed job never ran")
	}
}

// TestTimeout ends an attempt that overruns, and retries it.
func TestTimeout(t *testing.T) {
	h := newHarness(t)
	def := jobs.Define[countPayload]("test.slow", jobs.Options{Timeout: time.Second, MaxAttempts: 2, Backoff: jobs.Backoff{Base: 100 * time.Millisecond}})
	var runs atomic.Int32
	jobs.Handle(h.reg, def, func(ctx context.Context, p countPayload) error {
		if runs.Add(1) == 1 {
			<-ctx.Done() // a handler that respects its context
			return ctx.Err()
		}
		return nil
	})
	h.startWorker(t)
	if _, err := def.Enqueue(context.Background(), h.client, countPayload{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the second attempt", func() bool { return h.counter(t, "palisade_jobs_processed_total", "test.slow") == 1 })
	retries := h.logs.attrs("job failed; retrying")
	if len(retries) != 1 || !strings.Contains(retries[0]["err"].String(), "deadline exceeded") {
		t.Fatalf("retry log: %v", retries)
	}
}
