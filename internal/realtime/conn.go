package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

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

	wmu     sync.Mutex
	queue   []outMsg
	writing bool
	closing bool // a close frame is queued or written: nothing more goes out
	dead    bool

	smu     sync.Mutex
	subs    map[string]*subscription
	tenants map[int64]int // tenant → number of this socket's subscriptions

	events bucket // client-event rate, reader goroutine only
}

type subscription struct {
	channel  string
	presence *presenceData
	tenant   int64
}

type outMsg struct {
	pm        *websocket.PreparedMessage
	raw       []byte
	closeCode int
	closeText string
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
	c := &conn{s: s, ws: ws, id: s.newSocketID(), done: make(chan struct{})}
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
	ws.SetPingHandler(func(data string) error {
		c.touch()
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeTimeout))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	ws.SetPongHandler(func(string) error { c.touch(); return nil })
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
		c.send(pongFrame)
	case msg.Event == "pusher:pong":
		// touch() has already cleared the pending ping.
	case msg.Event == "pusher:subscribe":
		c.subscribe(msg.Data)
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
	if !ValidChannelName(d.Channel) {
		c.subscriptionRefused(d.Channel, http.StatusBadRequest, CodeUnauthorized, "Invalid channel name")
		return
	}
	sub := &subscription{channel: d.Channel}
	kind := kindOf(d.Channel)
	if kind != kindPublic {
		tc, terr := ParseTenantChannel(d.Channel)
		if terr != nil && !s.cfg.AllowNonTenantPrivateChannels {
			c.subscriptionRefused(d.Channel, http.StatusForbidden, CodeUnauthorized, "Channel is not tenant-scoped")
			return
		}
		sub.tenant = tc.TenantID
		data := ""
		if kind == kindPresence {
			data = d.ChannelData
		}
		if !sign.VerifyChannelAuth(d.Auth, s.cfg.AppKey, s.cfg.AppSecret, c.id, d.Channel, data) {
			c.subscriptionRefused(d.Channel, http.StatusForbidden, CodeUnauthorized, "Connection is unauthorized")
			return
		}
		if kind == kindPresence {
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
	if kindOf(msg.Channel) == kindPublic {
		c.refuse(CodeClientEventRefused, "Client events are only allowed on private and presence channels")
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
	if err := s.publish(ctx, msg.Channel, c.id, encodeFrame(f)); err != nil {
		s.log.Error("realtime publish client event", "channel", msg.Channel, "err", err)
	}
	s.hooks.emit(WebhookEvent{Name: HookClientEvent, Channel: msg.Channel, Event: msg.Event,
		Data: string(msg.Data), SocketID: c.id, UserID: f.UserID})
}

// send queues one frame for this socket alone.
func (c *conn) send(frame []byte) {
	c.enqueue(outMsg{raw: frame})
}

// enqueue adds m to the write queue and starts the writer if it is idle. A
// socket whose queue is full is too slow to keep: it is dropped.
func (c *conn) enqueue(m outMsg) {
	c.wmu.Lock()
	if c.closing || c.dead {
		c.wmu.Unlock()
		return
	}
	if m.closeCode != 0 {
		c.closing = true
	} else if len(c.queue) >= c.s.cfg.WriteBufferMessages {
		c.wmu.Unlock()
		c.s.m.refusals.WithLabelValues(strconv.Itoa(CodeOverCapacity)).Inc()
		c.s.log.Warn("realtime socket too slow, dropped", "socket_id", c.id)
		c.kill()
		return
	}
	c.queue = append(c.queue, m)
	start := !c.writing
	c.writing = true
	c.wmu.Unlock()
	if start {
		go c.flush()
	}
}

func (c *conn) flush() {
	var batch []outMsg
	for {
		c.wmu.Lock()
		if len(c.queue) == 0 || c.dead {
			c.writing = false
			c.queue = nil
			c.wmu.Unlock()
			return
		}
		batch, c.queue = c.queue, batch[:0]
		c.wmu.Unlock()
		for i, m := range batch {
			_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
			var err error
			switch {
			case m.closeCode != 0:
				err = c.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(m.closeCode, m.closeText))
				time.AfterFunc(closeGrace, c.kill)
			case m.pm != nil:
				err = c.ws.WritePreparedMessage(m.pm)
			default:
				err = c.ws.WriteMessage(websocket.TextMessage, m.raw)
			}
			batch[i] = outMsg{}
			if err != nil {
				c.kill()
				continue
			}
			if m.closeCode == 0 {
				c.s.m.messagesOut.Inc()
			}
		}
	}
}

// closeWith queues a close frame with a Pusher code after what is queued;
// the socket is cut if the client does not answer within closeGrace.
func (c *conn) closeWith(code int, text string) {
	c.s.m.refusals.WithLabelValues(strconv.Itoa(code)).Inc()
	c.enqueue(outMsg{closeCode: code, closeText: text})
}

// kill cuts the TCP connection; the reader then finishes.
func (c *conn) kill() {
	c.wmu.Lock()
	c.dead = true
	c.wmu.Unlock()
	_ = c.ws.NetConn().Close()
}
