package app_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/outbox"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestWorkerDeliversTheOutbox: the worker role has the outbox job wired
// with a mailer, and the scheduler sweeps every minute. A mail left
// pending (its request's nudge failed) reaches the dev mailer when the
// worker runs outbox.deliver.
func TestWorkerDeliversTheOutbox(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t, "sqlite")
	rdb, prefix, url := testenv.Redis(t)
	env := map[string]string{"PALISADE_ENV": "test", "PALISADE_BASE_URL": "http://localhost:3000", "PALISADE_MAIL_DRIVER": "outbox",
		"PALISADE_REDIS_URL": url, "PALISADE_REDIS_PREFIX": prefix}
	cfg, err := config.Load(ctx, func(k string) string { return env[k] }, nil, nil)
	if err != nil {
		t.Fatal(err)
	}

	s, c, err := app.NewScheduler(cfg, rdb, testenv.Logger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := s.Interval(outbox.DeliverDue.Name, time.Now()); got != time.Minute {
		t.Fatalf("outbox sweep every %v, want a minute", got)
	}

	fx := outbox.With(st.Now, outbox.Mail(core.Mail{To: "ops@palisade.test", Subject: "left pending", Body: "b"}))
	if err := st.InTx(ctx, func(tx *sql.Tx) error { return fx.Write(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	w := app.NewWorker(cfg, st, rdb, testenv.Logger(t), nil, app.WorkerOptions{})
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { stop(); <-done }()
	if _, err := outbox.DeliverDue.Enqueue(ctx, c, jobs.Empty{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ms, err := st.Outbox(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 1 && ms[0].Subject == "left pending" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not deliver the pending mail: dev outbox holds %+v", ms)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
