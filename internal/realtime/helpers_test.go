package realtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/realtime/channels"
)

const (
	testAppID  = "1001"
	testKey    = "test-key"
	testSecret = "test-secret"
)

func requireServices() bool { return os.Getenv("PALISADE_TEST_REQUIRE_SERVICES") == "1" }

// testRedis returns a Redis for one test and the URL a subprocess can use:
// PALISADE_TEST_REDIS_URL when set (the test gets its own key prefix), else
// miniredis, unless services are required.
func testRedis(t testing.TB) (redis.UniversalClient, string) {
	t.Helper()
	url := os.Getenv("PALISADE_TEST_REDIS_URL")
	if url == "" {
		if requireServices() {
			t.Fatal("PALISADE_TEST_REQUIRE_SERVICES=1 but PALISADE_TEST_REDIS_URL is not set")
		}
		mr := miniredis.RunT(t)
		url = "redis://" + mr.Addr() + "/0"
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("PALISADE_TEST_REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis at %s: %v", url, err)
	}
	return rdb, url
}

// testPrefix is a key prefix no other test (or run) shares; its keys are
// deleted when the test ends.
func testPrefix(t testing.TB, rdb redis.UniversalClient) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	p := "test:realtime:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, p+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			_ = rdb.Del(ctx, keys...).Err()
		}
	})
	return p
}

func testConfig(prefix string) Config {
	return Config{
		AppID: testAppID, AppKey: testKey, AppSecret: testSecret,
		RedisPrefix:     prefix,
		ActivityTimeout: 30 * time.Second,
		PresenceTTL:     3 * time.Second,
	}
}

type testServer struct {
	*Server
	http *httptest.Server
	reg  *prometheus.Registry
}

func (ts *testServer) wsURL() string {
	return "ws" + strings.TrimPrefix(ts.http.URL, "http") + "/app/" + testKey + "?protocol=7&client=go-test"
}

func startServer(t testing.TB, rdb redis.UniversalClient, cfg Config, sink WebhookSink) *testServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := NewServer(cfg, rdb, log, reg, sink)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	return &testServer{Server: s, http: hs, reg: reg}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// wsClient is a raw protocol client for the tests.
type wsClient struct {
	t        testing.TB
	c        *websocket.Conn
	socketID string
	in       chan readResult
}

type readResult struct {
	b   []byte
	err error
}

// newClient reads c in the background: gorilla cannot read again after a
// read deadline passes, so tests wait on a channel instead.
func newClient(t testing.TB, c *websocket.Conn) *wsClient {
	cl := &wsClient{t: t, c: c, in: make(chan readResult, 1024)}
	go func() {
		for {
			_, b, err := c.ReadMessage()
			cl.in <- readResult{b, err}
			if err != nil {
				return
			}
		}
	}()
	return cl
}

type timeoutError struct{}

func (timeoutError) Error() string { return "timeout" }
func (timeoutError) Timeout() bool { return true }

type frame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel"`
	Data    json.RawMessage `json:"data"`
	UserID  string          `json:"user_id"`
}

// dataString returns data decoded from its JSON-string wrapping.
func (f frame) dataString() string {
	var s string
	if json.Unmarshal(f.Data, &s) == nil {
		return s
	}
	return string(f.Data)
}

func dialRaw(t testing.TB, url string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func connect(t testing.TB, ts *testServer) *wsClient {
	t.Helper()
	cl := newClient(t, dialRaw(t, ts.wsURL()))
	f := cl.expect("pusher:connection_established")
	var d struct {
		SocketID        string `json:"socket_id"`
		ActivityTimeout int    `json:"activity_timeout"`
	}
	if err := json.Unmarshal([]byte(f.dataString()), &d); err != nil || !channels.ValidSocketID(d.SocketID) || d.ActivityTimeout <= 0 {
		t.Fatalf("connection_established data %s: %v", f.Data, err)
	}
	cl.socketID = d.SocketID
	return cl
}

func (cl *wsClient) sendJSON(v any) {
	cl.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		cl.t.Fatal(err)
	}
	cl.sendRaw(b)
}

func (cl *wsClient) sendRaw(b []byte) {
	cl.t.Helper()
	if err := cl.c.WriteMessage(websocket.TextMessage, b); err != nil {
		cl.t.Fatalf("write: %v", err)
	}
}

// next reads one frame within d.
func (cl *wsClient) next(d time.Duration) (frame, error) {
	var b []byte
	select {
	case r := <-cl.in:
		if r.err != nil {
			cl.in <- r // every later read sees the same end
			return frame{}, r.err
		}
		b = r.b
	case <-time.After(d):
		return frame{}, timeoutError{}
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		return frame{}, fmt.Errorf("server sent non-JSON %q: %w", b, err)
	}
	return f, nil
}

// expect reads frames until one has the event name (failing on timeout).
func (cl *wsClient) expect(event string) frame {
	cl.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		f, err := cl.next(time.Until(deadline))
		if err != nil {
			cl.t.Fatalf("waiting for %s: %v", event, err)
		}
		if f.Event == event {
			return f
		}
	}
	cl.t.Fatalf("no %s within 5s", event)
	return frame{}
}

// expectNothing asserts no frame arrives within d.
func (cl *wsClient) expectNothing(d time.Duration) {
	cl.t.Helper()
	f, err := cl.next(d)
	if err == nil {
		cl.t.Fatalf("unexpected frame %+v", f)
	}
	if ne, ok := err.(interface{ Timeout() bool }); !ok || !ne.Timeout() {
		cl.t.Fatalf("expected a quiet socket, got %v", err)
	}
}

// expectClose reads until the server closes, and returns the close code.
func (cl *wsClient) expectClose(d time.Duration) int {
	cl.t.Helper()
	deadline := time.Now().Add(d)
	for {
		_, err := cl.next(time.Until(deadline))
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		cl.t.Fatalf("expected a close frame, got %v", err)
	}
}

func (cl *wsClient) subscribe(channel, auth, channelData string) {
	cl.t.Helper()
	d := map[string]string{"channel": channel}
	if auth != "" {
		d["auth"] = auth
	}
	if channelData != "" {
		d["channel_data"] = channelData
	}
	cl.sendJSON(map[string]any{"event": "pusher:subscribe", "data": d})
}

// subscribeSigned subscribes with a valid signature and waits for success.
func (cl *wsClient) subscribeSigned(channel string, member *channels.PresenceMember) frame {
	cl.t.Helper()
	if channels.KindOf(channel) == channels.KindPublic {
		cl.subscribe(channel, "", "")
	} else {
		a, err := channels.SignChannel(testKey, testSecret, cl.socketID, channel, member)
		if err != nil {
			cl.t.Fatal(err)
		}
		cl.subscribe(channel, a.Auth, a.ChannelData)
	}
	f := cl.expect("pusher_internal:subscription_succeeded")
	if f.Channel != channel {
		cl.t.Fatalf("subscription_succeeded for %q, want %q", f.Channel, channel)
	}
	return f
}
