package realtime

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/realtime/channels"
)

type recordingSink struct {
	mu     sync.Mutex
	events []WebhookEvent
	block  chan struct{} // when set, Enqueue waits on it
}

func (s *recordingSink) Enqueue(ctx context.Context, ev WebhookEvent) error {
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	s.events = append(s.events, ev)
	s.mu.Unlock()
	return nil
}

func (s *recordingSink) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.events {
		out = append(out, e.Name+":"+e.Channel+":"+e.UserID+e.Event)
	}
	return out
}

func TestWebhookEvents(t *testing.T) {
	rdb, _ := testRedis(t)
	cfg := testConfig(testPrefix(t, rdb))
	cfg.WebhookURL = "http://hooks.invalid/pusher"
	sink := &recordingSink{}
	ts := startServer(t, rdb, cfg, sink)
	const room = "presence-tenant.7.room"
	a, b := connect(t, ts), connect(t, ts)
	a.subscribeSigned(room, &channels.PresenceMember{UserID: "1"})
	b.subscribeSigned(room, &channels.PresenceMember{UserID: "2"})
	b.sendJSON(map[string]any{"event": "client-wave", "channel": room, "data": map[string]any{}})
	a.expect("client-wave")
	_ = b.c.Close()
	a.expect("pusher_internal:member_removed")
	_ = a.c.Close()
	want := []string{
		"channel_occupied:" + room + ":",
		"member_added:" + room + ":1",
		"member_added:" + room + ":2",
		"client_event:" + room + ":2client-wave",
		"member_removed:" + room + ":2",
		"member_removed:" + room + ":1",
		"channel_vacated:" + room + ":",
	}
	waitFor(t, func() bool { return len(sink.names()) == len(want) })
	got := map[string]bool{}
	for _, n := range sink.names() {
		got[n] = true
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("missing webhook %s; got %v", w, sink.names())
		}
	}
}

// A sink that does not answer must not hold up sockets: events beyond the
// buffer are dropped and counted.
func TestWebhookSinkNeverBlocksSockets(t *testing.T) {
	rdb, _ := testRedis(t)
	cfg := testConfig(testPrefix(t, rdb))
	cfg.WebhookURL = "http://hooks.invalid/pusher"
	cfg.WebhookBuffer = 2
	sink := &recordingSink{block: make(chan struct{})}
	defer close(sink.block)
	ts := startServer(t, rdb, cfg, sink)
	a, b := connect(t, ts), connect(t, ts)
	const room = "presence-tenant.7.room"
	a.subscribeSigned(room, &channels.PresenceMember{UserID: "1"})
	b.subscribeSigned(room, &channels.PresenceMember{UserID: "2"})
	start := time.Now()
	for i := range 5 {
		b.sendJSON(map[string]any{"event": "client-x", "channel": room, "data": i})
		a.expect("client-x")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("client events took %s with a stuck sink", d)
	}
	waitFor(t, func() bool { return metricValue(t, ts, "palisade_realtime_webhooks_dropped_total") > 0 })
}

func TestDeliverWebhook(t *testing.T) {
	var got WebhookBody
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !VerifyWebhook(testKey, testSecret, r.Header, body) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		_ = json.Unmarshal(body, &got)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	batch := []WebhookEvent{{Name: HookChannelOccupied, Channel: "news"}, {Name: HookMemberAdded, Channel: "presence-tenant.1.r", UserID: "9"}}
	if err := DeliverWebhook(context.Background(), srv.Client(), srv.URL, testKey, testSecret, batch); err != nil {
		t.Fatal(err)
	}
	if len(got.Events) != 2 || got.Events[1].UserID != "9" || got.TimeMS == 0 {
		t.Fatalf("received %+v", got)
	}
	if err := DeliverWebhook(context.Background(), srv.Client(), srv.URL, testKey, "wrong", batch); err == nil {
		t.Fatal("a refused (401) delivery must be an error so the queue retries")
	}
	status = http.StatusInternalServerError
	if err := DeliverWebhook(context.Background(), srv.Client(), srv.URL, testKey, testSecret, batch); err == nil {
		t.Fatal("a 500 must be an error so the queue retries")
	}
}
