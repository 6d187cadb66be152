package realtime

import (
	"context"
	"hash/fnv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Pusher's watchlist: a socket signed in with user_data.watchlist (up to
// maxWatchlist user ids) gets pusher_internal:watchlist_events "online"
// when a watched user's first socket signs in on any replica, "offline"
// when their last one closes, and, right after signin_success, the watched
// users already online.
//
// In Redis, "{user:<id>}:online" maps each replica to whether it holds a
// signed-in socket of the user, and "node:<replica>:users" lists those
// users, so a dead replica's users go offline when it is reaped.
// Transitions travel over the bus's "#watchlist" control channel
// ("online\n<id>" or "offline\n<id>"), which, like the other control
// channels, no client can name.

const (
	watchlistChannel = "#watchlist"
	maxWatchlist     = 100 // Pusher's limit
	watchlistEvent   = "pusher_internal:watchlist_events"
)

func (b *cluster) onlineKey(user string) string { return b.p + "{user:" + user + "}:online" }

// onlineScript records whether replica ARGV[1] holds user KEYS[1]'s sockets
// (ARGV[2] "1" or "0") and answers 1 when the user came online over all
// replicas, -1 when they went offline, else 0.
var onlineScript = redis.NewScript(`
local had = redis.call('HLEN', KEYS[1])
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], ARGV[1], 1) else redis.call('HDEL', KEYS[1], ARGV[1]) end
local has = redis.call('HLEN', KEYS[1])
if had == 0 and has > 0 then return 1 end
if had > 0 and has == 0 then return -1 end
return 0`)

// setOnline records whether node holds user's sockets and announces a
// transition over all replicas.
func (b *cluster) setOnline(ctx context.Context, node, user string, online bool) error {
	arg := "0"
	if online {
		arg = "1"
		if err := b.rdb.SAdd(ctx, b.nodeKey(node, "users"), user).Err(); err != nil {
			return err
		}
	}
	n, err := onlineScript.Run(ctx, b.rdb, []string{b.onlineKey(user)}, node, arg).Int()
	if err != nil {
		b.s.m.busErrors.Inc()
		return err
	}
	if !online {
		if err := b.rdb.SRem(ctx, b.nodeKey(node, "users"), user).Err(); err != nil {
			return err
		}
	}
	switch n {
	case 1:
		return b.publish(ctx, watchlistChannel, "", []byte("online\n"+user), false)
	case -1:
		return b.publish(ctx, watchlistChannel, "", []byte("offline\n"+user), false)
	}
	return nil
}

// onlineOf returns which of ids are online on any replica.
func (b *cluster) onlineOf(ctx context.Context, ids []string) ([]string, error) {
	pipe := b.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HLen(ctx, b.onlineKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	var on []string
	for i, c := range cmds {
		if c.Val() > 0 {
			on = append(on, ids[i])
		}
	}
	return on, nil
}

// cleanupUsers takes a stopped replica's users offline.
func (b *cluster) cleanupUsers(ctx context.Context, node string) error {
	users, err := b.rdb.SMembers(ctx, b.nodeKey(node, "users")).Result()
	if err != nil {
		return err
	}
	for _, u := range users {
		if err := b.setOnline(ctx, node, u, false); err != nil {
			return err
		}
	}
	return b.rdb.Del(ctx, b.nodeKey(node, "users")).Err()
}

// watchers indexes this replica's sockets by the users they watch.
type watchers struct {
	mu sync.Mutex
	by map[string]map[*conn]struct{}
	// sync serialises each user's online record with the local state it
	// is read from, so a quick signin and close cannot land in Redis in
	// the wrong order; striped by user, so users do not wait on each other.
	sync [64]sync.Mutex
}

func (w *watchers) syncLock(user string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(user))
	return &w.sync[h.Sum32()%uint32(len(w.sync))]
}

func (w *watchers) add(c *conn, ids []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.by == nil {
		w.by = map[string]map[*conn]struct{}{}
	}
	for _, id := range ids {
		set := w.by[id]
		if set == nil {
			set = map[*conn]struct{}{}
			w.by[id] = set
		}
		set[c] = struct{}{}
	}
}

func (w *watchers) remove(c *conn, ids []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range ids {
		if set := w.by[id]; set != nil {
			delete(set, c)
			if len(set) == 0 {
				delete(w.by, id)
			}
		}
	}
}

func (w *watchers) of(id string) []*conn {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]*conn, 0, len(w.by[id]))
	for c := range w.by[id] {
		out = append(out, c)
	}
	return out
}

func watchlistFrame(name string, ids []string) []byte {
	type event struct {
		Name    string   `json:"name"`
		UserIDs []string `json:"user_ids"`
	}
	return encodeFrame(serverFrame{Event: watchlistEvent, Data: jsonStringOf(struct {
		Events []event `json:"events"`
	}{[]event{{name, ids}}})})
}

// deliverWatchlist sends a bus transition to this replica's watchers.
func (s *Server) deliverWatchlist(payload string) {
	name, id, ok := strings.Cut(payload, "\n")
	if !ok || (name != "online" && name != "offline") {
		return
	}
	cs := s.watch.of(id)
	if len(cs) == 0 {
		return
	}
	f := watchlistFrame(name, []string{id})
	for _, c := range cs {
		c.send(f)
	}
}

// syncOnline brings Redis in line with whether this replica holds a
// signed-in socket of user.
func (s *Server) syncOnline(ctx context.Context, user string) {
	mu := s.watch.syncLock(user)
	mu.Lock()
	defer mu.Unlock()
	s.mu.RLock()
	online := len(s.users[user]) > 0
	s.mu.RUnlock()
	if err := s.bus.setOnline(ctx, s.cfg.NodeID, user, online); err != nil {
		s.log.Error("realtime watchlist", "user_id", user, "err", err)
	}
}
