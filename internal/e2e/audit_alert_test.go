package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/maintenance"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestBrowserHQAlertsOnBrokenAuditTrail: the scheduler's daily audit.verify
// job, run on a trail with one edited row, records the break, mails every
// operator, and puts an alarm on every HQ page; an intact trail raises none.
func TestBrowserHQAlertsOnBrokenAuditTrail(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	ctx := context.Background()
	if _, _, err := s.Store.SignUp(ctx, "acme", "Acme", store.NewUser{Email: "ada@acme.test", Name: "Ada", PasswordHash: "x"}, core.AuditEvent{Action: "tenant.signup"}); err != nil {
		t.Fatal(err)
	}
	rdb, err := app.OpenRedis(ctx, s.Config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	reg := jobs.NewRegistry()
	app.RegisterJobs(reg, app.NewJobDeps(s.Config, s.Store, rdb, testenv.Logger(t)))
	verify := func() {
		t.Helper()
		if err := reg.Run(ctx, maintenance.VerifyAuditTrail.Name, []byte(`{}`)); err != nil {
			t.Fatalf("audit.verify job: %v", err)
		}
	}
	alertMails := func() int {
		t.Helper()
		ms, err := s.Store.Outbox(ctx, 50)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range ms {
			if m.To == "ops@palisade.test" && strings.Contains(m.Subject, "audit trail is broken") {
				n++
			}
		}
		return n
	}

	b := browser(t)
	hqLogin(t, b, s, "ops@palisade.test")
	verify()
	step(t, b, "tenants, trail intact", chromedp.Navigate(s.URL("admin.localhost", "/tenants")))
	textOf(t, b, "main")
	if n := step(t, b, "count alerts", chromedp.Evaluate[int]("document.querySelectorAll('.alert').length")); n != 0 {
		t.Fatalf("%d alerts on an intact trail", n)
	}
	if n := alertMails(); n != 0 {
		t.Fatalf("%d alert mails on an intact trail", n)
	}

	var id int64
	if err := s.Store.DB().QueryRowContext(ctx, `SELECT MIN(id) FROM audit_events WHERE tenant_id IS NOT NULL`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.DB().ExecContext(ctx, `UPDATE audit_events SET action = 'tenant.renamed' WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	verify()
	if n := alertMails(); n != 1 {
		t.Fatalf("alert mails to the operator after a break: %d, want 1", n)
	}
	for _, path := range []string{"/tenants", "/health"} {
		step(t, b, "page after the break", chromedp.Navigate(s.URL("admin.localhost", path)))
		if got := textOf(t, b, ".alert"); !strings.Contains(got, "audit trail is broken") {
			t.Fatalf("%s alert: %q", path, got)
		}
	}
	ev, err := s.Store.LastAuditVerification(ctx)
	if err != nil || ev.Outcome != store.OutcomeFailure || ev.ActorType != "system" {
		t.Fatalf("recorded verification: %+v %v", ev, err)
	}
}
