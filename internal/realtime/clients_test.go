package realtime

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/realtime/channels"
)

// parityAuth stands in for the API's /api/broadcasting/auth and
// /api/broadcasting/user-auth: the tenant and user come from test headers,
// the signatures from realtime's own functions, as the API makes them.
type parityAuth struct{ master []byte }

func (a parityAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tenant, _ := strconv.ParseInt(r.Header.Get("X-Test-Tenant"), 10, 64)
	user, _ := strconv.ParseInt(r.Header.Get("X-Test-User"), 10, 64)
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	socketID := r.PostForm.Get("socket_id")
	var resp any
	var err error
	switch r.URL.Path {
	case "/user-auth":
		var watch []string
		if w := r.Header.Get("X-Test-Watch"); w != "" {
			watch = strings.Split(w, ",")
		}
		resp, err = channels.SignUser(testKey, testSecret, socketID, channels.UserData{ID: channels.UserIDString(user), UserInfo: map[string]any{"name": "user " + channels.UserIDString(user)}, Watchlist: watch})
	case "/auth":
		channel := r.PostForm.Get("channel_name")
		if err := channels.AuthorizeChannel(tenant, user, channel); err != nil {
			http.Error(w, `{"error":"forbidden"}`, http.StatusForbidden)
			return
		}
		switch {
		case channels.IsEncrypted(channel):
			resp, err = channels.SignEncryptedChannel(testKey, testSecret, a.master, socketID, channel)
		case channels.KindOf(channel) == channels.KindPresence:
			resp, err = channels.SignChannel(testKey, testSecret, socketID, channel, &channels.PresenceMember{UserID: channels.UserIDString(user)})
		default:
			resp, err = channels.SignChannel(testKey, testSecret, socketID, channel, nil)
		}
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// hookForwarder delivers each webhook event to the URL the Node script
// serves once it has said where (events before that are dropped).
type hookForwarder struct{ url atomic.Pointer[string] }

func (h *hookForwarder) Enqueue(ctx context.Context, ev WebhookEvent) error {
	u := h.url.Load()
	if u == nil {
		return nil
	}
	return DeliverWebhook(ctx, nil, *u, testKey, testSecret, []WebhookEvent{ev})
}

// TestPusherClientsParity runs the unmodified pusher-js, `pusher` server
// SDK and ws against two replicas on one Redis (and a third server with
// short timeouts): order across replicas from a sequential publisher,
// signin + sendToUser + terminate_connections + watchlist, cache channels with
// cache_miss and its webhook (validated by the SDK), the info attributes
// and GET /connections as the SDK reads them, an encrypted round trip with
// encryptionMasterKeyBase64, and configurable activity/pong timeouts.
func TestPusherClientsParity(t *testing.T) {
	node, dir := nodeClients(t)
	rdb, _ := testRedis(t)
	cfg := testConfig(testPrefix(t, rdb))
	cfg.WebhookURL = "http://node.invalid/pusher/webhooks" // the forwarder ignores it
	hooks := &hookForwarder{}
	a := startServer(t, rdb, cfg, hooks)
	b := startServer(t, rdb, cfg, hooks)
	short := testConfig(testPrefix(t, rdb))
	short.ActivityTimeout, short.PongTimeout = time.Second, time.Second
	c := startServer(t, rdb, short, nil)

	master := []byte("0123456789abcdef0123456789abcdef")
	authSrv := httptest.NewServer(parityAuth{master: master})
	defer authSrv.Close()
	port := func(ts *testServer) string {
		_, p, _ := net.SplitHostPort(ts.http.Listener.Addr().String())
		return p
	}

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "pusher_parity.cjs"))
	cmd.Env = append(os.Environ(), "NODE_CLIENTS="+dir, "HOST=127.0.0.1",
		"PORT_A="+port(a), "PORT_B="+port(b), "PORT_C="+port(c),
		"APP_ID="+testAppID, "APP_KEY="+testKey, "APP_SECRET="+testSecret,
		"AUTH_URL="+authSrv.URL+"/auth", "USER_AUTH_URL="+authSrv.URL+"/user-auth",
		"MASTER_KEY_B64="+base64.StdEncoding.EncodeToString(master))
	cmd.Stderr = testWriter{t}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	seen := map[string][]map[string]any{}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		t.Logf("node: %s", sc.Text())
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("script printed %q", sc.Text())
		}
		typ, _ := l["type"].(string)
		seen[typ] = append(seen[typ], l)
		switch typ {
		case "hook_url":
			u := l["url"].(string)
			hooks.url.Store(&u)
			_, _ = io.WriteString(stdin, "go\n")
		case "error", "timeout":
			t.Errorf("script: %s", sc.Text())
		}
		if typ == "done" || typ == "timeout" {
			break
		}
	}
	if len(seen["done"]) != 1 {
		t.Fatalf("script ended without done: %v", sc.Err())
	}
	one := func(typ string) map[string]any {
		t.Helper()
		if len(seen[typ]) != 1 {
			t.Fatalf("%d %q lines, want 1", len(seen[typ]), typ)
		}
		return seen[typ][0]
	}
	js := func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	}

	// Order: four pusher-js subscribers, two per replica.
	if len(seen["order"]) != 4 {
		t.Errorf("order results %v", seen["order"])
	}
	for _, o := range seen["order"] {
		if o["received"] != float64(200) || o["out_of_order"] != float64(0) {
			t.Errorf("subscriber on replica %v: received %v, %v out of order", o["replica"], o["received"], o["out_of_order"])
		}
	}

	// Signin, sendToUser across replicas, terminate_connections.
	if u := js(one("signed_in")["user_data"]); !strings.Contains(u, `"id":"5"`) {
		t.Errorf("user_data after signin %s", u)
	}
	if s := one("send_to_user"); s["status"] != float64(200) || js(s["notes"]) != `[{"text":"for 5"}]` {
		t.Errorf("sendToUser %v", s)
	}
	term := one("terminated")
	if term["status"] != float64(200) || term["new_socket"] != true || term["bystander_same_socket"] != true || term["signed_in_again"] != true {
		t.Errorf("terminate_connections %v", term)
	}
	if w := js(one("watchlist")["events"]); w != `["online:5","offline:5","online:5"]` {
		t.Errorf("bystander watching user 5 heard %s, want online, offline at terminate, online again", w)
	}
	if s := one("terminate_bad_user")["status"]; s != float64(400) {
		t.Errorf("terminate_connections of a bad user id: %v, want 400", s)
	}

	// Cache channels and the cache_miss webhook.
	for ch, r := range one("cache")["results"].(map[string]any) {
		if js(r) != `{"early_miss":1,"late_miss":0,"late_seen":[2]}` {
			t.Errorf("cache channel %s: %s, want one miss early and the last event late", ch, js(r))
		}
	}
	if h := one("cache_hooks"); js(h["channels"]) != `["cache-prices","presence-cache-tenant.7.room","private-cache-tenant.7.feed"]` || h["invalid"] != float64(0) {
		t.Errorf("cache_miss webhooks %v", h)
	}

	// info attributes and connections, as the SDK reads them.
	info := one("info")
	if got := js(info["channel"]); got != `{"occupied":true,"subscription_count":3,"user_count":2}` {
		t.Errorf("channel info %s", got)
	}
	if got := js(info["list"]); got != `{"channels":{"presence-tenant.7.lobby":{"user_count":2}}}` {
		t.Errorf("channel list %s", got)
	}
	if got := js(info["trigger"]); got != `{"channels":{"headlines":{"subscription_count":1},"presence-tenant.7.lobby":{"subscription_count":3,"user_count":2}}}` {
		t.Errorf("trigger response %s", got)
	}
	if got := js(info["users"]); got != `{"users":[{"id":"1"},{"id":"2"}]}` {
		t.Errorf("users %s", got)
	}
	if got := js(info["connections"]); got != `{"connections":3}` {
		t.Errorf("connections %s", got)
	}
	if info["bad_status"] != float64(400) {
		t.Errorf("user_count of a public channel: %v, want 400", info["bad_status"])
	}

	// Encrypted round trip.
	enc := one("encrypted")
	if js(enc["decrypted"]) != `{"text":"only for 7"}` || enc["wire_has_plaintext"] != false || enc["wire_has_nonce"] != true {
		t.Errorf("encrypted channel %v", enc)
	}
	if e := one("encrypted_foreign")["error"]; e == nil || !strings.Contains(js(e), "403") {
		t.Errorf("another tenant's encrypted channel: %v", e)
	}

	// Timeouts.
	to := one("timeouts")
	if to["activity_timeout_ms"] != float64(1000) || to["pusher_js_stayed"] != true {
		t.Errorf("pusher-js with a 1s activity timeout: %v", to)
	}
	closed := to["raw_close"].(map[string]any)
	if closed["code"] != float64(CodePongNotReceived) || !strings.Contains(js(to["raw_frames"]), "pusher:ping") {
		t.Errorf("silent raw socket: %v", to)
	}
	if after := closed["after_ms"].(float64); after < 1500 || after > 4000 {
		t.Errorf("silent raw socket closed after %vms, want about activity + pong timeout (2s)", after)
	}
	t.Log(fmt.Sprintf("silent socket closed after %vms", closed["after_ms"]))
}
