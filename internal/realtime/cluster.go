package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// cluster is what replicas share through Redis:
//
//	<p>bus                       pub/sub: every channel message, tagged with its origin
//	<p>nodes                     sorted set: replica → last heartbeat (unix ms)
//	<p>counts                    hash: replica → its connection counts (for limits)
//	<p>occupied                  set: channels with subscribers anywhere
//	<p>{ch:<name>}:occ           hash: replica → 1 while it has subscribers
//	<p>{ch:<name>}:socks/users/info   presence: socket → user, user → sockets, user → info
//	<p>node:<id>:chans           set: channels the replica occupies
//	<p>node:<id>:pres            hash: "<channel>\n<socket>" → user, its presence entries
//
// A replica that misses heartbeats for PresenceTTL is claimed by one
// survivor (ZREM is the lock), which removes its presence members (sending
// member_removed) and its occupancy. Liveness uses the replicas' clocks, not
// key expiry, so it behaves the same on miniredis.
type cluster struct {
	s    *Server
	rdb  redis.UniversalClient
	p    string
	node string
	ps   *redis.PubSub

	others   atomic.Pointer[nodeCounts]
	stopping atomic.Bool // set by stop: no more heartbeats

	hbMu sync.Mutex
	dmu  sync.Mutex
	// syncMu serialises syncOccupancy.
	syncMu sync.Mutex
	dirty  map[string]struct{}
	kick   chan struct{}
}

// nodeCounts is one replica's (or the sum of the others') connections.
type nodeCounts struct {
	App     int           `json:"app"`
	Tenants map[int64]int `json:"tenants,omitempty"`
}

var (
	// KEYS socks, users, info; ARGV socket, user, info. Returns 1 when the
	// user was not present before (member_added).
	presenceAddScript = redis.NewScript(`
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
local n = redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
if n == 1 then return 1 end
return 0`)
	// KEYS socks, users, info; ARGV socket. Returns the user id when that
	// was the user's last socket (member_removed), else "".
	presenceRemoveScript = redis.NewScript(`
local u = redis.call('HGET', KEYS[1], ARGV[1])
if not u then return '' end
redis.call('HDEL', KEYS[1], ARGV[1])
local n = redis.call('HINCRBY', KEYS[2], u, -1)
if n <= 0 then
  redis.call('HDEL', KEYS[2], u)
  redis.call('HDEL', KEYS[3], u)
  return u
end
return ''`)
	// KEYS occ; ARGV node, its subscriber count (0 clears). Returns 1 when
	// the channel became occupied, -1 when it became vacant, else 0.
	occupancyScript = redis.NewScript(`
if ARGV[2] ~= '0' then
  if redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) == 1 and redis.call('HLEN', KEYS[1]) == 1 then return 1 end
  return 0
end
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 and redis.call('HLEN', KEYS[1]) == 0 then return -1 end
return 0`)
)

func newCluster(s *Server, rdb redis.UniversalClient) *cluster {
	b := &cluster{s: s, rdb: rdb, p: s.cfg.RedisPrefix, node: s.cfg.NodeID,
		dirty: make(map[string]struct{}), kick: make(chan struct{}, 1)}
	b.others.Store(&nodeCounts{})
	return b
}

func (b *cluster) busKey() string              { return b.p + "bus" }
func (b *cluster) nodesKey() string            { return b.p + "nodes" }
func (b *cluster) countsKey() string           { return b.p + "counts" }
func (b *cluster) occupiedKey() string         { return b.p + "occupied" }
func (b *cluster) chKey(ch, k string) string   { return b.p + "{ch:" + ch + "}:" + k }
func (b *cluster) nodeKey(id, k string) string { return b.p + "node:" + id + ":" + k }

func (b *cluster) start(ctx context.Context) error {
	b.ps = b.rdb.Subscribe(ctx, b.busKey())
	sctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	if _, err := b.ps.Receive(sctx); err != nil {
		_ = b.ps.Close()
		return fmt.Errorf("realtime: subscribe to redis: %w", err)
	}
	if err := b.heartbeat(sctx); err != nil {
		_ = b.ps.Close()
		return fmt.Errorf("realtime: register replica: %w", err)
	}
	msgs := b.ps.Channel(redis.WithChannelSize(8192))
	b.s.wg.Add(3)
	go func() { defer b.s.wg.Done(); b.receive(msgs) }()
	go func() { defer b.s.wg.Done(); b.heartbeatLoop(ctx) }()
	go func() { defer b.s.wg.Done(); b.occupancyLoop(ctx) }()
	return nil
}

// stop settles occupancy (every channel is empty by now) and removes this
// replica's records.
func (b *cluster) stop(ctx context.Context) error {
	b.stopping.Store(true)
	b.hbMu.Lock() // wait out a heartbeat in flight
	defer b.hbMu.Unlock()
	var errs []error
	if err := b.syncOccupancy(ctx); err != nil {
		errs = append(errs, err)
	}
	// Presence entries were removed socket by socket; whatever a failure
	// left behind goes the way of a dead replica's.
	if err := b.cleanupNode(ctx, b.node); err != nil {
		errs = append(errs, err)
	}
	if err := b.rdb.ZRem(ctx, b.nodesKey(), b.node).Err(); err != nil {
		errs = append(errs, err)
	}
	if err := b.ps.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("realtime: leave cluster: %w", err)
	}
	return nil
}

// Bus messages are "<origin>\n<channel>\n<except socket>\n<frame>": channel
// names and socket ids cannot hold a newline.
// cache also stores frame as the channel's last event, for cacheTTL, before
// it is published.
func (b *cluster) publish(ctx context.Context, channel, except string, frame []byte, cache bool) error {
	var sb strings.Builder
	sb.Grow(len(b.node) + len(channel) + len(except) + len(frame) + 3)
	sb.WriteString(b.node)
	sb.WriteByte('\n')
	sb.WriteString(channel)
	sb.WriteByte('\n')
	sb.WriteString(except)
	sb.WriteByte('\n')
	sb.Write(frame)
	var err error
	if cache {
		pipe := b.rdb.Pipeline()
		pipe.Set(ctx, b.chKey(channel, "cache"), frame, cacheTTL)
		pipe.Publish(ctx, b.busKey(), sb.String())
		_, err = pipe.Exec(ctx)
	} else {
		err = b.rdb.Publish(ctx, b.busKey(), sb.String()).Err()
	}
	if err != nil {
		b.s.m.busErrors.Inc()
		return fmt.Errorf("realtime: publish: %w", err)
	}
	return nil
}

// cacheTTL is how long a cache channel keeps its last event (Pusher's 30
// minutes).
const cacheTTL = 30 * time.Minute

// cached returns a cache channel's last event.
func (b *cluster) cached(ctx context.Context, channel string) ([]byte, bool, error) {
	v, err := b.rdb.Get(ctx, b.chKey(channel, "cache")).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		b.s.m.busErrors.Inc()
		return nil, false, err
	}
	return v, true, nil
}

// receive delivers every bus message, this replica's own as well, in the
// order Redis sent them. It alone feeds the fan-out workers.
func (b *cluster) receive(msgs <-chan *redis.Message) {
	defer b.s.stopFanout()
	for m := range msgs {
		parts := strings.SplitN(m.Payload, "\n", 4)
		if len(parts) != 4 {
			continue
		}
		if parts[1] == terminateChannel {
			b.s.terminateLocal(parts[3])
			continue
		}
		if parts[1] == watchlistChannel {
			b.s.deliverWatchlist(parts[3])
			continue
		}
		b.s.deliverLocal(parts[1], parts[2], []byte(parts[3]))
	}
}

func (b *cluster) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(b.s.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		hctx, cancel := context.WithTimeout(ctx, redisTimeout)
		if err := b.heartbeat(hctx); err != nil && ctx.Err() == nil {
			b.s.log.Error("realtime heartbeat", "err", err)
		}
		cancel()
	}
}

// heartbeat records this replica as alive with its counts, reaps replicas
// that stopped, and sums the counts of the live others.
func (b *cluster) heartbeat(ctx context.Context) error {
	b.hbMu.Lock()
	defer b.hbMu.Unlock()
	if b.stopping.Load() {
		return nil
	}
	now := b.s.now()
	counts, _ := json.Marshal(b.s.localCounts())
	pipe := b.rdb.Pipeline()
	added := pipe.ZAdd(ctx, b.nodesKey(), redis.Z{Score: float64(now.UnixMilli()), Member: b.node})
	pipe.HSet(ctx, b.countsKey(), b.node, counts)
	if _, err := pipe.Exec(ctx); err != nil {
		return err
	}
	if added.Val() == 1 && b.s.Stats().Connections > 0 {
		// Others declared this replica dead (a long pause) and removed its
		// presence entries; its sockets are alive, so put them back.
		b.s.log.Warn("realtime replica was reaped while alive; re-registering its presence")
		b.reregister(ctx)
	}
	cutoff := strconv.FormatInt(now.Add(-b.s.cfg.PresenceTTL).UnixMilli(), 10)
	dead, err := b.rdb.ZRangeByScore(ctx, b.nodesKey(), &redis.ZRangeBy{Min: "-inf", Max: "(" + cutoff}).Result()
	if err != nil {
		return err
	}
	for _, id := range dead {
		if id == b.node {
			continue
		}
		// ZREM succeeds for exactly one survivor: that one cleans up.
		if n, err := b.rdb.ZRem(ctx, b.nodesKey(), id).Result(); err != nil || n != 1 {
			continue
		}
		b.s.log.Warn("realtime replica stopped heartbeating; removing its presence", "dead_node", id)
		if err := b.cleanupNode(ctx, id); err != nil {
			b.s.log.Error("realtime cleanup of dead replica", "dead_node", id, "err", err)
		}
	}
	live, err := b.rdb.ZRangeByScore(ctx, b.nodesKey(), &redis.ZRangeBy{Min: cutoff, Max: "+inf"}).Result()
	if err != nil {
		return err
	}
	sum := &nodeCounts{Tenants: map[int64]int{}}
	var ids []string
	for _, id := range live {
		if id != b.node {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		vals, err := b.rdb.HMGet(ctx, b.countsKey(), ids...).Result()
		if err != nil {
			return err
		}
		for _, v := range vals {
			str, ok := v.(string)
			if !ok {
				continue
			}
			var nc nodeCounts
			if json.Unmarshal([]byte(str), &nc) != nil {
				continue
			}
			sum.App += nc.App
			for t, n := range nc.Tenants {
				sum.Tenants[t] += n
			}
		}
	}
	b.others.Store(sum)
	return nil
}

func (b *cluster) othersApp() int { return b.others.Load().App }

func (b *cluster) othersTenant(t int64) int { return b.others.Load().Tenants[t] }

// cleanupNode removes replica id's presence members (announcing those who
// left) and its channel occupancy.
func (b *cluster) cleanupNode(ctx context.Context, id string) error {
	entries, err := b.rdb.HGetAll(ctx, b.nodeKey(id, "pres")).Result()
	if err != nil {
		return err
	}
	var errs []error
	for field := range entries {
		channel, socket, ok := strings.Cut(field, "\n")
		if !ok {
			continue
		}
		user, removed, err := b.presenceRemoveFor(ctx, id, channel, socket)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if removed {
			if err := b.s.publish(ctx, channel, "", memberRemovedFrame(channel, user)); err != nil {
				errs = append(errs, err)
			}
			b.s.hooks.emit(WebhookEvent{Name: HookMemberRemoved, Channel: channel, UserID: user})
		}
	}
	chans, err := b.rdb.SMembers(ctx, b.nodeKey(id, "chans")).Result()
	if err != nil {
		errs = append(errs, err)
	}
	for _, ch := range chans {
		if err := b.setOccupancy(ctx, id, ch, 0); err != nil {
			errs = append(errs, err)
		}
	}
	if err := b.cleanupUsers(ctx, id); err != nil {
		errs = append(errs, err)
	}
	if err := b.rdb.Del(ctx, b.nodeKey(id, "pres"), b.nodeKey(id, "chans")).Err(); err != nil {
		errs = append(errs, err)
	}
	if err := b.rdb.HDel(ctx, b.countsKey(), id).Err(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// reregister puts this replica's presence entries and occupancy back.
func (b *cluster) reregister(ctx context.Context) {
	b.s.mu.RLock()
	conns := make([]*conn, 0, len(b.s.conns))
	for c := range b.s.conns {
		conns = append(conns, c)
	}
	names := make([]string, 0, len(b.s.channels))
	for name := range b.s.channels {
		names = append(names, name)
	}
	b.s.mu.RUnlock()
	for _, c := range conns {
		c.smu.Lock()
		subs := make([]*subscription, 0, len(c.subs))
		for _, sub := range c.subs {
			subs = append(subs, sub)
		}
		c.smu.Unlock()
		for _, sub := range subs {
			if sub.presence == nil {
				continue
			}
			added, err := b.presenceAdd(ctx, sub.channel, c.id, sub.presence)
			if err == nil && added {
				_ = b.s.publish(ctx, sub.channel, c.id, memberAddedFrame(sub.channel, sub.presence))
			}
		}
	}
	for _, n := range names {
		b.markDirty(n)
	}
	b.s.mu.RLock()
	users := make([]string, 0, len(b.s.users))
	for u := range b.s.users {
		users = append(users, u)
	}
	b.s.mu.RUnlock()
	for _, u := range users {
		b.s.syncOnline(ctx, u)
	}
}

type presenceList struct {
	IDs   []string                   `json:"ids"`
	Hash  map[string]json.RawMessage `json:"hash"`
	Count int                        `json:"count"`
}

func (b *cluster) presenceAdd(ctx context.Context, channel, socket string, p *presenceData) (bool, error) {
	keys := []string{b.chKey(channel, "socks"), b.chKey(channel, "users"), b.chKey(channel, "info")}
	// The node record first: if we die between the two, the reaper finds
	// nothing to remove, which is harmless; the other order could leak.
	if err := b.rdb.HSet(ctx, b.nodeKey(b.node, "pres"), channel+"\n"+socket, p.UserID).Err(); err != nil {
		b.s.m.busErrors.Inc()
		return false, err
	}
	n, err := presenceAddScript.Run(ctx, b.rdb, keys, socket, p.UserID, string(p.UserInfo)).Int()
	if err != nil {
		b.s.m.busErrors.Inc()
		return false, err
	}
	return n == 1, nil
}

func (b *cluster) presenceRemove(ctx context.Context, channel, socket string) (string, bool, error) {
	return b.presenceRemoveFor(ctx, b.node, channel, socket)
}

func (b *cluster) presenceRemoveFor(ctx context.Context, node, channel, socket string) (string, bool, error) {
	keys := []string{b.chKey(channel, "socks"), b.chKey(channel, "users"), b.chKey(channel, "info")}
	user, err := presenceRemoveScript.Run(ctx, b.rdb, keys, socket).Text()
	if err != nil {
		b.s.m.busErrors.Inc()
		return "", false, err
	}
	if err := b.rdb.HDel(ctx, b.nodeKey(node, "pres"), channel+"\n"+socket).Err(); err != nil {
		b.s.m.busErrors.Inc()
		return user, user != "", err
	}
	return user, user != "", nil
}

func (b *cluster) presenceMembers(ctx context.Context, channel string) (*presenceList, error) {
	info, err := b.rdb.HGetAll(ctx, b.chKey(channel, "info")).Result()
	if err != nil {
		return nil, err
	}
	l := &presenceList{IDs: make([]string, 0, len(info)), Hash: make(map[string]json.RawMessage, len(info))}
	for id, v := range info {
		l.IDs = append(l.IDs, id)
		if !json.Valid([]byte(v)) {
			v = "null"
		}
		l.Hash[id] = json.RawMessage(v)
	}
	sort.Strings(l.IDs)
	l.Count = len(l.IDs)
	return l, nil
}

// markDirty asks the occupancy loop to bring Redis in line with whether
// this replica has subscribers of channel. Reconciling from local state,
// rather than replaying transitions, makes reordering harmless.
func (b *cluster) markDirty(channel string) {
	b.dmu.Lock()
	b.dirty[channel] = struct{}{}
	b.dmu.Unlock()
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

func (b *cluster) occupancyLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.kick:
		}
		octx, cancel := context.WithTimeout(ctx, redisTimeout)
		if err := b.syncOccupancy(octx); err != nil && ctx.Err() == nil {
			b.s.log.Error("realtime occupancy", "err", err)
		}
		cancel()
	}
}

func (b *cluster) syncOccupancy(ctx context.Context) error {
	// One sync at a time: a loop's sync in flight when stop settles could
	// otherwise write its older count (occupied) after stop's (vacant).
	b.syncMu.Lock()
	defer b.syncMu.Unlock()
	b.dmu.Lock()
	dirty := b.dirty
	b.dirty = make(map[string]struct{})
	b.dmu.Unlock()
	var errs []error
	for ch := range dirty {
		if err := b.setOccupancy(ctx, b.node, ch, b.s.localCount(ch)); err != nil {
			errs = append(errs, err)
			b.markDirty(ch) // try again on the next kick
		}
	}
	return errors.Join(errs...)
}

func (b *cluster) setOccupancy(ctx context.Context, node, channel string, count int) error {
	occupied := count > 0
	if occupied {
		if err := b.rdb.SAdd(ctx, b.nodeKey(node, "chans"), channel).Err(); err != nil {
			b.s.m.busErrors.Inc()
			return err
		}
	}
	n, err := occupancyScript.Run(ctx, b.rdb, []string{b.chKey(channel, "occ")}, node, strconv.Itoa(count)).Int()
	if err != nil {
		b.s.m.busErrors.Inc()
		return err
	}
	switch n {
	case 1:
		if err := b.rdb.SAdd(ctx, b.occupiedKey(), channel).Err(); err != nil {
			return err
		}
		b.s.hooks.emit(WebhookEvent{Name: HookChannelOccupied, Channel: channel})
	case -1:
		if err := b.rdb.SRem(ctx, b.occupiedKey(), channel).Err(); err != nil {
			return err
		}
		b.s.hooks.emit(WebhookEvent{Name: HookChannelVacated, Channel: channel})
	}
	if !occupied {
		return b.rdb.SRem(ctx, b.nodeKey(node, "chans"), channel).Err()
	}
	return nil
}

// occupiedChannels lists channels with subscribers on any replica.
func (b *cluster) occupiedChannels(ctx context.Context) ([]string, error) {
	chans, err := b.rdb.SMembers(ctx, b.occupiedKey()).Result()
	sort.Strings(chans)
	return chans, err
}

// subscriptionCount sums the replicas' subscriber counts of channel.
func (b *cluster) subscriptionCount(ctx context.Context, channel string) (int, error) {
	vals, err := b.rdb.HVals(ctx, b.chKey(channel, "occ")).Result()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, v := range vals {
		k, _ := strconv.Atoi(v)
		n += k
	}
	return n, nil
}

func (b *cluster) isOccupied(ctx context.Context, channel string) (bool, error) {
	n, err := b.rdb.HLen(ctx, b.chKey(channel, "occ")).Result()
	return n > 0, err
}

func memberAddedFrame(channel string, p *presenceData) []byte {
	return encodeFrame(serverFrame{Event: "pusher_internal:member_added", Channel: channel,
		Data: jsonStringOf(struct {
			UserID   string          `json:"user_id"`
			UserInfo json.RawMessage `json:"user_info"`
		}{p.UserID, p.UserInfo})})
}

func memberRemovedFrame(channel, user string) []byte {
	return encodeFrame(serverFrame{Event: "pusher_internal:member_removed", Channel: channel,
		Data: jsonStringOf(struct {
			UserID string `json:"user_id"`
		}{user})})
}

// terminateChannel is the bus's control channel: its message is a user
// id whose sockets every replica closes. '#' cannot start a channel a
// client can name, and old replicas ignore it (no such local channel).
const terminateChannel = "#terminate-user"
