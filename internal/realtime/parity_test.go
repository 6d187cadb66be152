package realtime

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/realtime/channels"
	"github.com/palisade-hq/palisade/internal/realtime/publish"
	"github.com/palisade-hq/palisade/internal/realtime/sign"
)

// signin sends pusher:signin for user id and returns the answer.
func (cl *wsClient) signin(id string) frame {
	cl.t.Helper()
	ua, err := channels.SignUser(testKey, testSecret, cl.socketID, channels.UserData{ID: id, UserInfo: map[string]string{"name": "user " + id}})
	if err != nil {
		cl.t.Fatal(err)
	}
	cl.sendJSON(map[string]any{"event": "pusher:signin", "data": ua})
	f, err := cl.next(5 * time.Second)
	if err != nil {
		cl.t.Fatalf("signin answer: %v", err)
	}
	return f
}

func signedGet(t *testing.T, ts *testServer, path string, extra map[string]string) (int, map[string]any) {
	t.Helper()
	q := publish.SignedQuery(testKey, testSecret, http.MethodGet, path, nil, time.Now())
	for k, v := range extra {
		q.Set(k, v)
	}
	q.Del("auth_signature")
	q.Set("auth_signature", sign.Request(testSecret, http.MethodGet, path, q))
	resp, err := ts.http.Client().Get(ts.http.URL + path + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func TestSigninAndServerToUser(t *testing.T) {
	ts := newServer(t, nil)
	a := connect(t, ts)
	other := connect(t, ts)

	// Before signing in, the user channel is refused.
	a.subscribe("#server-to-user-42", "", "")
	if f := a.expect("pusher:subscription_error"); f.Channel != "#server-to-user-42" {
		t.Fatalf("subscription_error for %q", f.Channel)
	}

	// A signature for another socket is refused.
	ua, _ := channels.SignUser(testKey, testSecret, other.socketID, channels.UserData{ID: "42"})
	a.sendJSON(map[string]any{"event": "pusher:signin", "data": ua})
	if f := a.expect("pusher:error"); !strings.Contains(string(f.Data), "4009") {
		t.Fatalf("forged signin answered %s", f.Data)
	}

	f := a.signin("42")
	if f.Event != "pusher:signin_success" {
		t.Fatalf("signin answered %+v", f)
	}
	var d struct {
		UserData string `json:"user_data"`
	}
	if err := json.Unmarshal([]byte(f.dataString()), &d); err != nil || !strings.Contains(d.UserData, `"id":"42"`) {
		t.Fatalf("signin_success data %s: %v", f.dataString(), err)
	}
	a.subscribeSigned("#server-to-user-42", nil)
	// Someone else cannot listen to user 42.
	other.subscribe("#server-to-user-42", "", "")
	other.expect("pusher:subscription_error")

	if err := publisher(ts).Trigger(context.Background(), []string{"#server-to-user-42"}, "note", "for 42", ""); err != nil {
		t.Fatal(err)
	}
	if f := a.expect("note"); f.dataString() != "for 42" || f.Channel != "#server-to-user-42" {
		t.Fatalf("sendToUser delivered %+v", f)
	}
	other.expectNothing(200 * time.Millisecond)
	// Signing in again as someone else on the same socket is refused.
	if f := a.signin("43"); f.Event != "pusher:error" {
		t.Fatalf("second signin as another user answered %+v", f)
	}
}

func TestTerminateConnections(t *testing.T) {
	rdb, _ := testRedis(t)
	cfg := testConfig(testPrefix(t, rdb))
	a := startServer(t, rdb, cfg, nil)
	b := startServer(t, rdb, cfg, nil)
	signed := connect(t, a)
	signed.signin("5")
	member := connect(t, b) // on the other replica, a presence member as user 5
	member.subscribeSigned("presence-tenant.7.room", &channels.PresenceMember{UserID: "5"})
	owner := connect(t, b) // subscribed to user 5's own channel
	owner.subscribeSigned("private-tenant.7.user.5", nil)
	bystander := connect(t, a)
	bystander.signin("6")
	bystander.subscribeSigned("presence-tenant.7.room", &channels.PresenceMember{UserID: "6"})

	path := "/apps/" + testAppID + "/users/5/terminate_connections"
	if code, body := signedPost(t, a, path, "{}", time.Now(), nil); code != http.StatusOK {
		t.Fatalf("terminate_connections: %d %s", code, body)
	}
	for name, cl := range map[string]*wsClient{"signed in": signed, "presence member": member, "user channel": owner} {
		if code := cl.expectClose(5 * time.Second); code != CodeReconnect {
			t.Errorf("%s socket closed with %d, want %d", name, code, CodeReconnect)
		}
	}
	bystander.expect("pusher_internal:member_removed")
	bystander.sendJSON(map[string]any{"event": "pusher:ping", "data": map[string]any{}})
	bystander.expect("pusher:pong")

	if code, _ := signedPost(t, a, "/apps/"+testAppID+"/users/x!y/terminate_connections", "{}", time.Now(), nil); code != http.StatusBadRequest {
		t.Errorf("bad user id: %d, want 400", code)
	}
	// Signed over the path as sent, percent-encoding included: still the
	// bad id's 400, not a signature failure.
	if code, body := signedPost(t, a, "/apps/"+testAppID+"/users/x%20y/terminate_connections", "{}", time.Now(), nil); code != http.StatusBadRequest {
		t.Errorf("percent-encoded bad user id: %d %s, want 400", code, body)
	}

	// A tenant's termination closes its subscribers only, through the
	// publisher the api uses.
	other := connect(t, b)
	other.subscribeSigned("private-tenant.8.orders", nil)
	public := connect(t, b)
	public.subscribeSigned("news", nil)
	if err := publisher(a).TerminateTenantConnections(context.Background(), 7); err != nil {
		t.Fatal(err)
	}
	if code := bystander.expectClose(5 * time.Second); code != CodeReconnect {
		t.Errorf("tenant 7's socket closed with %d", code)
	}
	for _, cl := range []*wsClient{other, public} {
		cl.sendJSON(map[string]any{"event": "pusher:ping", "data": map[string]any{}})
		cl.expect("pusher:pong")
	}
	if err := publisher(a).TerminateUserConnections(context.Background(), "8"); err != nil {
		t.Fatal(err)
	}
}

func TestConnectionsAndInfoAttributes(t *testing.T) {
	rdb, _ := testRedis(t)
	cfg := testConfig(testPrefix(t, rdb))
	a := startServer(t, rdb, cfg, nil)
	b := startServer(t, rdb, cfg, nil)
	const room = "presence-tenant.7.room"
	c1, c2, c3 := connect(t, a), connect(t, b), connect(t, b)
	c1.subscribeSigned(room, &channels.PresenceMember{UserID: "1"})
	c2.subscribeSigned(room, &channels.PresenceMember{UserID: "2"})
	c3.subscribeSigned(room, &channels.PresenceMember{UserID: "2"}) // the same user twice
	c3.subscribeSigned("news", nil)

	// Occupancy counts reach Redis from a background loop; connection
	// counts with the heartbeat.
	waitFor(t, func() bool {
		_, out := signedGet(t, a, "/apps/"+testAppID+"/channels/"+room, map[string]string{"info": "subscription_count,user_count"})
		return out["subscription_count"] == float64(3)
	})
	_, out := signedGet(t, a, "/apps/"+testAppID+"/channels/"+room, map[string]string{"info": "subscription_count,user_count"})
	if out["occupied"] != true || out["user_count"] != float64(2) {
		t.Errorf("channel info %v", out)
	}
	if code, _ := signedGet(t, a, "/apps/"+testAppID+"/channels/news", map[string]string{"info": "user_count"}); code != http.StatusBadRequest {
		t.Errorf("user_count of a public channel: %d, want 400", code)
	}
	if code, _ := signedGet(t, a, "/apps/"+testAppID+"/channels/news", map[string]string{"info": "bogus"}); code != http.StatusBadRequest {
		t.Errorf("unknown attribute: %d, want 400", code)
	}

	code, out := signedGet(t, a, "/apps/"+testAppID+"/channels", map[string]string{"info": "user_count", "filter_by_prefix": "presence-"})
	if code != http.StatusOK || !strings.Contains(mustJSON(t, out), `"presence-tenant.7.room":{"user_count":2}`) {
		t.Errorf("channel list with user_count: %d %s", code, mustJSON(t, out))
	}
	if code, _ := signedGet(t, a, "/apps/"+testAppID+"/channels", map[string]string{"info": "user_count"}); code != http.StatusBadRequest {
		t.Errorf("user_count without the presence- filter: %d, want 400", code)
	}

	body := `{"name":"e","channels":["news","` + room + `"],"data":"{}","info":"subscription_count,user_count"}`
	code, resp := signedPost(t, a, "/apps/"+testAppID+"/events", body, time.Now(), nil)
	if code != http.StatusOK || resp != `{"channels":{"news":{"subscription_count":1},"presence-tenant.7.room":{"subscription_count":3,"user_count":2}}}`+"\n" {
		t.Errorf("trigger with info: %d %s", code, resp)
	}
	body = `{"batch":[{"name":"e","channel":"news","data":"{}","info":"subscription_count"},{"name":"e","channel":"news","data":"{}"}]}`
	code, resp = signedPost(t, a, "/apps/"+testAppID+"/batch_events", body, time.Now(), nil)
	if code != http.StatusOK || resp != `{"batch":[{"subscription_count":1},{}]}`+"\n" {
		t.Errorf("batch with info: %d %s", code, resp)
	}

	waitFor(t, func() bool {
		_, out := signedGet(t, a, "/apps/"+testAppID+"/connections", nil)
		return out["connections"] == float64(3)
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCacheChannels(t *testing.T) {
	rdb, _ := testRedis(t)
	cfg := testConfig(testPrefix(t, rdb))
	cfg.WebhookURL = "http://hooks.invalid/pusher"
	sink := &recordingSink{}
	ts := startServer(t, rdb, cfg, sink)
	for _, ch := range []string{"cache-news", "private-cache-tenant.7.feed", "presence-cache-tenant.7.room"} {
		var member *channels.PresenceMember
		if channels.KindOf(ch) == channels.KindPresence {
			member = &channels.PresenceMember{UserID: "1"}
		}
		early := connect(t, ts)
		early.subscribeSigned(ch, member)
		if f := early.expect("pusher:cache_miss"); f.Channel != ch {
			t.Fatalf("cache_miss for %q, want %q", f.Channel, ch)
		}
		if err := publisher(ts).Trigger(context.Background(), []string{ch}, "price", `{"v":1}`, ""); err != nil {
			t.Fatal(err)
		}
		if err := publisher(ts).Trigger(context.Background(), []string{ch}, "price", `{"v":2}`, ""); err != nil {
			t.Fatal(err)
		}
		early.expect("price")
		late := connect(t, ts)
		late.subscribeSigned(ch, member)
		f := late.expect("price")
		if f.Channel != ch || f.dataString() != `{"v":2}` {
			t.Fatalf("late subscriber of %s got %+v %s, want the last event", ch, f, f.dataString())
		}
	}
	// A plain channel neither caches nor misses.
	plain := connect(t, ts)
	plain.subscribeSigned("news", nil)
	plain.expectNothing(200 * time.Millisecond)
	waitFor(t, func() bool {
		n := 0
		for _, name := range sink.names() {
			if strings.HasPrefix(name, HookCacheMiss+":") {
				n++
			}
		}
		return n == 3
	})
}

func TestEncryptedChannelRelaysCiphertext(t *testing.T) {
	ts := newServer(t, nil)
	master := []byte(strings.Repeat("k", channels.EncryptionMasterKeyLen))
	const ch = "private-encrypted-tenant.7.secrets"
	a := connect(t, ts)
	resp, err := channels.SignEncryptedChannel(testKey, testSecret, master, a.socketID, ch)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := base64.StdEncoding.DecodeString(resp.SharedSecret); len(got) != 32 {
		t.Fatalf("shared secret %q", resp.SharedSecret)
	}
	if _, err := channels.SignChannel(testKey, testSecret, a.socketID, ch, nil); err == nil {
		t.Fatal("SignChannel signed an encrypted channel without a key")
	}
	a.subscribe(ch, resp.Auth, "")
	a.expect("pusher_internal:subscription_succeeded")
	cipher := `{"nonce":"bm9uY2U=","ciphertext":"Y2lwaGVy"}`
	if err := publisher(ts).Trigger(context.Background(), []string{ch}, "msg", cipher, ""); err != nil {
		t.Fatal(err)
	}
	if f := a.expect("msg"); f.dataString() != cipher {
		t.Fatalf("relayed %s", f.dataString())
	}
	a.sendJSON(map[string]any{"event": "client-x", "channel": ch, "data": map[string]any{}})
	if f := a.expect("pusher:error"); !strings.Contains(string(f.Data), "4301") {
		t.Fatalf("client event on an encrypted channel answered %s", f.Data)
	}
	// Another tenant's encrypted channel stays closed to a signed request
	// only if the auth endpoint refuses it; here, an encrypted channel
	// outside the tenant rule is refused by the server itself.
	a.subscribe("private-encrypted-orders", sign.ChannelAuth(testKey, testSecret, a.socketID, "private-encrypted-orders", ""), "")
	a.expect("pusher:subscription_error")
	body := `{"name":"e","channels":["` + ch + `","news"],"data":"x"}`
	if code, _ := signedPost(t, ts, "/apps/"+testAppID+"/events", body, time.Now(), nil); code != http.StatusBadRequest {
		t.Errorf("encrypted channel among others: %d, want 400", code)
	}
}
