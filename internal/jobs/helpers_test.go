package jobs_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/jobs/jobstest"
)

// logSink keeps every log record so tests can read what operators would.
type logSink struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (l *logSink) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}
func (l *logSink) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logSink) WithGroup(string) slog.Handler      { return l }

// attrs returns the attributes of records with message msg.
func (l *logSink) attrs(msg string) []map[string]slog.Value {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]slog.Value
	for _, r := range l.recs {
		if r.Message != msg {
			continue
		}
		m := map[string]slog.Value{}
		r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value; return true })
		out = append(out, m)
	}
	return out
}

type harness struct {
	rdb     *redis.Client
	url     string
	client  *jobs.Client
	insp    *jobs.Inspector
	reg     *jobs.Registry
	logs    *logSink
	metrics *jobs.Metrics
	promReg *prometheus.Registry
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	rdb, url := jobstest.Redis(t)
	c := jobs.NewClient(rdb)
	t.Cleanup(func() { c.Close() })
	reg := prometheus.NewRegistry()
	return &harness{rdb: rdb, url: url, client: c, insp: jobs.NewInspector(rdb), reg: jobs.NewRegistry(), logs: &logSink{}, metrics: jobs.NewMetrics(reg), promReg: reg}
}

// startWorker runs a worker until the test ends.
func (h *harness) startWorker(t *testing.T) {
	t.Helper()
	w := jobs.NewWorker(h.rdb, h.reg, jobs.WorkerConfig{Concurrency: 4, Drain: 5 * time.Second, PollInterval: 100 * time.Millisecond, Log: slog.New(h.logs), Metrics: h.metrics})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
}

// eventually polls cond until it holds, failing after a generous bound
// that only a hung test reaches.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// counter reads a counter of the harness's registry.
func (h *harness) counter(t *testing.T, name, jobType string) float64 {
	t.Helper()
	mfs, err := h.promReg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "type" && l.GetValue() == jobType {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
