package jobs

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Metrics are the job counters and latencies of one process. A nil
// *Metrics records nothing, so tests and tools need not build one.
type Metrics struct {
	processed, failed, retried, dead *prometheus.CounterVec
	waitSec, runSec                  *prometheus.HistogramVec
	scheduled                        *prometheus.CounterVec
}

var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}

// NewMetrics registers the job metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "palisade_jobs_processed_total", Help: "Job attempts that succeeded, by job type."}, []string{"type"}),
		failed:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "palisade_jobs_failed_total", Help: "Job attempts that failed, by job type."}, []string{"type"}),
		retried:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "palisade_jobs_retried_total", Help: "Failed job attempts scheduled for another try, by job type."}, []string{"type"}),
		dead:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "palisade_jobs_dead_total", Help: "Jobs moved to dead-letter after their last attempt, by job type."}, []string{"type"}),
		waitSec: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "palisade_jobs_wait_seconds", Help: "Time from a job being due (enqueued, or its delay over) to its first attempt starting.",
			Buckets: latencyBuckets}, []string{"type"}),
		runSec: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "palisade_jobs_run_seconds", Help: "Time from an attempt starting to its end.",
			Buckets: latencyBuckets}, []string{"type"}),
		scheduled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "palisade_scheduler_enqueues_total", Help: "Periodic enqueues by this scheduler, by job and outcome (enqueued, duplicate: another scheduler had it, error)."}, []string{"job", "outcome"}),
	}
	reg.MustRegister(m.processed, m.failed, m.retried, m.dead, m.waitSec, m.runSec, m.scheduled)
	return m
}

func (m *Metrics) done(t string) {
	if m != nil {
		m.processed.WithLabelValues(t).Inc()
	}
}

func (m *Metrics) failedAttempt(t string) {
	if m != nil {
		m.failed.WithLabelValues(t).Inc()
	}
}

func (m *Metrics) retry(t string) {
	if m != nil {
		m.retried.WithLabelValues(t).Inc()
	}
}

func (m *Metrics) deadJob(t string) {
	if m != nil {
		m.dead.WithLabelValues(t).Inc()
	}
}

func (m *Metrics) wait(t string, d time.Duration) {
	if m != nil {
		m.waitSec.WithLabelValues(t).Observe(max(d, 0).Seconds())
	}
}

func (m *Metrics) ran(t string, d time.Duration) {
	if m != nil {
		m.runSec.WithLabelValues(t).Observe(d.Seconds())
	}
}

func (m *Metrics) enqueued(job, outcome string) {
	if m != nil {
		m.scheduled.WithLabelValues(job, outcome).Inc()
	}
}

// RegisterQueueDepth exports palisade_jobs_queue_depth{queue,state}, read
// from Redis at scrape time so every replica reports the same truth.
func RegisterQueueDepth(reg prometheus.Registerer, rdb redis.UniversalClient) {
	reg.MustRegister(&depthCollector{insp: asynq.NewInspectorFromRedisClient(rdb)})
}

type depthCollector struct{ insp *asynq.Inspector }

var depthDesc = prometheus.NewDesc("palisade_jobs_queue_depth", "Jobs in a queue by state (pending, scheduled, retry, active, dead).", []string{"queue", "state"}, nil)

func (c *depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- depthDesc }

func (c *depthCollector) Collect(ch chan<- prometheus.Metric) {
	for _, q := range QueueNames {
		st, err := queueStats(context.Background(), c.insp, q)
		if err != nil {
			continue
		}
		for state, n := range map[string]int{"pending": st.Pending, "scheduled": st.Scheduled, "retry": st.Retry, "active": st.Active, "dead": st.Dead} {
			ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(n), q, state)
		}
	}
}
