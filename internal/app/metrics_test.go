package app_test

import (
	"bufio"
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/obs/emf"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestWorkerEMF: the worker's own registry, over a real database and
// Redis, writes the values the alarms read: files pending past the rescan
// threshold, Error verdicts, the audit verification's outcome, and the
// queue depths.
func TestWorkerEMF(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t, "sqlite")
	rdb, _, _ := testenv.Redis(t)
	cfg := config.Config{FilesRescanAfter: time.Minute, MetricsEMFInterval: time.Minute, Env: "production"}

	ev := core.AuditEvent{Action: "test", ActorType: "system"}
	tn, err := st.CreateTenant(ctx, "acme", "Acme", ev)
	if err != nil {
		t.Fatal(err)
	}
	ts := st.Tenant(tn.ID)
	for i, key := range []string{"files/old", "files/err", "files/new"} {
		if i < 2 {
			st.Now = func() time.Time { return time.Now().Add(-10 * time.Minute) }
		} else {
			st.Now = time.Now
		}
		f, err := ts.CreateFile(ctx, store.File{UploaderID: 1, Name: "a.txt", ContentType: "text/plain", Size: 3, Bucket: "bk"}, func(int64) string { return key }, ev)
		if err != nil {
			t.Fatal(err)
		}
		if key == "files/err" {
			st.Now = time.Now
			if _, _, err := ts.RecordScan(ctx, f.ID, "v1", store.FileError, "", ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	st.Now = time.Now
	if err := st.RecordAuditVerification(ctx, store.AuditReport{Chains: 1, Breaks: []store.AuditBreak{{}}}, "system"); err != nil {
		t.Fatal(err)
	}

	m, _ := app.WorkerMetrics(cfg, st, rdb)
	e := app.NewEMF(cfg, "worker", m.Registry)
	var out bytes.Buffer
	e.Out = &out
	if err := e.Emit(); err != nil {
		t.Fatal(err)
	}
	got := map[string]emf.Datum{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		ds, err := emf.Parse(sc.Bytes())
		if err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		for _, d := range ds {
			got[d.Name] = d
		}
	}
	for name, want := range map[string]float64{"FilesPendingOverdue": 1, "FileScanErrors": 1, "AuditVerifyFailed": 1} {
		if d, ok := got[name]; !ok || d.Value != want || d.Dimensions["Service"] != "worker" || d.Dimensions["Environment"] != "production" {
			t.Errorf("%s = %+v (written %v), want %v for Service=worker, Environment=production", name, d, ok, want)
		}
	}
	for _, name := range []string{"JobsPending", "JobsDead", "AuditVerifyAge"} {
		if _, ok := got[name]; !ok {
			t.Errorf("%s not written", name)
		}
	}
	if app.NewEMF(config.Config{Env: config.EnvDev, MetricsEMFInterval: time.Minute}, "worker", m.Registry) != nil ||
		app.NewEMF(config.Config{Env: config.EnvTest, MetricsEMFInterval: time.Minute}, "worker", m.Registry) != nil ||
		app.NewEMF(config.Config{Env: "production"}, "worker", m.Registry) != nil {
		t.Error("EMF must be off in dev, in test and when the interval is 0")
	}
}
