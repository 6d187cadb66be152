package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/palisade-hq/palisade/internal/devmode"
)

// TestDevConsole: dev logs short text lines, not JSON, routes the embedded
// S3 store's own output into them, and masks every configured secret,
// including the webhook token in the URL versitygw prints.
func TestDevConsole(t *testing.T) {
	dir := t.TempDir()
	public := freeAddr(t)
	secrets := map[string]string{
		"PALISADE_DEV_OPERATOR_PASSWORD": "operator passphrase 7",
		"PALISADE_DEV_OWNER_PASSWORD":    "owner passphrase 7",
		"PALISADE_S3_WEBHOOK_TOKEN":      "webhooktoken7abcdef",
		"PALISADE_SMTP_URL":              "smtp://mailer:smtppass7xyz@127.0.0.1:2525",
	}
	env := map[string]string{
		"PALISADE_DEV_DATA_DIR":      filepath.Join(dir, ".palisade"),
		"PALISADE_DEV_PUBLIC_ADDR":   public,
		"PALISADE_DEV_API_ADDR":      freeAddr(t),
		"PALISADE_DEV_REALTIME_ADDR": freeAddr(t),
		"PALISADE_DEV_S3_ADDR":       freeAddr(t),
		"PALISADE_METRICS_ADDR":      freeAddr(t),
		"PALISADE_LOG_LEVEL":         "debug", // the S3 store's lines are debug
	}
	for k, v := range secrets {
		env[k] = v
	}
	_, stderr, stop := startIO(t, []string{"dev"}, env)
	waitReady(t, "http://"+public+"/readyz", "")
	_, port, _ := strings.Cut(public, ":")
	get(t, public, "acme.localhost:"+port, "/login", nil)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), "initializing S3 Event Notifications") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	out := stderr.String()

	line := regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} (DEBUG|INFO|WARN|ERROR) `)
	var request, s3, config bool
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if !line.MatchString(l) || json.Valid([]byte(l)) {
			t.Errorf("not a dev console line: %q", l)
		}
		request = request || strings.Contains(l, " GET /login 200 ")
		s3 = s3 || (strings.Contains(l, " s3 ") && strings.Contains(l, "initializing S3 Event Notifications") && strings.Contains(l, "token=***"))
		config = config || (strings.Contains(l, " configuration ") && len(l) < 600)
	}
	if !request || !s3 || !config {
		t.Errorf("request line %v, S3 store's output routed %v, short configuration line %v:\n%s", request, s3, config, out)
	}
	for _, secret := range append(mapValues(secrets), "smtppass7xyz", devmode.DevS3Secret, devmode.DevRealtimeAppSecret) {
		if strings.Contains(out, secret) {
			t.Errorf("the dev console shows the secret %q", secret)
		}
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestDevRealtimeWebhook: dev honours PALISADE_REALTIME_WEBHOOK_URL; a
// channel's first subscriber reaches the receiver as channel_occupied.
func TestDevRealtimeWebhook(t *testing.T) {
	got := make(chan string, 8)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- string(body)
	}))
	defer receiver.Close()
	dir := t.TempDir()
	public, rt := freeAddr(t), freeAddr(t)
	env := map[string]string{
		"PALISADE_DEV_DATA_DIR":         filepath.Join(dir, ".palisade"),
		"PALISADE_DEV_PUBLIC_ADDR":      public,
		"PALISADE_DEV_API_ADDR":         freeAddr(t),
		"PALISADE_DEV_REALTIME_ADDR":    rt,
		"PALISADE_DEV_S3_ADDR":          freeAddr(t),
		"PALISADE_METRICS_ADDR":         freeAddr(t),
		"PALISADE_REALTIME_WEBHOOK_URL": receiver.URL,
	}
	_, stop := start(t, []string{"dev"}, env)
	defer stop()
	waitReady(t, "http://"+public+"/readyz", "")
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+rt+"/app/"+devmode.DevRealtimeAppKey+"?protocol=7", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_, _, _ = ws.ReadMessage() // connection_established
	if err := ws.WriteJSON(map[string]any{"event": "pusher:subscribe", "data": map[string]string{"channel": "news"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case body := <-got:
		if !strings.Contains(body, "channel_occupied") || !strings.Contains(body, `"news"`) {
			t.Fatalf("webhook body %s", body)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook within 30s")
	}
}
