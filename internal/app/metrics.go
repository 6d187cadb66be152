package app

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/obs"
	"github.com/palisade-hq/palisade/internal/obs/emf"
	"github.com/palisade-hq/palisade/internal/store"
)

// ScanErrorWindow is how far back palisade_files_scan_errors counts Error
// verdicts: an alarm on it clears an hour after the last one.
const ScanErrorWindow = time.Hour

// WorkerMetrics is the worker's registry: the shared HTTP and process
// metrics, the job metrics, the queue depths (from Redis) and the files
// and audit gauges (from the database) that the CloudWatch alarms read.
// RunWorkerWith uses it, and so does the seam test of the alarms.
func WorkerMetrics(cfg config.Config, st *store.Store, rdb redis.UniversalClient) (*obs.Metrics, *jobs.Metrics) {
	m := obs.NewMetrics()
	jobs.RegisterQueueDepth(m.Registry, rdb)
	m.Registry.MustRegister(&stateCollector{st: st, rescanAfter: cfg.FilesRescanAfter, started: time.Now()})
	return m, jobs.NewMetrics(m.Registry)
}

var (
	pendingOverdueDesc = prometheus.NewDesc("palisade_files_pending_overdue",
		"Files still pending a scan verdict longer than PALISADE_FILES_RESCAN_AFTER, over all tenants.", nil, nil)
	scanErrorsDesc = prometheus.NewDesc("palisade_files_scan_errors",
		"Files whose scan ended in an Error verdict (not Clean, not Infected) in the last hour, over all tenants.", nil, nil)
	auditFailedDesc = prometheus.NewDesc("palisade_audit_verify_failed",
		"1 when the newest audit trail verification found a break, else 0.", nil, nil)
	auditAgeDesc = prometheus.NewDesc("palisade_audit_verify_age_seconds",
		"Seconds since the newest audit trail verification, or since this worker started if none has run.", nil, nil)
)

// stateCollector reads the files and audit state from the database at
// gather time, so every worker replica reports the same truth whichever
// of them ran the sweep or the verification.
type stateCollector struct {
	st          *store.Store
	rescanAfter time.Duration
	started     time.Time
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pendingOverdueDesc
	ch <- scanErrorsDesc
	ch <- auditFailedDesc
	ch <- auditAgeDesc
}

// Collect leaves out what it cannot read: a missing value, not a false 0.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now := time.Now()
	if overdue, errored, err := c.st.ScanMetrics(ctx, now.Add(-c.rescanAfter), now.Add(-ScanErrorWindow)); err == nil {
		ch <- prometheus.MustNewConstMetric(pendingOverdueDesc, prometheus.GaugeValue, float64(overdue))
		ch <- prometheus.MustNewConstMetric(scanErrorsDesc, prometheus.GaugeValue, float64(errored))
	}
	last, err := c.st.LastAuditVerification(ctx)
	switch {
	case core.IsNotFound(err):
		// None yet: overdue counts from this worker's start, so a
		// verification that never runs is an alarm too.
		ch <- prometheus.MustNewConstMetric(auditFailedDesc, prometheus.GaugeValue, 0)
		ch <- prometheus.MustNewConstMetric(auditAgeDesc, prometheus.GaugeValue, now.Sub(c.started).Seconds())
	case err == nil:
		failed := 0.0
		if last.Outcome == store.OutcomeFailure {
			failed = 1
		}
		ch <- prometheus.MustNewConstMetric(auditFailedDesc, prometheus.GaugeValue, failed)
		ch <- prometheus.MustNewConstMetric(auditAgeDesc, prometheus.GaugeValue, now.Sub(last.CreatedAt).Seconds())
	}
}

// NewEMF is the emitter of a role's metrics: EMF lines on stdout with the
// dimensions Service (the role) and Environment (PALISADE_ENV). Nil when
// PALISADE_METRICS_EMF_INTERVAL is 0, and in dev and test, where nobody
// reads them.
func NewEMF(cfg config.Config, role string, g prometheus.Gatherer) *emf.Emitter {
	if cfg.MetricsEMFInterval <= 0 || cfg.Env == config.EnvDev || cfg.Env == config.EnvTest {
		return nil
	}
	return &emf.Emitter{Gatherer: g, Out: os.Stdout, Dimensions: map[string]string{"Service": role, "Environment": cfg.Env}}
}

// withEMF runs serve alongside the role's EMF emitter (if any).
func withEMF(ctx context.Context, cfg config.Config, log *slog.Logger, role string, m *obs.Metrics, serve func(context.Context) error) error {
	e := NewEMF(cfg, role, m.Registry)
	if e == nil {
		return serve(ctx)
	}
	return alongside(ctx, serve, func(ctx context.Context) error {
		if err := e.Run(ctx, cfg.MetricsEMFInterval); err != nil {
			// Metrics are not worth stopping the role for.
			log.Error("emf metrics stopped", "err", err)
		}
		<-ctx.Done()
		return nil
	})
}
