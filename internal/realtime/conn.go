package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/palisade-hq/palisade/internal/realtime/channels"
	"github.com/palisade-hq/palisade/internal/realtime/sign"
)

const (
	writeTimeout = 10 * time.Second
	// closeGrace is how long a socket may take to answer a close frame.
	closeGrace = 2 * time.Second
	// redisTimeout bounds the Redis work done on behalf of one message.
	redisTimeout = 5 * time.Second
)

// conn is one client socket. Its reader runs in one goroutine; writes go
// through a queue drained by a writer goroutine that exists only while there
// is something to write, so an idle socket costs one goroutine.
type conn struct {
	s    *Server
	ws   *websocket.Conn
	id   string
	done chan struct{}

	lastSeen atomic.Int64 // unix nanoseconds of the last message in
	pingSent atomic.Int64 // unix nanoseconds of an unanswered ping, or 0

	shard int // fan-out shard

	// The write side (write.go): a ring of frames waiting for the writer,
	// and the state of the one non-blocking attempt in flight.
	wmu        sync.Mutex
	q          [][]byte
	qh, qn     int
	writing    bool // a write attempt or the writer goroutine owns the socket
	closing    bool // a close frame is queued or written: nothing more goes out
	dead       bool
	closeTimer *time.Timer
	raw        syscall.RawConn
	rawWriteFn func(uintptr) bool
	rawBuf     []byte
	rawN       int
	rawErr     error

	smu     sync.Mutex
	subs    map[string]*subscription
	tenants map[int64]int // tenant → number of this socket's subscriptions
	user    string        // the id this socket signed in as (pusher:signin), or ""
	// watchlist is the signed-in user_data's watchlist (set with user).
	watchlist []string

	events bucket // client-event rate, reader goroutine only
}

type subscription struct {
	channel  string
	presence *presenceData
	tenant   int64
	owner    int64 // the user a tenant user channel belongs to, or 0
}

func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered with an HTTP error
	}
	refuse := func(code int, msg string) {
		s.m.refusals.WithLabelValues(strconv.Itoa(code)).Inc()
		_ = ws.SetWriteDeadline(time.Now().Add(writeTimeout))
		_ = ws.WriteMessage(websocket.TextMessage, errorFrame(code, msg))
		_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(code, msg))
		time.AfterFunc(closeGrace, func() { _ = ws.Close() })
		// Read until the client's close answer so it sees our close code.
		go func() {
			for {
				if _, _, err := ws.NextReader(); err != nil {
					_ = ws.Close()
					return
				}
			}
		}()
	}
	if r.PathValue("key") != s.cfg.AppKey {
		refuse(CodeAppNotFound, "Application does not exist")
		return
	}
	switch v := r.URL.Query().Get("protocol"); {
	case v == "":
		refuse(CodeNoProtocolVersion, "No protocol version supplied")
		return
	default:
		n, err := strconv.Atoi(v)
		if err != nil {
			refuse(CodeBadProtocolVersion, "Invalid version string format")
			return
		}
		if n < minProtocol || n > maxProtocol {
			refuse(CodeUnsupportedVersion, "Unsupported protocol version")
			return
		}
	}
	c := &conn{s: s, ws: ws, id: s.newSocketID(), done: make(chan struct{}),
		shard: int(atomic.AddUint32(&s.nextShard, 1) % uint32(len(s.workers))), // #nosec G115 -- len(s.workers) is the shard count, a small positive number set at start
		raw:   rawConnOf(ws.NetConn())}
	c.rawWriteFn = c.rawWrite
	ok, closing := s.addConn(c)
	if closing {
		refuse(CodeReconnect, "Server shutting down")
		return
	}
	if !ok {
		refuse(CodeOverQuota, "Application is over connection quota")
		return
	}
	c.lastSeen.Store(s.now().UnixNano())
	ws.SetReadLimit(int64(s.cfg.MaxMessageBytes))
	// Control answers go through the socket's own queue, never straight
	// from the reader, so they cannot cut into a frame being written.
	ws.SetPingHandler(func(data string) error {
		c.touch()
		c.write(wsFrame(websocket.PongMessage, []byte(data)), false)
		return nil
	})
	ws.SetPongHandler(func(string) error { c.touch(); return nil })
	ws.SetCloseHandler(func(code int, _ string) error {
		if code == websocket.CloseNoStatusReceived {
			code = websocket.CloseNormalClosure
		}
		c.write(closeFrame(code, ""), true)
		return nil
	})
	c.send(encodeFrame(serverFrame{
		Event: "pusher:connection_established",
		Data: jsonStringOf(struct {
			SocketID        string `json:"socket_id"`
			ActivityTimeout int    `json:"activity_timeout"`
		}{c.id, max(1, int(s.cfg.ActivityTimeout/time.Second))}),
	}))
	// Read in a fresh goroutine and let the HTTP handler's (grown) stack go.
	go c.readLoop()
}

func (c *conn) touch() {
	c.lastSeen.Store(c.s.now().UnixNano())
	c.pingSent.Store(0)
}

func (c *conn) readLoop() {
	defer c.finish()
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				// gorilla has already sent close 1009 (message too big).
				c.s.m.refusals.WithLabelValues("1009").Inc()
				c.s.log.Info("realtime message over the size limit", "socket_id", c.id, "limit", c.s.cfg.MaxMessageBytes)
			}
			return
		}
		c.touch()
		c.s.m.messagesIn.Inc()
		c.handle(data)
	}
}

// finish runs once the reader has stopped: the socket leaves every channel
// and the server.
func (c *conn) finish() {
	c.kill()
	ctx, cancel := context.WithTimeout(context.Background(), redisTimeout)
	c.leaveAll(ctx)
	cancel()
	if u := c.signedInAs(); u != "" {
		c.s.removeUser(c, u)
		ctx, cancel := context.WithTimeout(context.Background(), redisTimeout)
		c.s.syncOnline(ctx, u)
		cancel()
		c.smu.Lock()
		watch := c.watchlist
		c.smu.Unlock()
		c.s.watch.remove(c, watch)
	}
	c.s.removeConn(c)
	close(c.done)
}

func (c *conn) refuse(code int, msg string) {
	c.s.m.refusals.WithLabelValues(strconv.Itoa(code)).Inc()
	c.send(errorFrame(code, msg))
}

func (c *conn) handle(data []byte) {
	msg, err := ParseClientMessage(data)
	if err != nil {
		c.refuse(CodeReconnect, "Invalid message format")
		return
	}
	switch {
	case msg.Event == "pusher:ping":
		c.sendFrame(pongWire)
	case msg.Event == "pusher:pong":
		// touch() has already cleared the pending ping.
	case msg.Event == "pusher:subscribe":
		c.subscribe(msg.Data)
	case msg.Event == "pusher:signin":
		c.signin(msg.Data)
	case msg.Event == "pusher:unsubscribe":
		d, err := parseSubscribeData(msg.Data)
		if err != nil {
			c.refuse(CodeReconnect, "Invalid message format")
			return
		}
		ctx, cancel := context.WithTimeout(c.s.ctx, redisTimeout)
		c.unsubscribe(ctx, d.Channel)
		cancel()
	case strings.HasPrefix(msg.Event, "client-"):
		c.clientEvent(msg)
	default:
		c.refuse(CodeReconnect, "Unknown event: "+truncate(msg.Event, 64))
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func (c *conn) subscriptionRefused(channel string, status int, code int, msg string) {
	c.refuse(code, msg)
	c.send(subscriptionErrorFrame(channel, status, msg))
}

func (c *conn) subscribe(raw json.RawMessage) {
	s := c.s
	d, err := parseSubscribeData(raw)
	if err != nil {
		c.refuse(CodeReconnect, "Invalid message format")
		return
	}
	sub := &subscription{channel: d.Channel}
	kind := channels.KindOf(d.Channel)
	if uid, ok := channels.ServerToUser(d.Channel); ok {
		// The signature was pusher:signin's; the channel is that user's.
		if c.signedInAs() != uid {
			c.subscriptionRefused(d.Channel, http.StatusForbidden, CodeUnauthorized, "Sign in as this user first (pusher:signin)")
			return
		}
	} else if !channels.ValidChannelName(d.Channel) {
		c.subscriptionRefused(d.Channel, http.StatusBadRequest, CodeUnauthorized, "Invalid channel name")
		return
	}
	if kind != channels.KindPublic {
		tc, terr := channels.ParseTenantChannel(d.Channel)
		if terr != nil && !s.cfg.AllowNonTenantPrivateChannels {
			c.subscriptionRefused(d.Channel, http.StatusForbidden, CodeUnauthorized, "Channel is not tenant-scoped")
			return
		}
		sub.tenant, sub.owner = tc.TenantID, tc.UserID
		data := ""
		if kind == channels.KindPresence {
			data = d.ChannelData
		}
		if !sign.VerifyChannelAuth(d.Auth, s.cfg.AppKey, s.cfg.AppSecret, c.id, d.Channel, data) {
			c.subscriptionRefused(d.Channel, http.StatusForbidden, CodeUnauthorized, "Connection is unauthorized")
			return
		}
		if kind == channels.KindPresence {
			p, err := parsePresenceData(d.ChannelData)
			if err != nil {
				c.subscriptionRefused(d.Channel, http.StatusBadRequest, CodeUnauthorized, "Invalid presence data: "+err.Error())
				return
			}
			sub.presence = &p
		}
	}

	c.smu.Lock()
	_, already := c.subs[d.Channel]
	c.smu.Unlock()
	if already {
		c.sendSubscribed(sub, nil)
		return
	}
	if sub.tenant != 0 && !c.attachTenant(sub.tenant) {
		c.subscriptionRefused(d.Channel, http.StatusTooManyRequests, CodeOverQuota, "Tenant is over connection quota")
		return
	}

	ctx, cancel := context.WithTimeout(s.ctx, redisTimeout)
	defer cancel()
	var members *presenceList
	if sub.presence != nil {
		added, err := s.bus.presenceAdd(ctx, d.Channel, c.id, sub.presence)
		if err != nil {
			c.detachTenant(sub.tenant)
			s.log.Error("realtime presence add", "channel", d.Channel, "err", err)
			c.subscriptionRefused(d.Channel, http.StatusServiceUnavailable, CodeReconnect, "Presence is unavailable")
			return
		}
		if members, err = s.bus.presenceMembers(ctx, d.Channel); err != nil {
			s.log.Error("realtime presence members", "channel", d.Channel, "err", err)
			members = &presenceList{}
		}
		if added {
			frame := memberAddedFrame(d.Channel, sub.presence)
			if err := s.publish(ctx, d.Channel, c.id, frame); err != nil {
				s.log.Error("realtime publish member_added", "channel", d.Channel, "err", err)
			}
			s.hooks.emit(WebhookEvent{Name: HookMemberAdded, Channel: d.Channel, UserID: sub.presence.UserID})
		}
	}
	c.smu.Lock()
	if c.subs == nil {
		c.subs = make(map[string]*subscription)
	}
	c.subs[d.Channel] = sub
	c.smu.Unlock()
	if s.join(c, d.Channel) {
		s.bus.markDirty(d.Channel)
	}
	c.sendSubscribed(sub, members)
	if channels.IsCache(d.Channel) {
		c.sendCached(ctx, d.Channel)
	}
}

// sendCached gives a new subscriber of a cache channel its last event, or
// pusher:cache_miss (and the cache_miss webhook) when there is none.
func (c *conn) sendCached(ctx context.Context, channel string) {
	s := c.s
	payload, ok, err := s.bus.cached(ctx, channel)
	if err != nil {
		s.log.Error("realtime cache read", "channel", channel, "err", err)
	}
	if ok {
		c.send(payload)
		return
	}
	c.send(encodeFrame(serverFrame{Event: "pusher:cache_miss", Channel: channel}))
	s.hooks.emit(WebhookEvent{Name: HookCacheMiss, Channel: channel})
}

func (c *conn) signedInAs() string {
	c.smu.Lock()
	defer c.smu.Unlock()
	return c.user
}

// signin handles pusher:signin: the user authentication endpoint signed
// "<socket id>::user::<user_data>", and user_data names the user. A signed-in
// socket may subscribe to "#server-to-user-<id>" and is closed by
// terminate_connections for that user.
func (c *conn) signin(raw json.RawMessage) {
	s := c.s
	var d struct {
		Auth     string `json:"auth"`
		UserData string `json:"user_data"`
	}
	if len(raw) > 0 && raw[0] == '"' {
		var str string
		if json.Unmarshal(raw, &str) == nil {
			raw = json.RawMessage(str)
		}
	}
	if err := json.Unmarshal(raw, &d); err != nil || d.Auth == "" || d.UserData == "" {
		c.refuse(CodeReconnect, "Invalid signin message: auth and user_data are required")
		return
	}
	if !sign.VerifyUserAuth(d.Auth, s.cfg.AppKey, s.cfg.AppSecret, c.id, d.UserData) {
		c.refuse(CodeUnauthorized, "Invalid signature")
		return
	}
	var u struct {
		ID        json.RawMessage `json:"id"`
		Watchlist json.RawMessage `json:"watchlist"`
	}
	var id string
	if err := json.Unmarshal([]byte(d.UserData), &u); err != nil || json.Unmarshal(u.ID, &id) != nil || !channels.ValidUserID(id) {
		c.refuse(CodeUnauthorized, "user_data must be a JSON object with a string id")
		return
	}
	var watch []string
	if len(u.Watchlist) > 0 && string(u.Watchlist) != "null" {
		if json.Unmarshal(u.Watchlist, &watch) != nil || len(watch) > maxWatchlist || !allValidUserIDs(watch) {
			c.refuse(CodeUnauthorized, fmt.Sprintf("user_data.watchlist must be a list of at most %d user ids", maxWatchlist))
			return
		}
	}
	c.smu.Lock()
	prev := c.user
	if prev == "" {
		c.user = id
		c.watchlist = watch
	}
	c.smu.Unlock()
	if prev != "" && prev != id {
		c.refuse(CodeUnauthorized, "This connection is signed in as another user")
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, redisTimeout)
	defer cancel()
	if prev == "" {
		s.addUser(c, id)
		s.syncOnline(ctx, id)
		s.watch.add(c, watch)
	}
	c.send(encodeFrame(serverFrame{Event: "pusher:signin_success",
		Data: jsonStringOf(struct {
			UserData string `json:"user_data"`
		}{d.UserData})}))
	if prev == "" && len(watch) > 0 {
		online, err := s.bus.onlineOf(ctx, watch)
		if err != nil {
			s.log.Error("realtime watchlist", "user_id", id, "err", err)
		} else if len(online) > 0 {
			c.send(watchlistFrame("online", online))
		}
	}
}

func allValidUserIDs(ids []string) bool {
	for _, id := range ids {
		if !channels.ValidUserID(id) {
			return false
		}
	}
	return true
}

// inTenant reports whether the socket holds a channel of tenant t.
func (c *conn) inTenant(t int64) bool {
	c.smu.Lock()
	defer c.smu.Unlock()
	return c.tenants[t] > 0
}

// belongsTo reports whether the socket acts for user id: signed in as it,
// a presence member with it, or subscribed to its tenant user channel.
func (c *conn) belongsTo(id string) bool {
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.user == id {
		return true
	}
	for _, sub := range c.subs {
		if sub.presence != nil && sub.presence.UserID == id {
			return true
		}
		if sub.owner != 0 && strconv.FormatInt(sub.owner, 10) == id {
			return true
		}
	}
	return false
}

func (c *conn) sendSubscribed(sub *subscription, members *presenceList) {
	data := jsonString("{}")
	if sub.presence != nil {
		if members == nil {
			ctx, cancel := context.WithTimeout(c.s.ctx, redisTimeout)
			members, _ = c.s.bus.presenceMembers(ctx, sub.channel)
			cancel()
			if members == nil {
				members = &presenceList{}
			}
		}
		data = jsonStringOf(struct {
			Presence *presenceList `json:"presence"`
		}{members})
	}
	c.send(encodeFrame(serverFrame{Event: "pusher_internal:subscription_succeeded", Channel: sub.channel, Data: data}))
}

func (c *conn) attachTenant(t int64) bool {
	c.smu.Lock()
	n := c.tenants[t]
	c.smu.Unlock()
	if n == 0 && !c.s.tenantAttach(t) {
		return false
	}
	c.smu.Lock()
	if c.tenants == nil {
		c.tenants = make(map[int64]int)
	}
	c.tenants[t]++
	c.smu.Unlock()
	return true
}

func (c *conn) detachTenant(t int64) {
	if t == 0 {
		return
	}
	c.smu.Lock()
	c.tenants[t]--
	last := c.tenants[t] <= 0
	if last {
		delete(c.tenants, t)
	}
	c.smu.Unlock()
	if last {
		c.s.tenantDetach(t)
	}
}

// unsubscribe removes the subscription if it exists. Whoever removes it from
// c.subs does the rest, so the reader and Shutdown never both do.
func (c *conn) unsubscribe(ctx context.Context, channel string) {
	s := c.s
	c.smu.Lock()
	sub := c.subs[channel]
	delete(c.subs, channel)
	c.smu.Unlock()
	if sub == nil {
		return
	}
	if s.leave(c, channel) {
		s.bus.markDirty(channel)
	}
	c.detachTenant(sub.tenant)
	if sub.presence != nil {
		user, removed, err := s.bus.presenceRemove(ctx, channel, c.id)
		if err != nil {
			s.log.Error("realtime presence remove", "channel", channel, "err", err)
			return
		}
		if removed {
			if err := s.publish(ctx, channel, c.id, memberRemovedFrame(channel, user)); err != nil {
				s.log.Error("realtime publish member_removed", "channel", channel, "err", err)
			}
			s.hooks.emit(WebhookEvent{Name: HookMemberRemoved, Channel: channel, UserID: user})
		}
	}
}

func (c *conn) leaveAll(ctx context.Context) {
	c.smu.Lock()
	names := make([]string, 0, len(c.subs))
	for name := range c.subs {
		names = append(names, name)
	}
	c.smu.Unlock()
	for _, name := range names {
		c.unsubscribe(ctx, name)
	}
}

func (c *conn) clientEvent(msg ClientMessage) {
	s := c.s
	if channels.KindOf(msg.Channel) == channels.KindPublic {
		c.refuse(CodeClientEventRefused, "Client events are only allowed on private and presence channels")
		return
	}
	if channels.IsEncrypted(msg.Channel) {
		// The server cannot check what it cannot read, and clients hold no
		// way to encrypt for each other here: as Pusher, refuse.
		c.refuse(CodeClientEventRefused, "Client events are not allowed on encrypted channels")
		return
	}
	c.smu.Lock()
	sub := c.subs[msg.Channel]
	c.smu.Unlock()
	if sub == nil {
		c.refuse(CodeUnauthorized, "The client is not a member of the specified channel")
		return
	}
	now := s.now()
	if !c.events.allow(now, s.cfg.ClientEventsPerSecond) {
		c.refuse(CodeClientEventRefused, "Client event rejected due to rate limit")
		return
	}
	if sub.tenant != 0 && !s.tenantAllowEvent(sub.tenant) {
		c.refuse(CodeClientEventRefused, "Client event rejected due to the tenant's rate limit")
		return
	}
	f := serverFrame{Event: msg.Event, Channel: msg.Channel, Data: msg.Data}
	if sub.presence != nil {
		f.UserID = sub.presence.UserID
	}
	ctx, cancel := context.WithTimeout(s.ctx, redisTimeout)
	defer cancel()
	if err := s.publishEvent(ctx, msg.Channel, c.id, encodeFrame(f)); err != nil {
		s.log.Error("realtime publish client event", "channel", msg.Channel, "err", err)
	}
	s.hooks.emit(WebhookEvent{Name: HookClientEvent, Channel: msg.Channel, Event: msg.Event,
		Data: string(msg.Data), SocketID: c.id, UserID: f.UserID})
}
