package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"
	"github.com/pquerna/otp/totp"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/obs"
	"github.com/palisade-hq/palisade/internal/offboarding"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// hqLogin logs an operator into HQ in ctx's browser and enrols the
// mandatory second factor, ending on /tenants.
func hqLogin(t *testing.T, ctx context.Context, s *testenv.Stack, email string) {
	t.Helper()
	if _, err := app.CreateOperator(context.Background(), s.Store, hasher(), email, "Op "+email, pw); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "hq login page", chromedp.Navigate(s.URL("admin.localhost", "/login")))
	fill(t, ctx, map[string]string{"#email": email, "#password": pw})
	clickTo(t, ctx, "#login-submit", "/mfa/setup")
	code, err := totp.GenerateCode(textOf(t, ctx, "#totp-secret"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	fill(t, ctx, map[string]string{"#code": code})
	clickTo(t, ctx, "#mfa-submit", "/mfa/setup")
	clickTo(t, ctx, "#mfa-continue", "/tenants")
}

// postTo submits a form to action as a browser would without any button
// on the page, and waits for the answer page at path.
func postTo(t *testing.T, ctx context.Context, action, path string) {
	t.Helper()
	step(t, ctx, "mark page", chromedp.Evaluate[bool]("window.__old = true"))
	js := fmt.Sprintf(`(() => { const f = document.createElement('form'); f.method = 'post'; f.action = %q; document.body.appendChild(f); f.submit(); return true })()`, action)
	step(t, ctx, "post "+action, chromedp.Evaluate[bool](js))
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if fresh, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("window.__old !== true && document.readyState === 'complete'")); err == nil && fresh {
			if loc := step(t, ctx, "location", chromedp.Location()); !strings.HasSuffix(strings.SplitN(loc, "?", 2)[0], path) {
				t.Fatalf("post %s: landed on %s, want %s", action, loc, path)
			}
			return
		}
	}
	t.Fatalf("post %s: no answer page", action)
}

func TestBrowserHQFourEyesDeletion(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", map[string]string{"PALISADE_HQ_DELETION_GRACE": "1s"})
	bg := context.Background()
	hash, err := hasher().Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	tn, _, err := s.Store.SignUp(bg, "acme", "Acme Ltd", newUser("ada@acme.test", hash), core.AuditEvent{Action: "tenant.signup"})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := s.Store.SignUp(bg, "bolt", "Bolt Ltd", newUser("bo@bolt.test", hash), core.AuditEvent{Action: "tenant.signup"})
	if err != nil {
		t.Fatal(err)
	}
	page := fmt.Sprintf("/tenants/%d", tn.ID)
	ctx := browser(t)

	// The first operator asks, typing the slug to confirm.
	hqLogin(t, ctx, s, "first@palisade.test")
	step(t, ctx, "tenant page", chromedp.Navigate(s.URL("admin.localhost", page)))
	fill(t, ctx, map[string]string{"#del-reason": "Contract ended", "#del-confirm": "acme-wrong"})
	clickTo(t, ctx, "#request-deletion", page+"/deletion")
	if got := textOf(t, ctx, "#del-confirm-error"); !strings.Contains(got, "Type the tenant's slug") {
		t.Fatalf("wrong confirmation accepted: %q", got)
	}
	if v := step(t, ctx, "kept reason", chromedp.Evaluate[string]("document.getElementById('del-reason').value")); v != "Contract ended" {
		t.Fatalf("the reason typed was not kept: %q", v)
	}
	step(t, ctx, "tenant page", chromedp.Navigate(s.URL("admin.localhost", page)))
	fill(t, ctx, map[string]string{"#del-reason": "Contract ended", "#del-confirm": "acme"})
	clickTo(t, ctx, "#request-deletion", page)
	if got := textOf(t, ctx, "#deletion-state"); !strings.Contains(got, "pending") {
		t.Fatalf("deletion state: %q", got)
	}
	// No approve button for the requester, and posting the form anyway is refused.
	if n := step(t, ctx, "approve buttons", chromedp.Evaluate[int]("document.querySelectorAll('#approve-deletion').length")); n != 0 {
		t.Fatal("the requester is offered to approve their own request")
	}
	postTo(t, ctx, page+"/deletion/approve", page+"/deletion/approve")
	if got := textOf(t, ctx, "#error"); !strings.Contains(got, "second operator") {
		t.Fatalf("self-approval: %q", got)
	}
	clickTo(t, ctx, "#logout", "/login")

	// A second operator approves.
	hqLogin(t, ctx, s, "second@palisade.test")
	step(t, ctx, "tenant page", chromedp.Navigate(s.URL("admin.localhost", page)))
	clickTo(t, ctx, "#approve-deletion", page)
	if got := textOf(t, ctx, "#deletion-state"); !strings.Contains(got, "approved") {
		t.Fatalf("after approval: %q", got)
	}

	// After the grace period the worker's job deletes the rows.
	reg := jobs.NewRegistry()
	offboarding.Register(reg, offboarding.Deps{Store: s.Store})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if err := reg.Run(bg, offboarding.DeleteDueTenants.Name, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Store.TenantByID(bg, tn.ID); core.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("tenant not deleted after its grace period")
		}
	}
	if _, err := s.Store.UserByEmail(bg, "ada@acme.test"); !core.IsNotFound(err) {
		t.Fatalf("acme's owner still exists: %v", err)
	}
	if _, err := s.Store.TenantByID(bg, other.ID); err != nil {
		t.Fatalf("another tenant went too: %v", err)
	}
	rep, err := s.Store.VerifyAuditChains(bg)
	if err != nil || !rep.OK() {
		t.Fatalf("audit chains after the deletion: %v %v", rep, err)
	}
	evs, err := s.Store.Tenant(tn.ID).AuditEvents(bg, 0, 1)
	if err != nil || len(evs) != 1 || evs[0].Action != "tenant.deleted" {
		t.Fatalf("the deleted tenant's last audit event: %+v %v", evs, err)
	}
	step(t, ctx, "tenant page after deletion", chromedp.Navigate(s.URL("admin.localhost", page)))
	if got := textOf(t, ctx, "main"); !strings.Contains(got, "not found") && !strings.Contains(got, "Not found") {
		t.Fatalf("deleted tenant's page: %q", got)
	}
}

func TestBrowserHQBreakGlassInOwnersTrail(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	bg := context.Background()
	hash, err := hasher().Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	tn, _, err := s.Store.SignUp(bg, "acme", "Acme Ltd", newUser("ada@acme.test", hash), core.AuditEvent{Action: "tenant.signup"})
	if err != nil {
		t.Fatal(err)
	}
	page := fmt.Sprintf("/tenants/%d", tn.ID)
	ctx := browser(t)
	hqLogin(t, ctx, s, "ops@palisade.test")
	step(t, ctx, "tenant page", chromedp.Navigate(s.URL("admin.localhost", page)))
	fill(t, ctx, map[string]string{"#bg-reason": "Ticket 4711: invoice will not open"})
	clickTo(t, ctx, "#break-glass", page)
	if got := textOf(t, ctx, "#my-break-glass"); !strings.Contains(got, "Ticket 4711") {
		t.Fatalf("grant on the tenant page: %q", got)
	}
	clickTo(t, ctx, "#logout", "/login")

	// The owner sees it in their own audit trail.
	step(t, ctx, "owner login", chromedp.Navigate(s.URL("acme.localhost", "/login")))
	fill(t, ctx, map[string]string{"#email": "ada@acme.test", "#password": pw})
	clickTo(t, ctx, "#login-submit", "/")
	step(t, ctx, "owner audit", chromedp.Navigate(s.URL("acme.localhost", "/audit")))
	got := textOf(t, ctx, "#audit")
	if !strings.Contains(got, "Palisade HQ support access opened") || !strings.Contains(got, "(Palisade HQ)") {
		t.Fatalf("owner's audit trail lacks the break-glass request: %q", got)
	}
}

func TestBrowserHQHealthShowsRoleDown(t *testing.T) {
	// A worker's health endpoint, real httpx.Health, that we can stop.
	h := &httpx.Health{}
	mux := http.NewServeMux()
	h.Register(mux)
	worker := httptest.NewServer(mux)
	t.Cleanup(worker.Close)
	// A realtime replica's /metrics; its server is built once the stack's
	// configuration exists.
	var metrics atomic.Pointer[http.Handler]
	rtMetrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := metrics.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		http.Error(w, "starting", http.StatusServiceUnavailable)
	}))
	t.Cleanup(rtMetrics.Close)
	s := testenv.NewStack(t, "sqlite", map[string]string{
		"PALISADE_HEALTH_TARGETS":          "worker=" + worker.URL + "/readyz",
		"PALISADE_HEALTH_REALTIME_METRICS": rtMetrics.URL + "/metrics",
	})
	rdb, err := app.OpenRedis(context.Background(), s.Config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	m := obs.NewMetrics()
	rt, err := app.NewRealtime(s.Config, rdb, testenv.Logger(t), m.Registry, nil)
	if err != nil {
		t.Fatal(err)
	}
	rtSrv := httptest.NewServer(app.RealtimeHandler(rt, &httpx.Health{}))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rt.Shutdown(sctx)
		rtSrv.Close()
	})
	mh := m.Handler()
	metrics.Store(&mh)
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(rtSrv.URL, "http")+"/app/"+s.Config.RealtimeAppKey+"?protocol=7", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	if _, msg, err := ws.ReadMessage(); err != nil || !strings.Contains(string(msg), "pusher:connection_established") {
		t.Fatalf("realtime handshake: %s %v", msg, err)
	}

	ctx := browser(t)
	hqLogin(t, ctx, s, "ops@palisade.test")
	step(t, ctx, "health", chromedp.Navigate(s.URL("admin.localhost", "/health")))
	if got := textOf(t, ctx, `tr[data-role="worker"]`); !strings.Contains(got, "ready") {
		t.Fatalf("worker while up: %q", got)
	}
	if got := textOf(t, ctx, "#realtime-connections"); got != "1 open connections" {
		t.Fatalf("realtime connections: %q", got)
	}
	worker.Close()
	step(t, ctx, "health again", chromedp.Navigate(s.URL("admin.localhost", "/health")))
	got := textOf(t, ctx, `tr[data-role="worker"]`)
	if !strings.Contains(got, "down") {
		t.Fatalf("worker after it stopped: %q", got)
	}
	if hb := textOf(t, ctx, `tr[data-role="scheduler-heartbeat"]`); !strings.Contains(hb, "stale") {
		t.Fatalf("no scheduler ran, yet the heartbeat is: %q", hb)
	}
}

// TestBrowserHQHealthShowsClamdDown: the health page reports a real clamd as
// reachable, and as unreachable once it is stopped.
func TestBrowserHQHealthShowsClamdDown(t *testing.T) {
	addr, _, stop := testenv.PrivateClamd(t, "10M")
	s := testenv.NewStack(t, "sqlite", map[string]string{"PALISADE_CLAMD_ADDR": addr})
	ctx := browser(t)
	hqLogin(t, ctx, s, "ops@palisade.test")
	step(t, ctx, "health", chromedp.Navigate(s.URL("admin.localhost", "/health")))
	if got := textOf(t, ctx, "#scanner"); !strings.Contains(got, "reachable") || strings.Contains(got, "unreachable") || !strings.Contains(got, "ClamAV") || strings.Contains(got, "2562047h") {
		t.Fatalf("scanner while clamd is up: %q", got)
	}
	stop()
	step(t, ctx, "health again", chromedp.Navigate(s.URL("admin.localhost", "/health")))
	if got := textOf(t, ctx, "#scanner"); !strings.Contains(got, "unreachable") {
		t.Fatalf("scanner after clamd stopped: %q", got)
	}
}
