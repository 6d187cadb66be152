package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/robfig/cron/v3"
)

// Periodic is one row of the schedule: a job enqueued on a cron spec.
type Periodic struct {
	// Name is the job's name; it also names the row.
	Name string
	// Spec is a five-field cron spec in UTC ("*/5 * * * *") or a
	// descriptor ("@hourly").
	Spec    string
	enqueue func(ctx context.Context, c *Client, id string) error
}

// Every makes a schedule row that enqueues d with payload p. A finished
// tick is kept an hour at least, so its ID stays taken for a late second
// scheduler.
func Every[P any](spec string, d Def[P], p P) Periodic {
	d.Opts.Retention = max(d.Opts.Retention, time.Hour)
	return Periodic{Name: d.Name, Spec: spec, enqueue: func(ctx context.Context, c *Client, id string) error {
		_, err := d.Enqueue(ctx, c, p, ID(id))
		return err
	}}
}

type schedule interface{ Next(time.Time) time.Time }

// aligned fires on multiples of d since the Unix epoch, so every scheduler
// process agrees on the ticks whenever it started.
type aligned time.Duration

func (a aligned) Next(t time.Time) time.Time {
	d := time.Duration(a)
	return t.Truncate(d).Add(d)
}

// SchedulerConfig tunes a scheduler.
type SchedulerConfig struct {
	// Every, when set, replaces every row's spec with ticks every Every
	// (tests, and dev where waiting an hour for a purge helps nobody).
	Every   time.Duration
	Log     *slog.Logger
	Metrics *Metrics
}

// Scheduler enqueues the schedule's jobs at their ticks and does nothing
// else; workers run them. Each tick's job has the ID
// "periodic:<name>:<unix tick>", so when two schedulers run by mistake the
// second enqueue of a tick is refused by Redis and the job runs once.
type Scheduler struct {
	client *Client
	rows   []Periodic
	scheds []schedule
	cfg    SchedulerConfig
}

// NewScheduler checks every spec.
func NewScheduler(c *Client, rows []Periodic, cfg SchedulerConfig) (*Scheduler, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Scheduler{client: c, rows: rows, cfg: cfg}
	for _, r := range rows {
		var sc schedule
		if cfg.Every > 0 {
			sc = aligned(cfg.Every)
		} else {
			p, err := cron.ParseStandard(r.Spec)
			if err != nil {
				return nil, fmt.Errorf("jobs: schedule %s: %q: %w", r.Name, r.Spec, err)
			}
			sc = p
		}
		s.scheds = append(s.scheds, sc)
	}
	return s, nil
}

// Interval is the time between two ticks of the named row, after now.
func (s *Scheduler) Interval(name string, now time.Time) time.Duration {
	for i, r := range s.rows {
		if r.Name == name {
			a := s.scheds[i].Next(now.UTC())
			return s.scheds[i].Next(a).Sub(a)
		}
	}
	return 0
}

// Run enqueues until ctx ends. A tick missed while the process was down is
// not caught up: periodic jobs are sweeps, and the next tick does the work.
func (s *Scheduler) Run(ctx context.Context) error {
	next := make([]time.Time, len(s.rows))
	now := time.Now().UTC()
	for i := range s.rows {
		next[i] = s.scheds[i].Next(now)
	}
	s.cfg.Log.Info("scheduler started", "jobs", len(s.rows))
	for {
		soonest := next[0]
		for _, t := range next[1:] {
			if t.Before(soonest) {
				soonest = t
			}
		}
		timer := time.NewTimer(time.Until(soonest))
		select {
		case <-ctx.Done():
			timer.Stop()
			s.cfg.Log.Info("scheduler stopped")
			return nil
		case <-timer.C:
		}
		now := time.Now().UTC()
		for i, r := range s.rows {
			if next[i].After(now) {
				continue
			}
			s.fire(ctx, r, next[i])
			next[i] = s.scheds[i].Next(now)
		}
	}
}

func (s *Scheduler) fire(ctx context.Context, r Periodic, tick time.Time) {
	id := "periodic:" + r.Name + ":" + strconv.FormatInt(tick.Unix(), 10)
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := r.enqueue(ectx, s.client, id)
	switch {
	case err == nil:
		s.cfg.Metrics.enqueued(r.Name, "enqueued")
		s.cfg.Log.Info("periodic job enqueued", "job", r.Name, "job_id", id)
	case errors.Is(err, ErrDuplicate):
		s.cfg.Metrics.enqueued(r.Name, "duplicate")
		s.cfg.Log.Info("periodic job already enqueued by another scheduler", "job", r.Name, "job_id", id)
	default:
		s.cfg.Metrics.enqueued(r.Name, "error")
		s.cfg.Log.Error("periodic job not enqueued", "job", r.Name, "job_id", id, "err", err)
	}
}
