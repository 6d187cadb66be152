package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/files"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/mail"
	"github.com/palisade-hq/palisade/internal/netguard"
	"github.com/palisade-hq/palisade/internal/obs"
	"github.com/palisade-hq/palisade/internal/outbox"
	"github.com/palisade-hq/palisade/internal/store"
)

// JobDeps are the job handlers' dependencies from the configuration.
func JobDeps(cfg config.Config, st *store.Store, rdb redis.UniversalClient, log *slog.Logger) jobs.Deps {
	var (
		fileJobs   jobs.FileJobs
		tenantData jobs.TenantDataDeleter
	)
	if svc, err := NewFiles(context.Background(), cfg, st, rdb, log); err != nil {
		log.Error("files jobs disabled", "err", err)
	} else if svc != nil {
		fileJobs, tenantData = files.Jobs{S: svc}, svc
	}
	return jobs.Deps{
		Files:       fileJobs,
		TenantData:  tenantData,
		Store:       st,
		Redis:       rdb,
		RedisPrefix: cfg.RedisPrefix,
		Log:         log,
		// Webhook receivers are tenants' servers: the guarded client refuses
		// private, loopback and metadata addresses at connect time.
		HTTP:             OutboundGuard(cfg).Client(10 * time.Second),
		Webhook:          jobs.WebhookTarget{URL: cfg.RealtimeWebhookURL, Key: cfg.RealtimeAppKey, Secret: cfg.RealtimeAppSecret},
		VerifyAuditTrail: verifyAuditTrail(st, filesMailer(cfg, st, log), log),
	}
}

// OutboundGuard checks every address the platform connects to on a
// tenant's behalf; PALISADE_OUTBOUND_ALLOW exempts ranges (dev and tests).
func OutboundGuard(cfg config.Config) *netguard.Guard {
	allow, _ := config.ParseCIDRs(cfg.OutboundAllow) // validated at load
	return &netguard.Guard{Allow: allow}
}

// verifyAuditTrail is the scheduler's daily check of every audit chain. The
// outcome goes on the platform chain, where HQ shows it on every page; a
// break also mails every active operator. A break is not retried: verifying
// again finds the same break, so the job succeeds once it has raised the
// alarm, and only a failure to verify or to record is an error.
func verifyAuditTrail(st *store.Store, mailer mail.Mailer, log *slog.Logger) func(context.Context) error {
	if st == nil {
		return nil
	}
	return func(ctx context.Context) error {
		rep, err := st.VerifyAuditChains(ctx)
		if err != nil {
			return err
		}
		if err := st.RecordAuditVerification(ctx, rep, "system"); err != nil {
			return err
		}
		if rep.OK() {
			return nil
		}
		log.ErrorContext(ctx, "audit trail broken", "breaks", len(rep.Breaks), "chains", rep.Chains, "report", rep.String())
		return alertOperators(ctx, st, mailer, log, "Palisade: the audit trail is broken",
			"The daily verification of the audit trail found "+rep.String()+"\n\n"+
				"Audit rows are never changed by the application, so this means the database was edited outside it. "+
				"Treat it as a security incident: run `palisade audit verify` for the full report and see docs/operations.md.")
	}
}

// alertOperators mails every active operator. Mail is best effort (the
// alarm is already recorded where HQ shows it), so a failed send is logged
// and the rest are still tried.
func alertOperators(ctx context.Context, st *store.Store, mailer mail.Mailer, log *slog.Logger, subject, body string) error {
	if mailer == nil {
		log.ErrorContext(ctx, "no mailer configured: operators not mailed", "subject", subject)
		return nil
	}
	ops, err := st.Operators(ctx)
	if err != nil {
		return err
	}
	for _, o := range ops {
		if o.Status != store.OperatorActive {
			continue
		}
		if err := mailer.Send(ctx, core.Mail{To: o.Email, Subject: subject, Body: body}); err != nil {
			log.ErrorContext(ctx, "alert mail failed", "operator", o.ID, "err", err)
		}
	}
	return nil
}

// WorkerOptions are what tests add to a worker.
type WorkerOptions struct {
	// Register adds jobs beyond Palisade's own.
	Register func(*jobs.Registry)
}

// NewWorker builds a worker with every job registered.
func NewWorker(cfg config.Config, st *store.Store, rdb redis.UniversalClient, log *slog.Logger, jm *jobs.Metrics, opt WorkerOptions) *jobs.Worker {
	reg := jobs.NewRegistry()
	jobs.Register(reg, JobDeps(cfg, st, rdb, log))
	outbox.Register(reg, OutboxDeliverer(cfg, st, rdb, log))
	if opt.Register != nil {
		opt.Register(reg)
	}
	return jobs.NewWorker(rdb, reg, jobs.WorkerConfig{
		Concurrency: cfg.WorkerConcurrency,
		Drain:       cfg.WorkerDrainTimeout,
		Log:         log,
		Metrics:     jm,
	})
}

// RunWorker runs jobs until ctx ends, then drains within
// PALISADE_WORKER_DRAIN_TIMEOUT and returns nil.
func RunWorker(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	return RunWorkerWith(ctx, cfg, log, WorkerOptions{})
}

// RunWorkerWith is RunWorker with test jobs added.
func RunWorkerWith(ctx context.Context, cfg config.Config, log *slog.Logger, opt WorkerOptions) error {
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	rdb, err := OpenRedis(ctx, cfg)
	if err != nil {
		return err
	}
	defer rdb.Close()
	m, jm := WorkerMetrics(cfg, st, rdb)
	health := &httpx.Health{}
	health.Check("database", st.Ping)
	health.Check("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
	w := NewWorker(cfg, st, rdb, log, jm, opt)
	return withEMF(ctx, cfg, log, "worker", m, func(ctx context.Context) error {
		return alongside(ctx, w.Run, func(ctx context.Context) error {
			return httpx.ServeAll(ctx, log, health, cfg.ShutdownTimeout, MetricsServer(m, health, cfg.MetricsAddr))
		})
	})
}

// NewScheduler builds the scheduler over jobs.Schedule and outbox.Schedule.
func NewScheduler(cfg config.Config, rdb redis.UniversalClient, log *slog.Logger, jm *jobs.Metrics) (*jobs.Scheduler, *jobs.Client, error) {
	c := jobs.NewClient(rdb)
	s, err := jobs.NewScheduler(c, append(jobs.Schedule(), outbox.Schedule()...), jobs.SchedulerConfig{Every: cfg.SchedulerEvery, Log: log, Metrics: jm})
	if err != nil {
		_ = c.Close() // the scheduler's error is the one worth reporting
		return nil, nil, err
	}
	return s, c, nil
}

// RunScheduler enqueues periodic jobs until ctx ends. Its /readyz also
// reports when the heartbeat job last ran, and fails when it is overdue:
// then jobs are not flowing, whatever the worker's own health says.
func RunScheduler(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	rdb, err := OpenRedis(ctx, cfg)
	if err != nil {
		return err
	}
	defer rdb.Close()
	m := obs.NewMetrics()
	s, c, err := NewScheduler(cfg, rdb, log, jobs.NewMetrics(m.Registry))
	if err != nil {
		return err
	}
	defer c.Close()
	health := &httpx.Health{}
	health.Check("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
	hb := heartbeatCheck{rdb: rdb, prefix: cfg.RedisPrefix, sched: s, started: time.Now()}
	health.Check("heartbeat", hb.check)
	srv := httpx.Server{Name: "metrics", Addr: cfg.MetricsAddr, Handler: schedulerMux(m, health, hb)}
	return withEMF(ctx, cfg, log, "scheduler", m, func(ctx context.Context) error {
		return alongside(ctx, s.Run, func(ctx context.Context) error {
			return httpx.ServeAll(ctx, log, health, cfg.ShutdownTimeout, srv)
		})
	})
}

// StartJobs runs a worker and the scheduler in this process (dev). The
// returned function waits for both to drain after ctx ends.
func StartJobs(ctx context.Context, cfg config.Config, st *store.Store, rdb redis.UniversalClient, log *slog.Logger, m *obs.Metrics) (wait func(), err error) {
	jm := jobs.NewMetrics(m.Registry)
	jobs.RegisterQueueDepth(m.Registry, rdb)
	w := NewWorker(cfg, st, rdb, log.With("server", "worker"), jm, WorkerOptions{})
	s, c, err := NewScheduler(cfg, rdb, log.With("server", "scheduler"), jm)
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	for _, run := range []func(context.Context) error{w.Run, s.Run} {
		wg.Go(func() {
			if err := run(ctx); err != nil {
				log.Error("jobs stopped", "err", err)
			}
		})
	}
	return func() { wg.Wait(); _ = c.Close() }, nil // at shutdown there is nobody left to tell
}

// alongside runs two parts of a role; when either ends, the other is
// stopped, and the first error wins.
func alongside(ctx context.Context, a, b func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	for _, fn := range []func(context.Context) error{a, b} {
		go func() {
			err := fn(ctx)
			cancel()
			errs <- err
		}()
	}
	err1, err2 := <-errs, <-errs
	if err1 != nil {
		return err1
	}
	return err2
}

type heartbeatCheck struct {
	rdb     redis.UniversalClient
	prefix  string
	sched   *jobs.Scheduler
	started time.Time
}

// overdue is three heartbeat intervals: one missed tick is noise, three
// mean nothing runs jobs.
func (h heartbeatCheck) overdue() time.Duration {
	return 3 * h.sched.Interval(jobs.Heartbeat.Name, time.Now())
}

func (h heartbeatCheck) check(ctx context.Context) error {
	last, err := jobs.LastHeartbeat(ctx, h.rdb, h.prefix)
	if err != nil {
		return err
	}
	limit := h.overdue()
	if time.Since(h.started) < limit {
		return nil // too early to expect one
	}
	if last.IsZero() {
		return fmt.Errorf("no heartbeat job has run in %s since start; are workers running?", time.Since(h.started).Round(time.Second))
	}
	if age := time.Since(last); age > limit {
		return fmt.Errorf("last heartbeat ran %s ago (at %s); are workers running?", age.Round(time.Second), last.UTC().Format(time.RFC3339))
	}
	return nil
}

// schedulerMux is the metrics port of the scheduler: /readyz carries the
// heartbeat's last run beside the usual checks.
func schedulerMux(m *obs.Metrics, health *httpx.Health, hb heartbeatCheck) http.Handler {
	inner := http.NewServeMux()
	health.Register(inner)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.Handle("GET /healthz", inner)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		rec := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
		inner.ServeHTTP(rec, r)
		var body map[string]any
		if err := json.Unmarshal(rec.buf.Bytes(), &body); err != nil {
			body = map[string]any{"ready": false}
		}
		info := map[string]any{"last_run": nil, "overdue_after_seconds": hb.overdue().Seconds()}
		if last, err := jobs.LastHeartbeat(r.Context(), hb.rdb, hb.prefix); err == nil && !last.IsZero() {
			info["last_run"] = last.UTC().Format(time.RFC3339Nano)
			info["age_seconds"] = time.Since(last).Seconds()
		}
		body["heartbeat"] = info
		httpx.WriteJSON(w, rec.status, body)
	})
	return mux
}

type bufferedResponse struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.buf.Write(p) }
func (b *bufferedResponse) WriteHeader(code int)        { b.status = code }
