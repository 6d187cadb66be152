package jobs_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/realtime"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// webhookReceiver records signed deliveries and fails the first `fail` of them.
type webhookReceiver struct {
	mu     sync.Mutex
	bodies []realtime.WebhookBody
	fail   atomic.Int32
	srv    *httptest.Server
}

func newReceiver(t *testing.T) *webhookReceiver {
	wr := &webhookReceiver{}
	wr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if !realtime.VerifyWebhook("key", "secret", r.Header, b) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if wr.fail.Add(-1) >= 0 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		var body realtime.WebhookBody
		if err := json.Unmarshal(b, &body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		wr.mu.Lock()
		wr.bodies = append(wr.bodies, body)
		wr.mu.Unlock()
	}))
	t.Cleanup(wr.srv.Close)
	return wr
}

func (wr *webhookReceiver) received() []realtime.WebhookBody {
	wr.mu.Lock()
	defer wr.mu.Unlock()
	return append([]realtime.WebhookBody(nil), wr.bodies...)
}

// TestHandlersIdempotent runs every production handler twice: the second
// run leaves the same state as the first.
func TestHandlersIdempotent(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		h := newHarness(t)
		st := testenv.Store(t, driver)
		ctx := context.Background()
		recv := newReceiver(t)
		verified := 0
		prefix := "palisade_test:" + testenv.RandomName() + ":"
		jobs.Register(h.reg, jobs.Deps{Store: st, Redis: h.rdb, RedisPrefix: prefix, HTTP: recv.srv.Client(),
			Webhook:          jobs.WebhookTarget{URL: recv.srv.URL, Key: "key", Secret: "secret"},
			VerifyAuditTrail: func(context.Context) error { verified++; return nil }})

		// purge: an invitation expired long ago goes, a live one stays, twice over.
		tn, owner, err := st.SignUp(ctx, "acme", "Acme", store.NewUser{Email: "ada@acme.test", Name: "Ada", PasswordHash: "x"}, core.AuditEvent{Action: "tenant.signup"})
		if err != nil {
			t.Fatal(err)
		}
		ts := st.Tenant(tn.ID)
		if _, err := ts.CreateInvitation(ctx, "old@acme.test", core.RoleMember, owner.ID, "old-token", time.Now().Add(-8*24*time.Hour), core.AuditEvent{Action: "invitation.created"}); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.CreateInvitation(ctx, "new@acme.test", core.RoleMember, owner.ID, "new-token", time.Now().Add(time.Hour), core.AuditEvent{Action: "invitation.created"}); err != nil {
			t.Fatal(err)
		}
		for run := 1; run <= 2; run++ {
			if err := h.reg.Run(ctx, jobs.PurgeExpired.Name, []byte(`{}`)); err != nil {
				t.Fatalf("purge run %d: %v", run, err)
			}
			if _, err := ts.InvitationByToken(ctx, "old-token"); !core.IsNotFound(err) {
				t.Fatalf("run %d: expired invitation still there: %v", run, err)
			}
			if _, err := ts.InvitationByToken(ctx, "new-token"); err != nil {
				t.Fatalf("run %d: live invitation purged: %v", run, err)
			}
		}

		// heartbeat: a repeated or late run never moves the time backwards.
		if err := h.reg.Run(ctx, jobs.Heartbeat.Name, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		first, err := jobs.LastHeartbeat(ctx, h.rdb, prefix)
		if err != nil || first.IsZero() {
			t.Fatalf("heartbeat: %v %v", first, err)
		}
		if err := jobs.RecordHeartbeat(ctx, h.rdb, prefix, first.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		if again, _ := jobs.LastHeartbeat(ctx, h.rdb, prefix); !again.Equal(first) {
			t.Fatalf("an older heartbeat moved the time back: %v → %v", first, again)
		}
		if err := h.reg.Run(ctx, jobs.Heartbeat.Name, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		if again, _ := jobs.LastHeartbeat(ctx, h.rdb, prefix); again.Before(first) {
			t.Fatalf("second heartbeat went back: %v → %v", first, again)
		}

		// audit verify: a read-only check, so twice is harmless.
		for range 2 {
			if err := h.reg.Run(ctx, jobs.VerifyAuditTrail.Name, []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
		}
		if verified != 2 {
			t.Fatalf("verify hook ran %d times", verified)
		}

		// webhook: a repeated delivery carries the same events; receivers
		// dedupe on them (Pusher's at-least-once contract).
		batch := []byte(`{"events":[{"name":"channel_occupied","channel":"private-t1.files"}]}`)
		for range 2 {
			if err := h.reg.Run(ctx, jobs.RealtimeWebhook.Name, batch); err != nil {
				t.Fatal(err)
			}
		}
		got := recv.received()
		if len(got) != 2 || len(got[0].Events) != 1 || got[0].Events[0] != got[1].Events[0] {
			t.Fatalf("deliveries: %+v", got)
		}
	})
}

// TestWebhookSinkBatchesAndRetries: events given to the sink arrive as one
// signed batch, after the receiver's first refusal is retried.
func TestWebhookSinkBatchesAndRetries(t *testing.T) {
	h := newHarness(t)
	recv := newReceiver(t)
	recv.fail.Store(1)
	jobs.Register(h.reg, jobs.Deps{Redis: h.rdb, HTTP: recv.srv.Client(), Webhook: jobs.WebhookTarget{URL: recv.srv.URL, Key: "key", Secret: "secret"}})
	h.startWorker(t)
	sink := jobs.WebhookSink{Client: h.client}
	var sent []realtime.WebhookEvent
	for _, ch := range []string{"private-t1.a", "private-t1.b", "presence-t1.c"} {
		ev := realtime.WebhookEvent{Name: realtime.HookChannelOccupied, Channel: ch}
		if err := sink.Enqueue(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, ev)
	}
	eventually(t, "the batch to be delivered", func() bool { return len(recv.received()) > 0 })
	got := recv.received()
	if len(got) != 1 || len(got[0].Events) != 3 {
		t.Fatalf("want one batch of 3 events, got %+v", got)
	}
	seen := map[string]bool{}
	for _, ev := range got[0].Events {
		seen[ev.Channel] = true
	}
	for _, ev := range sent {
		if !seen[ev.Channel] {
			t.Fatalf("event for %s lost: %+v", ev.Channel, got)
		}
	}
	if n := h.counter(t, "palisade_jobs_retried_total", jobs.RealtimeWebhook.Name); n != 1 {
		t.Fatalf("retried %v times, want 1 (the receiver refused once)", n)
	}
}
