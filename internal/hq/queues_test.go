package hq_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/jobs/jobstest"
	"github.com/palisade-hq/palisade/internal/testenv"
)

type payload struct {
	To string `json:"to"`
}

// TestQueuesPage: a job past its last attempt shows on HQ's queue page
// with its error, and the page's Retry button runs it again.
func TestQueuesPage(t *testing.T) {
	rdb, redisURL := jobstest.Redis(t)
	s := testenv.NewStack(t, "sqlite", map[string]string{"PALISADE_REDIS_URL": redisURL})
	ctx := context.Background()
	def := jobs.Define[payload]("test.hq_page", jobs.Options{MaxAttempts: 1})
	var healthy atomic.Bool
	reg := jobs.NewRegistry()
	jobs.Handle(reg, def, func(ctx context.Context, p payload) error {
		if !healthy.Load() {
			return errors.New("relay said 554 for " + p.To)
		}
		return nil
	})
	w := jobs.NewWorker(rdb, reg, jobs.WorkerConfig{PollInterval: 100 * time.Millisecond, Log: slog.New(slog.DiscardHandler)})
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { stop(); <-done }()
	c := jobs.NewClient(rdb)
	defer c.Close()
	id, err := def.Enqueue(ctx, c, payload{To: "ada@acme.test"})
	if err != nil {
		t.Fatal(err)
	}
	insp := jobs.NewInspector(rdb)
	waitFor(t, "the job to die", func() bool { j, err := insp.Get(jobs.QueueDefault, id); return err == nil && j.State == "dead" })

	client := s.Client()
	if res := do(t, client, "GET", s.URL("admin.localhost", "/queues"), nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("queues without a session: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if _, err := app.CreateOperator(ctx, s.Store, auth.Hasher{P: auth.FastParams}, "ops@palisade.test", "Ops", "operator passphrase 1"); err != nil {
		t.Fatal(err)
	}
	if res := do(t, client, "POST", s.URL("admin.localhost", "/login"), url.Values{"email": {"ops@palisade.test"}, "password": {"operator passphrase 1"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", res.StatusCode)
	}
	s.EnrolOperator(t, client) // operators must set up a second factor first
	page := body(t, do(t, client, "GET", s.URL("admin.localhost", "/queues"), nil))
	for _, want := range []string{`id="job-` + id + `"`, "relay said 554 for ada@acme.test", "test.hq_page", `action="/queues/default/dead/` + id + `/retry"`, `href="/queues"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("queues page lacks %q:\n%s", want, page)
		}
	}

	healthy.Store(true)
	res := do(t, client, "POST", s.URL("admin.localhost", "/queues/default/dead/"+id+"/retry"), url.Values{})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/queues?done=retried" {
		t.Fatalf("retry: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	waitFor(t, "the retried job to finish", func() bool { _, err := insp.Get(jobs.QueueDefault, id); return core.IsNotFound(err) })
	page = body(t, do(t, client, "GET", s.URL("admin.localhost", "/queues?done=retried"), nil))
	if !strings.Contains(page, "back on its queue") || strings.Contains(page, `id="job-`+id+`"`) {
		t.Fatalf("after retry:\n%s", page)
	}
	// A job that is gone cannot be deleted: the API's 404 reaches the operator.
	p := wantStatus(t, do(t, client, "POST", s.URL("admin.localhost", "/queues/default/dead/"+id+"/delete"), url.Values{}), http.StatusOK, "delete asks first")
	if !strings.Contains(p, `id="confirm-question"`) || !strings.Contains(p, "Retry keeps them") {
		t.Fatalf("delete confirmation page:\n%s", p)
	}
	if res := do(t, client, "POST", s.URL("admin.localhost", "/queues/default/dead/"+id+"/delete"), url.Values{"confirmed": {"yes"}}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("delete a finished job: %d", res.StatusCode)
	}
	// Tenant hosts have no queue page.
	if res := do(t, client, "GET", s.URL("acme.localhost", "/queues"), nil); res.StatusCode == http.StatusOK {
		t.Fatalf("tenant host served /queues")
	}
}

func do(t *testing.T, c *http.Client, method, u string, form url.Values) *http.Response {
	t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	b, _ := io.ReadAll(res.Body)
	return string(b)
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
