package realtime

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/realtime/channels"
)

// signinWatching signs cl in as id watching the given users.
func (cl *wsClient) signinWatching(id string, watch []string) frame {
	cl.t.Helper()
	ua, err := channels.SignUser(testKey, testSecret, cl.socketID, channels.UserData{ID: id, Watchlist: watch})
	if err != nil {
		cl.t.Fatal(err)
	}
	cl.sendJSON(map[string]any{"event": "pusher:signin", "data": ua})
	return cl.expect("pusher:signin_success")
}

// TestWatchlist: a watcher hears "online" when a watched user's first
// socket signs in on any replica and "offline" when the last one closes,
// gets the already-online users right after signin, and a dead replica's
// users go offline when it is reaped. A bad watchlist is refused with 4009.
func TestWatchlist(t *testing.T) {
	rdb, _ := testRedis(t)
	cfg := testConfig(testPrefix(t, rdb))
	cfg.PresenceTTL = 2 * time.Second
	a := startServer(t, rdb, cfg, nil)
	b := startServer(t, rdb, cfg, nil)

	early := connect(t, b)
	early.signin("8") // online before the watcher signs in

	w := connect(t, a)
	w.signinWatching("1", []string{"7", "8", "9"})
	if f := w.expect(watchlistEvent); f.dataString() != `{"events":[{"name":"online","user_ids":["8"]}]}` {
		t.Fatalf("initial watchlist events %s", f.dataString())
	}

	seven := connect(t, b)
	seven.signin("7")
	if f := w.expect(watchlistEvent); f.dataString() != `{"events":[{"name":"online","user_ids":["7"]}]}` {
		t.Fatalf("online %s", f.dataString())
	}
	again := connect(t, a) // a second socket of 7: still one online user
	again.signin("7")
	w.expectNothing(300 * time.Millisecond)
	_ = seven.c.Close()
	w.expectNothing(300 * time.Millisecond)
	_ = again.c.Close()
	if f := w.expect(watchlistEvent); f.dataString() != `{"events":[{"name":"offline","user_ids":["7"]}]}` {
		t.Fatalf("offline %s", f.dataString())
	}
	// Someone not watched comes and goes unheard.
	other := connect(t, b)
	other.signin("10")
	w.expectNothing(300 * time.Millisecond)

	// Replica b stops without closing its sockets' records cleanly: its
	// reaped users go offline.
	if err := b.bus.cleanupNode(context.Background(), b.cfg.NodeID); err != nil {
		t.Fatal(err)
	}
	if f := w.expect(watchlistEvent); f.dataString() != `{"events":[{"name":"offline","user_ids":["8"]}]}` {
		t.Fatalf("reaped replica's user %s", f.dataString())
	}

	bad := connect(t, a)
	many := make([]string, maxWatchlist+1)
	for i := range many {
		many[i] = "1"
	}
	for _, wl := range [][]string{many, {"x y"}} {
		ua, _ := channels.SignUser(testKey, testSecret, bad.socketID, channels.UserData{ID: "2", Watchlist: wl})
		bad.sendJSON(map[string]any{"event": "pusher:signin", "data": ua})
		if f := bad.expect("pusher:error"); !strings.Contains(string(f.Data), "4009") || !strings.Contains(f.dataString(), "watchlist") {
			t.Errorf("watchlist %v answered %s", wl[:1], f.Data)
		}
	}
	// The refused socket is not signed in: it can still sign in properly.
	bad.signinWatching("2", nil)
}
