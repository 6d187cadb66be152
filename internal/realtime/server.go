package realtime

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/realtime/channels"
)

// Server is one realtime replica. Build it with NewServer, serve Handler,
// and stop it with Shutdown.
type Server struct {
	cfg      Config
	log      *slog.Logger
	m        *metrics
	hooks    *webhookEmitter
	bus      *cluster
	upgrader websocket.Upgrader

	mu       sync.RWMutex
	conns    map[*conn]struct{}
	channels map[string]*localChannel
	tenants  map[int64]*tenantState
	users    map[string]map[*conn]struct{} // signed-in sockets by user id
	watch    watchers                      // sockets by the users they watch
	closing  bool

	workers   []*fanWorker
	nextShard uint32 // round-robin shard of the next socket

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	now    func() time.Time
}

// tenantState is what this replica counts for one tenant's limits.
type tenantState struct {
	sockets int
	events  bucket
}

// Stats is the health summary of one replica.
type Stats struct {
	NodeID        string `json:"node_id"`
	Connections   int    `json:"connections"`
	Channels      int    `json:"channels"`
	Subscriptions int    `json:"subscriptions"`
}

// NewServer builds a replica for cfg. rdb carries pub/sub, presence and
// occupancy between replicas; reg (may be nil) receives the metrics; sink
// (may be nil) receives webhook events when cfg.WebhookURL is set. It starts
// the Redis subscription and heartbeat at once; Shutdown stops them.
func NewServer(cfg Config, rdb redis.UniversalClient, log *slog.Logger, reg prometheus.Registerer, sink WebhookSink) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if rdb == nil {
		return nil, errors.New("realtime: a Redis client is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.NodeID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		cfg.NodeID = hex.EncodeToString(b[:])
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:      cfg,
		log:      log.With("component", "realtime", "node_id", cfg.NodeID),
		m:        m,
		conns:    make(map[*conn]struct{}),
		channels: make(map[string]*localChannel),
		tenants:  make(map[int64]*tenantState),
		users:    make(map[string]map[*conn]struct{}),
		ctx:      ctx,
		cancel:   cancel,
		now:      time.Now,
	}
	s.upgrader = websocket.Upgrader{
		// A small read buffer and pooled write buffers keep an idle socket
		// cheap; broadcasts are written as prepared frames, not through
		// the write buffer.
		ReadBufferSize:  512,
		WriteBufferPool: &sync.Pool{},
		// Pusher apps are called from any origin; access is controlled by
		// channel signatures from the API, not by Origin.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	if sink != nil && cfg.WebhookURL != "" {
		s.hooks = newWebhookEmitter(sink, cfg.WebhookBuffer, s.log, m)
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.hooks.run(ctx) }()
	}
	s.startFanout()
	s.bus = newCluster(s, rdb)
	if err := s.bus.start(ctx); err != nil {
		s.stopFanout()
		cancel()
		return nil, err
	}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.sweep(ctx) }()
	return s, nil
}

// Handler serves the WebSocket endpoint and the HTTP API:
//
//	GET  /app/{key}                 WebSocket (Pusher protocol 7)
//	POST /apps/{id}/events          trigger an event
//	POST /apps/{id}/batch_events    trigger up to 10 events
//	GET  /apps/{id}/channels        occupied channels
//	GET  /apps/{id}/channels/{name} one channel's occupancy
//	GET  /apps/{id}/channels/{name}/users  a presence channel's users
//	GET  /apps/{id}/connections     open connections over all replicas (Reverb)
//	POST /apps/{id}/users/{user}/terminate_connections  close a user's sockets
//	POST /apps/{id}/tenants/{tenant}/terminate_connections  a tenant's (Palisade's own)
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /app/{key}", s.serveWebSocket)
	mux.HandleFunc("POST /apps/{id}/events", s.serveEvents)
	mux.HandleFunc("POST /apps/{id}/batch_events", s.serveBatchEvents)
	mux.HandleFunc("GET /apps/{id}/channels", s.serveChannels)
	mux.HandleFunc("GET /apps/{id}/channels/{name}", s.serveChannel)
	mux.HandleFunc("GET /apps/{id}/channels/{name}/users", s.serveChannelUsers)
	mux.HandleFunc("GET /apps/{id}/connections", s.serveConnections)
	mux.HandleFunc("POST /apps/{id}/users/{user}/terminate_connections", s.serveTerminateUser)
	mux.HandleFunc("POST /apps/{id}/tenants/{tenant}/terminate_connections", s.serveTerminateTenant)
	return mux
}

// Stats reports this replica's counts.
func (s *Server) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := Stats{NodeID: s.cfg.NodeID, Connections: len(s.conns), Channels: len(s.channels)}
	for _, ch := range s.channels {
		st.Subscriptions += ch.count
	}
	return st
}

// Shutdown closes every socket with 4200 (pusher-js reconnects at once, to
// another replica), removes this replica's presence members and channel
// occupancy from Redis, and stops the background work. It returns when done
// or when ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	for _, c := range conns {
		c.closeWith(CodeReconnect, "Server shutting down")
	}
	// Leave Redis clean even if sockets are slow to say goodbye.
	for _, c := range conns {
		c.leaveAll(ctx)
	}
	waitCh := make(chan struct{})
	go func() {
		for _, c := range conns {
			select {
			case <-c.done:
			case <-ctx.Done():
			}
		}
		close(waitCh)
	}()
	select {
	case <-waitCh:
	case <-ctx.Done():
		for _, c := range conns {
			c.kill()
		}
	}
	err := s.bus.stop(ctx)
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return errors.Join(err, fmt.Errorf("realtime shutdown: %w", ctx.Err()))
	}
	return err
}

func (s *Server) newSocketID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strconv.FormatUint(uint64(binary.BigEndian.Uint32(b[:4])), 10) + "." +
		strconv.FormatUint(uint64(binary.BigEndian.Uint32(b[4:])), 10)
}

// addConn registers c unless the app is over its connection quota.
func (s *Server) addConn(c *conn) (ok bool, closing bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false, true
	}
	if max := s.cfg.MaxConnections; max >= 0 && len(s.conns)+s.bus.othersApp() >= max {
		return false, false
	}
	s.conns[c] = struct{}{}
	s.m.connections.Inc()
	return true, false
}

func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	if _, ok := s.conns[c]; ok {
		delete(s.conns, c)
		s.m.connections.Dec()
	}
	s.mu.Unlock()
}

// join adds c to the local channel and reports whether it was added (false:
// it was subscribed already).
func (s *Server) join(c *conn, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[name]
	if ch == nil {
		ch = newLocalChannel(name, len(s.workers))
		s.channels[name] = ch
	}
	if !ch.add(c) {
		return false
	}
	ch.count++
	s.m.subscriptions.Inc()
	return true
}

// leave removes c from the local channel and reports whether it was there.
func (s *Server) leave(c *conn, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[name]
	if ch == nil || !ch.remove(c) {
		return false
	}
	ch.count--
	s.m.subscriptions.Dec()
	if ch.count == 0 {
		delete(s.channels, name)
	}
	return true
}

func (s *Server) addUser(c *conn, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.users[id]
	if set == nil {
		set = make(map[*conn]struct{})
		s.users[id] = set
	}
	set[c] = struct{}{}
}

func (s *Server) removeUser(c *conn, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if set := s.users[id]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(s.users, id)
		}
	}
}

// terminateLocal closes this replica's sockets of a user (target is the
// user id) or of a tenant (target "t:<tenant id>": every socket subscribed
// to one of its channels). The close code is 4200, so pusher-js reconnects
// at once and authorises every private channel and sign-in again: a session
// that still may gets its channels back within a second, a revoked or
// removed one is refused by the auth endpoints.
func (s *Server) terminateLocal(target string) {
	match := func(c *conn) bool { return c.belongsTo(target) }
	if t, ok := strings.CutPrefix(target, tenantTarget); ok {
		id, ok := channels.ParseID(t)
		if !ok {
			return
		}
		match = func(c *conn) bool { return c.inTenant(id) }
	}
	s.mu.RLock()
	var victims []*conn
	for c := range s.conns {
		if match(c) {
			victims = append(victims, c)
		}
	}
	s.mu.RUnlock()
	for _, c := range victims {
		c.closeWith(CodeReconnect, "Connection terminated by the server")
	}
	if len(victims) > 0 {
		s.log.Info("realtime connections terminated", "target", target, "sockets", len(victims))
	}
}

// tenantTarget prefixes a tenant id on the terminate bus channel; ':' never
// appears in a user id.
const tenantTarget = "t:"

// TerminateUser closes user id's sockets on every replica.
func (s *Server) TerminateUser(ctx context.Context, id string) error {
	return s.bus.publish(ctx, terminateChannel, "", []byte(id), false)
}

// TerminateTenant closes, on every replica, every socket subscribed to a
// channel of the tenant.
func (s *Server) TerminateTenant(ctx context.Context, tenant int64) error {
	return s.bus.publish(ctx, terminateChannel, "", []byte(tenantTarget+strconv.FormatInt(tenant, 10)), false)
}

// localCount is the number of this replica's subscribers of channel.
func (s *Server) localCount(name string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if ch := s.channels[name]; ch != nil {
		return ch.count
	}
	return 0
}

// publish sends payload to every subscriber of channel on every replica,
// this one included, through the Redis bus only: every replica then sees
// the messages of a channel in the one order Redis gave them, so a
// publisher that waits for each answer is seen in its order everywhere,
// whichever replica it calls.
func (s *Server) publish(ctx context.Context, channel, except string, payload []byte) error {
	return s.bus.publish(ctx, channel, except, payload, false)
}

// publishEvent publishes an application event (HTTP API or client event);
// on a cache channel it also becomes the channel's cached last event.
func (s *Server) publishEvent(ctx context.Context, channel, except string, payload []byte) error {
	return s.bus.publish(ctx, channel, except, payload, channels.IsCache(channel))
}

// sweep pings silent sockets and closes those that miss the pong.
func (s *Server) sweep(ctx context.Context) {
	every := min(s.cfg.ActivityTimeout, s.cfg.PongTimeout) / 4
	every = max(every, 50*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	var batch []*conn
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := s.now().UnixNano()
		batch = batch[:0]
		s.mu.RLock()
		for c := range s.conns {
			batch = append(batch, c)
		}
		s.mu.RUnlock()
		idle := s.cfg.ActivityTimeout.Nanoseconds()
		pong := s.cfg.PongTimeout.Nanoseconds()
		for _, c := range batch {
			if p := c.pingSent.Load(); p != 0 {
				if now-p > pong {
					c.closeWith(CodePongNotReceived, "Pong reply not received")
				}
				continue
			}
			if now-c.lastSeen.Load() > idle {
				c.pingSent.Store(now)
				c.sendFrame(pingWire)
			}
		}
		clear(batch)
	}
}

var (
	pingFrame = encodeFrame(serverFrame{Event: "pusher:ping", Data: jsonString("{}")})
	pongFrame = encodeFrame(serverFrame{Event: "pusher:pong", Data: jsonString("{}")})
	pingWire  = textFrame(pingFrame)
	pongWire  = textFrame(pongFrame)
)

// bucket is a token bucket: rate tokens per second, burst rate.
type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) allow(now time.Time, rate int) bool {
	if rate < 0 {
		return true
	}
	if b.last.IsZero() {
		b.tokens = float64(rate)
	} else {
		b.tokens = min(float64(rate), b.tokens+now.Sub(b.last).Seconds()*float64(rate))
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// tenantAttach counts c as a socket of tenant t, unless that tenant is at
// its limit over all replicas.
func (s *Server) tenantAttach(t int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.tenants[t]
	if ts == nil {
		ts = &tenantState{}
		s.tenants[t] = ts
	}
	if max := s.cfg.TenantMaxConnections; max >= 0 && ts.sockets+s.bus.othersTenant(t) >= max {
		if ts.sockets == 0 {
			delete(s.tenants, t)
		}
		return false
	}
	ts.sockets++
	return true
}

func (s *Server) tenantDetach(t int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ts := s.tenants[t]; ts != nil {
		ts.sockets--
		if ts.sockets <= 0 {
			delete(s.tenants, t)
		}
	}
}

func (s *Server) tenantAllowEvent(t int64) bool {
	if s.cfg.TenantClientEventsPerSecond < 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.tenants[t]
	if ts == nil {
		return true
	}
	return ts.events.allow(s.now(), s.cfg.TenantClientEventsPerSecond)
}

// localCounts is what this replica tells the others for the limits.
func (s *Server) localCounts() nodeCounts {
	s.mu.RLock()
	defer s.mu.RUnlock()
	nc := nodeCounts{App: len(s.conns)}
	if len(s.tenants) > 0 {
		nc.Tenants = make(map[int64]int, len(s.tenants))
		for t, ts := range s.tenants {
			nc.Tenants[t] = ts.sockets
		}
	}
	return nc
}
