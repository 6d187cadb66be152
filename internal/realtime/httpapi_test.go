package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/realtime/channels"
	"github.com/palisade-hq/palisade/internal/realtime/publish"
)

func signedPost(t *testing.T, ts *testServer, path, body string, now time.Time, mutate func(q map[string][]string)) (int, string) {
	t.Helper()
	q := publish.SignedQuery(testKey, testSecret, http.MethodPost, path, []byte(body), now)
	if mutate != nil {
		mutate(q)
	}
	resp, err := ts.http.Client().Post(ts.http.URL+path+"?"+q.Encode(), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestEventsAPIRefusals(t *testing.T) {
	ts := newServer(t, func(c *Config) { c.MaxBodyBytes = 2000; c.MaxMessageBytes = 500 })
	path := "/apps/" + testAppID + "/events"
	ok := `{"name":"e","channels":["news"],"data":"{}"}`
	// auth_timestamp is in whole seconds and a busy machine takes a while
	// between here and the server's check: the refused cases are a minute
	// past the 600 s bound, not one second (that flaked under load).
	now := time.Now()
	tests := []struct {
		name   string
		path   string
		body   string
		at     time.Time
		mutate func(q map[string][]string)
		status int
		msg    string
	}{
		{"valid", path, ok, now, nil, 200, "{}"},
		{"old timestamp", path, ok, now.Add(-660 * time.Second), nil, 401, "auth_timestamp"},
		{"future timestamp", path, ok, now.Add(660 * time.Second), nil, 401, "auth_timestamp"},
		{"forged signature", path, ok, now, func(q map[string][]string) { q["auth_signature"] = []string{strings.Repeat("0", 64)} }, 401, "auth_signature"},
		{"wrong key", path, ok, now, func(q map[string][]string) { q["auth_key"] = []string{"nope"} }, 401, "auth_key"},
		{"body md5 mismatch", path, ok, now, func(q map[string][]string) { q["body_md5"] = []string{strings.Repeat("a", 32)} }, 401, "body_md5"},
		{"unknown app", "/apps/999/events", ok, now, nil, 404, "unknown app"},
		{"body too large", path, `{"name":"e","channels":["news"],"data":"` + strings.Repeat("x", 2100) + `"}`, now, nil, 413, "request body exceeds the limit of 2000 bytes"},
		{"data too large", path, `{"name":"e","channels":["news"],"data":"` + strings.Repeat("x", 600) + `"}`, now, nil, 413, "over the limit of 500"},
		{"no channels", path, `{"name":"e","data":"{}"}`, now, nil, 400, "no channels"},
		{"bad channel", path, `{"name":"e","channels":["a b"],"data":"{}"}`, now, nil, 400, "invalid channel"},
		{"not json", path, `{`, now, nil, 400, "not a JSON"},
	}
	for _, tt := range tests {
		status, body := signedPost(t, ts, tt.path, tt.body, tt.at, tt.mutate)
		if status != tt.status || !strings.Contains(body, tt.msg) {
			t.Errorf("%s: %d %s, want %d containing %q", tt.name, status, body, tt.status, tt.msg)
		}
	}
}

func TestBatchEventsAndChannelsAPI(t *testing.T) {
	ts := newServer(t, nil)
	a := connect(t, ts)
	b := connect(t, ts)
	a.subscribeSigned("news", nil)
	b.subscribeSigned("news", nil)
	a.subscribeSigned("presence-tenant.7.room", &channels.PresenceMember{UserID: "4"})
	pub := publisher(ts)
	err := pub.TriggerBatch(context.Background(), []publish.Event{
		{Channel: "news", Name: "one", Data: "1"},
		{Channel: "news", Name: "two", Data: "2", SocketID: a.socketID},
	})
	if err != nil {
		t.Fatal(err)
	}
	a.expect("one")
	b.expect("one")
	b.expect("two")
	a.expectNothing(200 * time.Millisecond) // excluded by socket_id

	err = pub.Trigger(context.Background(), []string{"news"}, "x", strings.Repeat("y", 20000), "")
	if !errors.As(err, new(*publish.APIError)) {
		t.Fatalf("oversized trigger: %v", err)
	}

	get := func(path string) map[string]any {
		q := publish.SignedQuery(testKey, testSecret, http.MethodGet, path, nil, time.Now())
		resp, err := ts.http.Client().Get(ts.http.URL + path + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %v", path, resp.StatusCode, out)
		}
		return out
	}
	waitFor(t, func() bool {
		chans, _ := get("/apps/" + testAppID + "/channels")["channels"].(map[string]any)
		return len(chans) == 2
	})
	if occ := get("/apps/" + testAppID + "/channels/presence-tenant.7.room"); occ["occupied"] != true || occ["user_count"] != float64(1) {
		t.Fatalf("channel info %v", occ)
	}
	users := get("/apps/" + testAppID + "/channels/presence-tenant.7.room/users")
	if b, _ := json.Marshal(users); string(b) != `{"users":[{"id":"4"}]}` {
		t.Fatalf("users %s", b)
	}
}

func TestPublisherRefusedIsAnAPIError(t *testing.T) {
	ts := newServer(t, nil)
	bad := publish.New(ts.http.URL, testAppID, testKey, "wrong-secret", nil)
	err := bad.Trigger(context.Background(), []string{"news"}, "e", "{}", "")
	var ae *publish.APIError
	if !errors.As(err, &ae) || ae.Status != 401 || !strings.Contains(ae.Message, "auth_signature") {
		t.Fatalf("err %v", err)
	}
	if err := bad.Trigger(context.Background(), nil, "e", "{}", ""); err == nil {
		t.Fatal("no channels accepted")
	}
}
