package realtime

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/realtime/channels"
	"github.com/palisade-hq/palisade/internal/realtime/publish"
)

// TestMain doubles as the child replica of TestKilledReplica: with
// PALISADE_REALTIME_TEST_CHILD=1 the test binary runs one server and never
// returns, so the parent can kill -9 it.
func TestMain(m *testing.M) {
	if os.Getenv("PALISADE_REALTIME_TEST_CHILD") == "1" {
		runChild()
		return
	}
	os.Exit(m.Run())
}

func runChild() {
	opt, err := redis.ParseURL(os.Getenv("PALISADE_REALTIME_TEST_REDIS"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ttl, _ := time.ParseDuration(os.Getenv("PALISADE_REALTIME_TEST_TTL"))
	cfg := testConfig(os.Getenv("PALISADE_REALTIME_TEST_PREFIX"))
	cfg.PresenceTTL = ttl
	s, err := NewServer(cfg, redis.NewClient(opt), slog.New(slog.NewTextHandler(os.Stderr, nil)), nil, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("LISTEN %s\n", ln.Addr())
	_ = http.Serve(ln, s.Handler())
}

func TestTwoReplicasShareChannelsAndPresence(t *testing.T) {
	rdb, _ := testRedis(t)
	cfg := testConfig(testPrefix(t, rdb))
	a := startServer(t, rdb, cfg, nil)
	b := startServer(t, rdb, cfg, nil)

	onA, onB := connect(t, a), connect(t, b)
	onA.subscribeSigned("news", nil)
	onB.subscribeSigned("news", nil)
	if err := publisher(a).Trigger(context.Background(), []string{"news"}, "story", "from-a", ""); err != nil {
		t.Fatal(err)
	}
	if f := onB.expect("story"); f.dataString() != "from-a" {
		t.Fatalf("B got %s", f.dataString())
	}
	if f := onA.expect("story"); f.dataString() != "from-a" {
		t.Fatalf("A got %s", f.dataString())
	}
	// Exclusion by socket id works across replicas.
	if err := publisher(b).Trigger(context.Background(), []string{"news"}, "story", "not-for-a", onA.socketID); err != nil {
		t.Fatal(err)
	}
	onB.expect("story")
	onA.expectNothing(300 * time.Millisecond)

	const room = "presence-tenant.7.room"
	onA.subscribeSigned(room, &channels.PresenceMember{UserID: "1"})
	f := onB.subscribeSigned(room, &channels.PresenceMember{UserID: "2"})
	if !strings.Contains(f.dataString(), `"ids":["1","2"]`) {
		t.Fatalf("B's member list: %s", f.dataString())
	}
	if added := onA.expect("pusher_internal:member_added"); added.dataString() != `{"user_id":"2","user_info":null}` {
		t.Fatalf("member_added %s", added.dataString())
	}
	onB.sendJSON(map[string]any{"event": "client-hi", "channel": room, "data": map[string]any{}})
	if ev := onA.expect("client-hi"); ev.UserID != "2" {
		t.Fatalf("client event across replicas %+v", ev)
	}
	_ = onB.c.Close()
	if removed := onA.expect("pusher_internal:member_removed"); removed.dataString() != `{"user_id":"2"}` {
		t.Fatalf("member_removed %s", removed.dataString())
	}
}

// A replica killed with SIGKILL leaves its presence members in Redis; the
// survivor removes them (member_removed) once its heartbeat is PresenceTTL
// old.
func TestKilledReplica(t *testing.T) {
	rdb, url := testRedis(t)
	prefix := testPrefix(t, rdb)
	const ttl = 2 * time.Second
	cfg := testConfig(prefix)
	cfg.PresenceTTL = ttl
	survivor := startServer(t, rdb, cfg, nil)

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "PALISADE_REALTIME_TEST_CHILD=1", "PALISADE_REALTIME_TEST_REDIS="+url,
		"PALISADE_REALTIME_TEST_PREFIX="+prefix, "PALISADE_REALTIME_TEST_TTL="+ttl.String())
	child.Stderr = testWriter{t}
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "LISTEN ")
	if err != nil || !ok {
		t.Fatalf("child said %q: %v", line, err)
	}

	const room = "presence-tenant.7.room"
	watcher := connect(t, survivor)
	watcher.subscribeSigned(room, &channels.PresenceMember{UserID: "1"})
	ghost := newClient(t, dialRaw(t, "ws://"+addr+"/app/"+testKey+"?protocol=7"))
	ghost.socketID = socketIDOf(t, ghost.expect("pusher:connection_established"))
	ghost.subscribeSigned(room, &channels.PresenceMember{UserID: "66"})
	watcher.expect("pusher_internal:member_added")

	killed := time.Now()
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	removed := watcher.expect("pusher_internal:member_removed")
	took := time.Since(killed)
	if removed.dataString() != `{"user_id":"66"}` {
		t.Fatalf("member_removed %s", removed.dataString())
	}
	// At most TTL plus one heartbeat interval (TTL/3) plus slack.
	if limit := ttl + ttl/3 + time.Second; took > limit {
		t.Fatalf("ghost removed after %s, want under %s", took, limit)
	}
	t.Logf("killed replica's member removed after %s (PresenceTTL %s)", took.Round(time.Millisecond), ttl)
	members, err := survivor.bus.presenceMembers(context.Background(), room)
	if err != nil || members.Count != 1 || members.IDs[0] != "1" {
		t.Fatalf("members after cleanup %+v %v", members, err)
	}
	// member_removed goes out before the reaper clears the dead replica's
	// occupancy and records; those follow within a moment.
	waitFor(t, func() bool {
		keys, err := rdb.Keys(context.Background(), prefix+"node:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if !strings.Contains(k, survivor.cfg.NodeID) {
				return false
			}
		}
		return true
	})
}

func socketIDOf(t *testing.T, f frame) string {
	t.Helper()
	s := f.dataString()
	_, rest, _ := strings.Cut(s, `"socket_id":"`)
	id, _, _ := strings.Cut(rest, `"`)
	if !channels.ValidSocketID(id) {
		t.Fatalf("no socket id in %s", s)
	}
	return id
}

// A sequential publisher alternating between two replicas (each answer
// awaited before the next call) is seen in its order by subscribers on
// both: every replica delivers only what comes back from the Redis bus, its
// own messages included.
func TestOrderAcrossReplicas(t *testing.T) {
	rdb, _ := testRedis(t)
	cfg := testConfig(testPrefix(t, rdb))
	a := startServer(t, rdb, cfg, nil)
	b := startServer(t, rdb, cfg, nil)
	subs := []*wsClient{connect(t, a), connect(t, b), connect(t, a), connect(t, b)}
	for _, s := range subs {
		s.subscribeSigned("ticker", nil)
	}
	pubs := []*publish.Client{publisher(a), publisher(b)}
	const n = 200
	for i := range n {
		if err := pubs[i%2].Trigger(context.Background(), []string{"ticker"}, "tick", strconv.Itoa(i), ""); err != nil {
			t.Fatal(err)
		}
	}
	for k, s := range subs {
		var got []int
		for len(got) < n {
			f := s.expect("tick")
			v, err := strconv.Atoi(f.dataString())
			if err != nil {
				t.Fatalf("subscriber %d: data %q", k, f.dataString())
			}
			got = append(got, v)
		}
		outOfOrder := 0
		for i, v := range got {
			if v != i {
				outOfOrder++
			}
		}
		if outOfOrder > 0 {
			t.Errorf("subscriber %d (replica %c) saw %d of %d events out of order: %v", k, "ab"[k%2], outOfOrder, n, got)
		}
	}
}
