package realtime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/realtime/channels"
	"github.com/palisade-hq/palisade/internal/testenv/skiplog"
)

// nodeClients returns the folder with pusher-js and laravel-echo, skipping
// the test when none is configured, unless services are required.
func nodeClients(t *testing.T) (node, dir string) {
	t.Helper()
	dir = os.Getenv("PALISADE_TEST_NODE_MODULES")
	if dir == "" {
		if requireServices() {
			t.Fatal("PALISADE_TEST_REQUIRE_SERVICES=1 but PALISADE_TEST_NODE_MODULES is not set (scripts/install-node-clients.sh makes one)")
		}
		skiplog.Note(t, "skipped", "pusher-js/laravel-echo", "PALISADE_TEST_NODE_MODULES")
		t.Skip("PALISADE_TEST_NODE_MODULES not set: the pusher-js/laravel-echo test is skipped")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("PALISADE_TEST_NODE_MODULES is set but node is not on PATH: %v", err)
	}
	found := false
	for _, p := range []string{filepath.Join(dir, "node_modules", "laravel-echo"), filepath.Join(dir, "laravel-echo")} {
		if _, err := os.Stat(p); err == nil {
			found = true
		}
	}
	if !found {
		t.Fatalf("no laravel-echo under %s", dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return node, abs
}

// authEndpoint stands in for the API's POST /api/broadcasting/auth: it takes
// the user from test headers and uses AuthorizeChannel and SignChannel just
// as the real endpoint must. Refusals are recorded as the audit events would
// be.
type authEndpoint struct {
	mu       sync.Mutex
	refusals []string
}

func (a *authEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tenant, _ := strconv.ParseInt(r.Header.Get("X-Test-Tenant"), 10, 64)
	user, _ := strconv.ParseInt(r.Header.Get("X-Test-User"), 10, 64)
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	socketID, channel := r.PostForm.Get("socket_id"), r.PostForm.Get("channel_name")
	if err := channels.AuthorizeChannel(tenant, user, channel); err != nil {
		a.mu.Lock()
		a.refusals = append(a.refusals, channel+": "+err.Error())
		a.mu.Unlock()
		http.Error(w, `{"error":"forbidden"}`, http.StatusForbidden)
		return
	}
	var member *channels.PresenceMember
	if channels.KindOf(channel) == channels.KindPresence {
		member = &channels.PresenceMember{UserID: channels.UserIDString(user), UserInfo: map[string]string{"name": "user " + channels.UserIDString(user)}}
	}
	resp, err := channels.SignChannel(testKey, testSecret, socketID, channel, member)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

type echoLine struct {
	Type   string          `json:"type"`
	Users  json.RawMessage `json:"users"`
	User   json.RawMessage `json:"user"`
	Data   json.RawMessage `json:"data"`
	Status int             `json:"status"`
	Error  json.RawMessage `json:"error"`
	What   string          `json:"what"`
}

func TestLaravelEchoClient(t *testing.T) {
	node, dir := nodeClients(t)
	ts := newServer(t, nil)
	auth := &authEndpoint{}
	authSrv := httptest.NewServer(auth)
	defer authSrv.Close()
	host, port, _ := net.SplitHostPort(ts.http.Listener.Addr().String())

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "echo_client.cjs"))
	cmd.Env = append(os.Environ(), "NODE_CLIENTS="+dir, "WS_HOST="+host, "WS_PORT="+port,
		"APP_KEY="+testKey, "AUTH_URL="+authSrv.URL+"/api/broadcasting/auth")
	cmd.Stderr = testWriter{t}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	seen := map[string]echoLine{}
	var order []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		t.Logf("echo: %s", sc.Text())
		var l echoLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("script printed %q", sc.Text())
		}
		seen[l.Type] = l
		order = append(order, l.Type)
		switch l.Type {
		case "ready":
			err := publisher(ts).Trigger(ctx, []string{"private-tenant.7.orders"}, "order.paid", map[string]any{"order_id": 42}, "")
			if err != nil {
				t.Fatalf("trigger: %v", err)
			}
		case "timeout", "crash", "error", "cross_tenant_subscribed", "forged_subscribed":
			t.Fatalf("script: %s", sc.Text())
		}
		if l.Type == "done" {
			break
		}
	}
	if _, ok := seen["done"]; !ok {
		t.Fatalf("script ended without done (saw %v): %v", order, sc.Err())
	}
	if err := cmd.Wait(); err != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("script exit: %v", err)
	}

	if got := string(seen["here"].Users); got != `[{"name":"user 1"}]` {
		t.Errorf("here: %s", got)
	}
	if got := string(seen["event"].Data); got != `{"order_id":42}` {
		t.Errorf("event data: %s", got)
	}
	if got := string(seen["joining"].User); got != `{"name":"user 2"}` {
		t.Errorf("joining: %s", got)
	}
	if got := string(seen["leaving"].User); got != `{"name":"user 2"}` {
		t.Errorf("leaving: %s", got)
	}
	if got := seen["cross_tenant_refused"].Status; got != http.StatusForbidden {
		t.Errorf("cross-tenant refusal status %d, want 403", got)
	}
	if _, ok := seen["forged_refused"]; !ok {
		t.Error("forged signature was not refused")
	}
	auth.mu.Lock()
	defer auth.mu.Unlock()
	if len(auth.refusals) != 1 {
		t.Errorf("auth endpoint refusals %v, want exactly the cross-tenant one", auth.refusals)
	}
}
