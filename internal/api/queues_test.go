package api_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers/legacy"

	apispec "github.com/palisade-hq/palisade/api"
	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/jobs/jobstest"
	"github.com/palisade-hq/palisade/internal/obs"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// newJobsStack is newStack on a Redis database of the test's own, since
// the job queues (asynq) cannot be confined to a key prefix.
func newJobsStack(t *testing.T, driver string) *stack {
	t.Helper()
	rdb, url := jobstest.Redis(t)
	cfg := testConfig(t, map[string]string{"PALISADE_REDIS_URL": url, "PALISADE_REDIS_PREFIX": "palisade_test:" + testenv.RandomName() + ":"})
	st := testenv.Store(t, driver)
	srv, err := app.NewAPI(cfg, st, rdb, testenv.Logger(t), obs.NewMetrics(), &httpx.Health{}, app.APIOptions{Hasher: auth.Hasher{P: auth.FastParams}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	doc, err := openapi3.NewLoader().LoadFromData(apispec.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: ts.URL}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &stack{t: t, cfg: cfg, st: st, rdb: rdb, srv: ts, router: router}
}

type hqJobPayload struct {
	N int `json:"n"`
}

type queuesBody struct {
	Queues   []jobs.QueueStats `json:"queues"`
	Failures []jobs.Job        `json:"failures"`
}

type deadBody struct {
	Jobs  []jobs.Job `json:"jobs"`
	Total int        `json:"total"`
}

func TestHQQueues(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newJobsStack(t, driver)
		ctx := context.Background()
		def := jobs.Define[hqJobPayload]("test.hq_doomed", jobs.Options{Queue: jobs.QueueLow, MaxAttempts: 1})
		var healthy atomic.Bool
		var ran atomic.Int32
		reg := jobs.NewRegistry()
		jobs.Handle(reg, def, func(ctx context.Context, p hqJobPayload) error {
			ran.Add(1)
			if !healthy.Load() {
				return errors.New("the mail relay refused the message")
			}
			return nil
		})
		w := jobs.NewWorker(s.rdb, reg, jobs.WorkerConfig{Concurrency: 2, PollInterval: 100 * time.Millisecond, Log: slog.New(slog.DiscardHandler)})
		wctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- w.Run(wctx) }()
		defer func() { stop(); <-done }()

		client := jobs.NewClient(s.rdb)
		defer client.Close()
		insp := jobs.NewInspector(s.rdb)
		id1, err := def.Enqueue(ctx, client, hqJobPayload{N: 1})
		if err != nil {
			t.Fatal(err)
		}
		id2, err := def.Enqueue(ctx, client, hqJobPayload{N: 2})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "two dead jobs", func() bool { _, n, _ := insp.Dead(ctx, jobs.QueueLow, 1, 10); return n == 2 })

		// Only operators on the admin host get in.
		want(t, s.browser("admin.localhost:3000").do("GET", "/api/hq/queues", nil), http.StatusUnauthorized)
		owner, _ := s.signUp("acme", "owner@acme.test")
		want(t, owner.do("GET", "/api/hq/queues", nil), http.StatusNotFound)
		want(t, owner.do("POST", "/api/hq/queues/low/dead/"+id1+"/retry", nil), http.StatusNotFound)
		want(t, owner.do("DELETE", "/api/hq/queues/low/dead/"+id1, nil), http.StatusNotFound)
		owner.host = "admin.localhost:3000" // the tenant's cookie on the admin host
		want(t, owner.do("GET", "/api/hq/queues/low/dead", nil), http.StatusUnauthorized)

		op := s.operator("ops@palisade.test")
		var qb queuesBody
		r := op.do("GET", "/api/hq/queues", nil)
		want(t, r, http.StatusOK)
		r.json(t, &qb)
		if len(qb.Queues) != 3 || qb.Queues[2].Name != "low" || qb.Queues[2].Dead != 2 || qb.Queues[2].FailedTotal != 2 || qb.Queues[0].Weight != 6 {
			t.Fatalf("queues: %+v", qb.Queues)
		}
		if len(qb.Failures) != 2 || qb.Failures[0].LastError != "the mail relay refused the message" || qb.Failures[0].State != "dead" {
			t.Fatalf("failures: %+v", qb.Failures)
		}
		var db deadBody
		r = op.do("GET", "/api/hq/queues/low/dead", nil)
		want(t, r, http.StatusOK)
		r.json(t, &db)
		// Both died within the same second, the resolution of asynq's
		// archive, so their order is not asserted.
		if db.Total != 2 || len(db.Jobs) != 2 || db.Jobs[0].ID == db.Jobs[1].ID || (db.Jobs[0].ID != id1 && db.Jobs[0].ID != id2) || (db.Jobs[1].ID != id1 && db.Jobs[1].ID != id2) {
			t.Fatalf("dead jobs: %+v", db)
		}

		// Bad input is refused with a clear 4xx.
		for _, c := range []struct {
			method, path string
			status       int
		}{
			{"GET", "/api/hq/queues/urgent/dead", http.StatusUnprocessableEntity},
			{"GET", "/api/hq/queues/low/dead?page=0", http.StatusUnprocessableEntity},
			{"GET", "/api/hq/queues/low/dead?page=x", http.StatusUnprocessableEntity},
			{"POST", "/api/hq/queues/low/dead/bad%20id/retry", http.StatusUnprocessableEntity},
			{"POST", "/api/hq/queues/urgent/dead/" + id1 + "/retry", http.StatusUnprocessableEntity},
			{"POST", "/api/hq/queues/low/dead/no-such-job/retry", http.StatusNotFound},
			{"POST", "/api/hq/queues/default/dead/" + id1 + "/retry", http.StatusNotFound},
			{"DELETE", "/api/hq/queues/low/dead/no-such-job", http.StatusNotFound},
		} {
			if r := op.do(c.method, c.path, nil); r.status != c.status {
				t.Errorf("%s %s: %d %s; want %d", c.method, c.path, r.status, r.body, c.status)
			}
		}

		// A job that is not dead cannot be retried or deleted from here.
		pendingID, err := jobs.Define[hqJobPayload]("test.nobody", jobs.Options{Queue: jobs.QueueCritical}).Enqueue(ctx, client, hqJobPayload{}, jobs.In(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if r := op.do("POST", "/api/hq/queues/critical/dead/"+pendingID+"/retry", nil); r.status != http.StatusConflict {
			t.Fatalf("retry a scheduled job: %d %s", r.status, r.body)
		}
		want(t, op.do("DELETE", "/api/hq/queues/critical/dead/"+pendingID, nil), http.StatusConflict)

		// Retry: the job runs again and succeeds; delete: it is gone.
		healthy.Store(true)
		var rb struct {
			Job jobs.Job `json:"job"`
		}
		r = op.do("POST", "/api/hq/queues/low/dead/"+id1+"/retry", nil)
		want(t, r, http.StatusOK)
		r.json(t, &rb)
		if rb.Job.ID != id1 || rb.Job.State != "pending" {
			t.Fatalf("retried job: %+v", rb.Job)
		}
		waitFor(t, "the retried job to run", func() bool { _, err := insp.Get(jobs.QueueLow, id1); return core.IsNotFound(err) })
		want(t, op.do("DELETE", "/api/hq/queues/low/dead/"+id2, nil), http.StatusNoContent)
		want(t, op.do("DELETE", "/api/hq/queues/low/dead/"+id2, nil), http.StatusNotFound)
		r = op.do("GET", "/api/hq/queues/low/dead", nil)
		want(t, r, http.StatusOK)
		r.json(t, &db)
		if db.Total != 0 || len(db.Jobs) != 0 {
			t.Fatalf("dead jobs left: %+v", db)
		}
		if n := ran.Load(); n != 3 {
			t.Fatalf("handler ran %d times; want 2 failures and 1 retry", n)
		}

		// Both actions are in the platform audit trail, by the operator.
		evs, err := s.st.AllAuditEvents(ctx, 0, 50)
		if err != nil {
			t.Fatal(err)
		}
		found := map[string]core.AuditEvent{}
		for _, ev := range evs {
			if ev.Action == "hq.job.retried" || ev.Action == "hq.job.deleted" {
				found[ev.Action] = ev
			}
		}
		for action, target := range map[string]string{"hq.job.retried": "job:low/" + id1, "hq.job.deleted": "job:low/" + id2} {
			ev, ok := found[action]
			if !ok {
				t.Fatalf("no %s audit event in %+v", action, evs)
			}
			if ev.ActorType != "operator" || ev.ActorID == nil || ev.TenantID != nil || ev.Target != target || ev.Detail != "test.hq_doomed: the mail relay refused the message" {
				t.Fatalf("%s event: %+v", action, ev)
			}
		}
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
