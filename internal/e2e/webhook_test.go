package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/jobs/jobstest"
	"github.com/palisade-hq/palisade/internal/realtime"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestRealtimeWebhooksThroughQueue: the realtime role hands channel
// webhooks to the job queue, and a worker delivers them, signed, to the
// tenant's URL; the socket never waits for the receiver.
func TestRealtimeWebhooksThroughQueue(t *testing.T) {
	rdb, url := jobstest.Redis(t)
	got := make(chan []realtime.WebhookEvent, 8)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !realtime.VerifyWebhook("wh-key", "wh-secret", r.Header, body) {
			t.Errorf("webhook signature does not verify: %v", r.Header)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p struct {
			Events []realtime.WebhookEvent `json:"events"`
		}
		_ = json.Unmarshal(body, &p)
		got <- p.Events
	}))
	defer receiver.Close()
	env := map[string]string{
		"PALISADE_ENV": "test", "PALISADE_BASE_URL": "http://localhost:3000", "PALISADE_REDIS_URL": url,
		"PALISADE_REALTIME_APP_ID": "wh-app", "PALISADE_REALTIME_APP_KEY": "wh-key", "PALISADE_REALTIME_APP_SECRET": "wh-secret",
		"PALISADE_REALTIME_WEBHOOK_URL": receiver.URL,
		// The receiver is on loopback, which the outbound guard refuses unless allowed.
		"PALISADE_OUTBOUND_ALLOW": "127.0.0.1/32",
	}
	cfg, err := config.Load(context.Background(), func(k string) string { return env[k] }, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	log := testenv.Logger(t)
	rt, err := app.NewRealtime(cfg, rdb, log, nil, app.WebhookSink(cfg, rdb))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.RealtimeHandler(rt, &httpx.Health{}))
	defer srv.Close()
	defer rt.Shutdown(context.Background())

	w := app.NewWorker(cfg, nil, rdb, log, jobs.NewMetrics(prometheus.NewRegistry()), app.WorkerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() { cancel(); <-done }()

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/app/wh-key?protocol=7", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_, _, _ = ws.ReadMessage() // connection_established
	if err := ws.WriteJSON(map[string]any{"event": "pusher:subscribe", "data": map[string]string{"channel": "news"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case evs := <-got:
		if len(evs) == 0 || evs[0].Name != "channel_occupied" || evs[0].Channel != "news" {
			t.Fatalf("webhook events %+v", evs)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no webhook delivered within 60s")
	}
}

// TestWebhookClientRefusesInternalAddresses: without an exemption the
// worker's client will not connect to loopback (or any private or metadata
// address), whatever URL is configured.
func TestWebhookClientRefusesInternalAddresses(t *testing.T) {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the guarded client reached a loopback receiver")
	}))
	defer receiver.Close()
	env := map[string]string{"PALISADE_ENV": "test", "PALISADE_BASE_URL": "http://localhost:3000"}
	cfg, err := config.Load(context.Background(), func(k string) string { return env[k] }, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	deps := app.NewJobDeps(cfg, nil, nil, testenv.Logger(t))
	err = realtime.DeliverWebhook(context.Background(), deps.HTTP, receiver.URL, "k", "s", []realtime.WebhookEvent{{Name: "channel_occupied", Channel: "x"}})
	if err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("delivery to %s: %v, want a refusal", receiver.URL, err)
	}
}
