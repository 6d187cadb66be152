package realtime

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/palisade-hq/palisade/internal/realtime/channels"
	"github.com/palisade-hq/palisade/internal/realtime/publish"
)

func newServer(t *testing.T, mod func(*Config)) *testServer {
	t.Helper()
	rdb, _ := testRedis(t)
	cfg := testConfig(testPrefix(t, rdb))
	if mod != nil {
		mod(&cfg)
	}
	return startServer(t, rdb, cfg, nil)
}

func publisher(ts *testServer) *publish.Client {
	return publish.New(ts.http.URL, testAppID, testKey, testSecret, ts.http.Client())
}

func TestPingPongAndPublicChannel(t *testing.T) {
	ts := newServer(t, nil)
	a := connect(t, ts)
	a.sendJSON(map[string]any{"event": "pusher:ping", "data": map[string]any{}})
	a.expect("pusher:pong")

	a.subscribeSigned("news", nil)
	if err := publisher(ts).Trigger(context.Background(), []string{"news"}, "story", map[string]int{"n": 1}, ""); err != nil {
		t.Fatal(err)
	}
	f := a.expect("story")
	if f.Channel != "news" || f.dataString() != `{"n":1}` {
		t.Fatalf("event %+v data %s", f, f.dataString())
	}
	if got := metricValue(t, ts, "palisade_realtime_connections"); got != 1 {
		t.Errorf("connections gauge = %v, want 1", got)
	}
	if got := metricValue(t, ts, "palisade_realtime_subscriptions"); got != 1 {
		t.Errorf("subscriptions gauge = %v, want 1", got)
	}
	if got := metricValue(t, ts, "palisade_realtime_messages_in_total"); got != 2 {
		t.Errorf("messages in = %v, want 2", got)
	}
	if st := ts.Stats(); st.Connections != 1 || st.Subscriptions != 1 || st.Channels != 1 {
		t.Errorf("Stats = %+v", st)
	}

	// Unsubscribed sockets stop receiving.
	a.sendJSON(map[string]any{"event": "pusher:unsubscribe", "data": map[string]string{"channel": "news"}})
	waitFor(t, func() bool { return ts.Stats().Subscriptions == 0 })
	if err := publisher(ts).Trigger(context.Background(), []string{"news"}, "story", "x", ""); err != nil {
		t.Fatal(err)
	}
	a.expectNothing(300 * time.Millisecond)
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func errorCode(t *testing.T, f frame) int {
	t.Helper()
	var d struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(f.Data, &d); err != nil {
		t.Fatalf("pusher:error data %s: %v", f.Data, err)
	}
	if d.Code == nil || d.Message == "" {
		t.Fatalf("pusher:error without code or message: %s", f.Data)
	}
	return *d.Code
}

func TestPrivateChannelNeedsValidSignature(t *testing.T) {
	ts := newServer(t, nil)
	a := connect(t, ts)
	other := connect(t, ts)
	const ch = "private-tenant.7.orders"

	// No signature, a forged one, another socket's signature, a signature
	// for another channel, a signature with another secret.
	otherAuth, _ := channels.SignChannel(testKey, testSecret, other.socketID, ch, nil)
	wrongChan, _ := channels.SignChannel(testKey, testSecret, a.socketID, "private-tenant.8.orders", nil)
	wrongSecret, _ := channels.SignChannel(testKey, "not-the-secret", a.socketID, ch, nil)
	for _, auth := range []string{"", testKey + ":deadbeef", otherAuth.Auth, wrongChan.Auth, wrongSecret.Auth} {
		a.subscribe(ch, auth, "")
		if code := errorCode(t, a.expect("pusher:error")); code != CodeUnauthorized {
			t.Errorf("auth %q: code %d, want %d", auth, code, CodeUnauthorized)
		}
		if f := a.expect("pusher:subscription_error"); f.Channel != ch {
			t.Errorf("subscription_error for %q", f.Channel)
		}
	}
	if ts.Stats().Subscriptions != 0 {
		t.Fatalf("a refused subscription was kept: %+v", ts.Stats())
	}
	// Even a valid signature does not open a channel outside the tenant
	// naming rule.
	bad, _ := channels.SignChannel(testKey, testSecret, a.socketID, "private-orders", nil)
	a.subscribe("private-orders", bad.Auth, "")
	if code := errorCode(t, a.expect("pusher:error")); code != CodeUnauthorized {
		t.Errorf("non-tenant channel: code %d", code)
	}
	a.subscribeSigned(ch, nil)
	if err := publisher(ts).Trigger(context.Background(), []string{ch}, "paid", "{}", ""); err != nil {
		t.Fatal(err)
	}
	a.expect("paid")
}

func TestPresenceMembers(t *testing.T) {
	ts := newServer(t, nil)
	const ch = "presence-tenant.7.room"
	a := connect(t, ts)
	f := a.subscribeSigned(ch, &channels.PresenceMember{UserID: "1", UserInfo: map[string]string{"name": "Ann"}})
	var d struct {
		Presence presenceList `json:"presence"`
	}
	if err := json.Unmarshal([]byte(f.dataString()), &d); err != nil {
		t.Fatal(err)
	}
	if d.Presence.Count != 1 || d.Presence.IDs[0] != "1" || string(d.Presence.Hash["1"]) != `{"name":"Ann"}` {
		t.Fatalf("presence data %+v", d.Presence)
	}

	b := connect(t, ts)
	b.subscribeSigned(ch, &channels.PresenceMember{UserID: "2", UserInfo: map[string]string{"name": "Bob"}})
	added := a.expect("pusher_internal:member_added")
	if added.Channel != ch || added.dataString() != `{"user_id":"2","user_info":{"name":"Bob"}}` {
		t.Fatalf("member_added %+v %s", added, added.dataString())
	}
	// A second socket of the same user is not a new member.
	b2 := connect(t, ts)
	b2.subscribeSigned(ch, &channels.PresenceMember{UserID: "2", UserInfo: map[string]string{"name": "Bob"}})
	a.expectNothing(200 * time.Millisecond)
	_ = b2.c.Close()
	a.expectNothing(300 * time.Millisecond)
	// Bob's last socket leaves: member_removed.
	b.sendJSON(map[string]any{"event": "pusher:unsubscribe", "data": map[string]string{"channel": ch}})
	removed := a.expect("pusher_internal:member_removed")
	if removed.dataString() != `{"user_id":"2"}` {
		t.Fatalf("member_removed %s", removed.dataString())
	}

	// Presence data must be signed as sent, and must carry a user id.
	c := connect(t, ts)
	a2, _ := channels.SignChannel(testKey, testSecret, c.socketID, ch, &channels.PresenceMember{UserID: "3"})
	c.subscribe(ch, a2.Auth, `{"user_id":"1"}`)
	if code := errorCode(t, c.expect("pusher:error")); code != CodeUnauthorized {
		t.Fatalf("tampered channel_data: code %d", code)
	}
	c.subscribe(ch, a2.Auth, "")
	if code := errorCode(t, c.expect("pusher:error")); code != CodeUnauthorized {
		t.Fatalf("missing channel_data: code %d", code)
	}
}

func TestClientEvents(t *testing.T) {
	ts := newServer(t, func(c *Config) { c.ClientEventsPerSecond = 3 })
	const ch = "presence-tenant.7.chat"
	a, b := connect(t, ts), connect(t, ts)
	a.subscribeSigned(ch, &channels.PresenceMember{UserID: "1"})
	b.subscribeSigned(ch, &channels.PresenceMember{UserID: "2"})
	a.expect("pusher_internal:member_added")

	a.sendJSON(map[string]any{"event": "client-typing", "channel": ch, "data": map[string]bool{"on": true}})
	f := b.expect("client-typing")
	if f.UserID != "1" || string(f.Data) != `{"on":true}` {
		t.Fatalf("client event %+v", f)
	}
	a.expectNothing(200 * time.Millisecond) // never echoed to the sender

	// Not on public channels; not on channels the socket has not joined.
	a.subscribeSigned("lobby", nil)
	a.sendJSON(map[string]any{"event": "client-x", "channel": "lobby", "data": "{}"})
	if code := errorCode(t, a.expect("pusher:error")); code != CodeClientEventRefused {
		t.Fatalf("public client event: %d", code)
	}
	a.sendJSON(map[string]any{"event": "client-x", "channel": "private-tenant.7.other", "data": "{}"})
	if code := errorCode(t, a.expect("pusher:error")); code != CodeUnauthorized {
		t.Fatalf("non-member client event: %d", code)
	}

	// Rate limit: 3 per second with a burst of 3 (one spent above).
	got := 0
	for range 6 {
		a.sendJSON(map[string]any{"event": "client-burst", "channel": ch, "data": "{}"})
	}
	refused := 0
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) && refused < 1 {
		f, err := a.next(time.Until(deadline))
		if err != nil {
			break
		}
		if f.Event == "pusher:error" && errorCode(t, f) == CodeClientEventRefused {
			refused++
		}
	}
	for {
		f, err := b.next(300 * time.Millisecond)
		if err != nil {
			break
		}
		if f.Event == "client-burst" {
			got++
		}
	}
	if refused == 0 || got < 1 || got > 3 {
		t.Fatalf("rate limit: %d delivered, %d refused", got, refused)
	}
}

func TestTenantConnectionLimit(t *testing.T) {
	ts := newServer(t, func(c *Config) { c.TenantMaxConnections = 1 })
	a, b := connect(t, ts), connect(t, ts)
	a.subscribeSigned("private-tenant.7.x", nil)
	a.subscribeSigned("private-tenant.7.y", nil) // same socket: still one
	sig, _ := channels.SignChannel(testKey, testSecret, b.socketID, "private-tenant.7.x", nil)
	b.subscribe("private-tenant.7.x", sig.Auth, "")
	if code := errorCode(t, b.expect("pusher:error")); code != CodeOverQuota {
		t.Fatalf("code %d, want %d", code, CodeOverQuota)
	}
	b.subscribeSigned("private-tenant.8.x", nil) // another tenant is not limited
	_ = a.c.Close()
	waitFor(t, func() bool { return ts.Stats().Connections == 1 })
	b.subscribeSigned("private-tenant.7.x", nil)
}

func TestConnectionRefusals(t *testing.T) {
	ts := newServer(t, func(c *Config) { c.MaxConnections = 1 })
	base := "ws" + strings.TrimPrefix(ts.http.URL, "http")
	for _, tt := range []struct {
		path string
		code int
	}{
		{"/app/wrong-key?protocol=7", CodeAppNotFound},
		{"/app/" + testKey, CodeNoProtocolVersion},
		{"/app/" + testKey + "?protocol=x", CodeBadProtocolVersion},
		{"/app/" + testKey + "?protocol=99", CodeUnsupportedVersion},
	} {
		cl := newClient(t, dialRaw(t, base+tt.path))
		if code := errorCode(t, cl.expect("pusher:error")); code != tt.code {
			t.Errorf("%s: error code %d, want %d", tt.path, code, tt.code)
		}
		if code := cl.expectClose(5 * time.Second); code != tt.code {
			t.Errorf("%s: close code %d, want %d", tt.path, code, tt.code)
		}
	}
	connect(t, ts)
	over := newClient(t, dialRaw(t, ts.wsURL()))
	if code := over.expectClose(5 * time.Second); code != CodeOverQuota {
		t.Fatalf("over quota: close %d, want %d", code, CodeOverQuota)
	}
}

// Malformed input gets a pusher:error and an oversized frame close 1009;
// the server keeps serving the socket (or, after 1009, others).
func TestProtocolEdgeCases(t *testing.T) {
	ts := newServer(t, func(c *Config) { c.MaxMessageBytes = 1000 })
	a := connect(t, ts)
	for _, msg := range []string{`{not json`, `[]`, `"x"`, `{"event":""}`, `{"event":1}`, `{"event":"a"}{"event":"b"}`,
		`{"event":"pusher:subscribe","data":{}}`, `{"event":"pusher:subscribe","data":"{bad"}`} {
		a.sendRaw([]byte(msg))
		if code := errorCode(t, a.expect("pusher:error")); code != CodeReconnect {
			t.Errorf("%s: code %d", msg, code)
		}
	}
	a.sendJSON(map[string]any{"event": "pusher:nonsense"})
	if code := errorCode(t, a.expect("pusher:error")); code != CodeReconnect {
		t.Errorf("unknown pusher event: code %d", code)
	}
	a.sendJSON(map[string]any{"event": "whatever", "data": "{}"})
	if code := errorCode(t, a.expect("pusher:error")); code != CodeReconnect {
		t.Errorf("unknown event: code %d", code)
	}
	a.sendJSON(map[string]any{"event": "pusher:ping"})
	a.expect("pusher:pong") // still served

	big := connect(t, ts)
	big.sendRaw([]byte(`{"event":"client-x","channel":"private-tenant.7.a","data":"` + strings.Repeat("x", 2000) + `"}`))
	if code := big.expectClose(5 * time.Second); code != websocket.CloseMessageTooBig {
		t.Fatalf("oversized frame: close %d, want %d", code, websocket.CloseMessageTooBig)
	}
	a.sendJSON(map[string]any{"event": "pusher:ping"})
	a.expect("pusher:pong")
	connect(t, ts)
	waitFor(t, func() bool { return ts.Stats().Connections == 2 })
}

// A silent socket is pinged after the activity timeout and closed with 4201
// when the pong does not come; one that answers stays.
func TestMissedPong(t *testing.T) {
	ts := newServer(t, func(c *Config) {
		c.ActivityTimeout = 300 * time.Millisecond
		c.PongTimeout = 300 * time.Millisecond
	})
	lively, silent := connect(t, ts), connect(t, ts)
	stop := make(chan struct{})
	pongs := make(chan int, 1)
	go func() {
		n := 0
		defer func() { pongs <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			f, err := lively.next(100 * time.Millisecond)
			if err == nil && f.Event == "pusher:ping" {
				_ = lively.c.WriteMessage(websocket.TextMessage, []byte(`{"event":"pusher:pong","data":{}}`))
				n++
			}
		}
	}()
	silent.expect("pusher:ping")
	if code := silent.expectClose(5 * time.Second); code != CodePongNotReceived {
		t.Fatalf("missed pong: close %d, want %d", code, CodePongNotReceived)
	}
	time.Sleep(700 * time.Millisecond)
	close(stop)
	if n := <-pongs; n < 2 {
		t.Fatalf("lively socket answered %d pings, want at least 2", n)
	}
	if st := ts.Stats(); st.Connections != 1 {
		t.Fatalf("connections %d, want the lively one", st.Connections)
	}
}

func TestShutdownClosesWith4200AndCleansPresence(t *testing.T) {
	rdb, _ := testRedis(t)
	cfg := testConfig(testPrefix(t, rdb))
	ts := startServer(t, rdb, cfg, nil)
	a := connect(t, ts)
	a.subscribeSigned("presence-tenant.7.room", &channels.PresenceMember{UserID: "1"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ts.Shutdown(ctx) }()
	if code := a.expectClose(5 * time.Second); code != CodeReconnect {
		t.Fatalf("close %d, want %d", code, CodeReconnect)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	keys, err := rdb.Keys(ctx, cfg.RedisPrefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !strings.HasSuffix(k, ":counts") {
			t.Errorf("key %s left after shutdown", k)
		}
	}
	// Late connections are refused with 4200 until the listener closes.
	late := newClient(t, dialRaw(t, ts.wsURL()))
	if code := late.expectClose(5 * time.Second); code != CodeReconnect {
		t.Fatalf("late connection: close %d", code)
	}
}

// metricValue reads a gauge or counter from the server's registry.
func metricValue(t *testing.T, ts *testServer, name string) float64 {
	t.Helper()
	mfs, err := ts.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		if g := m.GetGauge(); g != nil {
			return g.GetValue()
		}
		return m.GetCounter().GetValue()
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// TestSignedPresenceDataParses: the channel_data the auth endpoint signs
// (internal/realtime/channels) reads back on the server as the same user.
func TestSignedPresenceDataParses(t *testing.T) {
	for _, id := range []int64{1, 42, 1<<53 + 1} {
		resp, err := channels.SignChannel(testKey, testSecret, "1.2", "presence-tenant.7.room",
			&channels.PresenceMember{UserID: channels.UserIDString(id), UserInfo: map[string]string{"name": "Ann"}})
		if err != nil {
			t.Fatal(err)
		}
		pd, err := parsePresenceData(resp.ChannelData)
		if err != nil || pd.UserID != channels.UserIDString(id) || string(pd.UserInfo) != `{"name":"Ann"}` {
			t.Fatalf("signed channel_data %q reads back as %+v, %v", resp.ChannelData, pd, err)
		}
	}
}
