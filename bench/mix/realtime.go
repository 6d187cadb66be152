package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// sub is one Pusher-protocol socket subscribed to one private channel.
type sub struct {
	conn *websocket.Conn
	done chan struct{}
	once sync.Once
}

func (s *sub) close() {
	s.once.Do(func() {
		_ = s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = s.conn.Close()
	})
}

type pusherMsg struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// subscribe does what pusher-js does for a private channel: connect, read
// the socket id, have web's /api/broadcasting/auth sign the channel, send
// pusher:subscribe and wait for subscription_succeeded. With m set, the
// steps are timed under their own names. The socket then answers pings
// and counts file.scanned events until closed.
func subscribe(ctx context.Context, c *client, u *user, channel string, m *mix, onScanned func(id int64)) (*sub, error) {
	step := func(name string, fn func() error) error {
		if m == nil {
			return fn()
		}
		return m.stats.time(name, fn)
	}
	var conn *websocket.Conn
	var socketID string
	err := step("ws connect", func() error {
		d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
		var err error
		conn, _, err = d.DialContext(ctx, c.rtURL+"/app/"+url.PathEscape(c.appKey)+"?protocol=7&client=mix-bench&version=1", nil)
		if err != nil {
			return err
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		var msg pusherMsg
		if err := conn.ReadJSON(&msg); err != nil {
			return err
		}
		if msg.Event != "pusher:connection_established" {
			return fmt.Errorf("first message %q", msg.Event)
		}
		var data string
		_ = json.Unmarshal(msg.Data, &data)
		var est struct {
			SocketID string `json:"socket_id"`
		}
		if err := json.Unmarshal([]byte(data), &est); err != nil {
			return err
		}
		socketID = est.SocketID
		return nil
	})
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		return nil, err
	}
	var auth struct {
		Auth string `json:"auth"`
	}
	err = step("POST /api/broadcasting/auth", func() error {
		_, err := c.do(ctx, u, "POST", c.web+"/api/broadcasting/auth", map[string]string{"socket_id": socketID, "channel_name": channel}, 200, &auth)
		return err
	})
	if err != nil {
		conn.Close()
		return nil, err
	}
	err = step("ws subscribe", func() error {
		if err := conn.WriteJSON(map[string]any{"event": "pusher:subscribe", "data": map[string]string{"channel": channel, "auth": auth.Auth}}); err != nil {
			return err
		}
		for {
			var msg pusherMsg
			if err := conn.ReadJSON(&msg); err != nil {
				return err
			}
			switch msg.Event {
			case "pusher_internal:subscription_succeeded":
				return nil
			case "pusher:error", "pusher:subscription_error":
				return fmt.Errorf("%s: %s", msg.Event, msg.Data)
			}
		}
	})
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetReadDeadline(time.Time{})
	s := &sub{conn: conn, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		var wmu sync.Mutex
		for {
			var msg pusherMsg
			if err := conn.ReadJSON(&msg); err != nil {
				return
			}
			switch msg.Event {
			case "pusher:ping":
				wmu.Lock()
				_ = conn.WriteJSON(map[string]any{"event": "pusher:pong", "data": map[string]any{}})
				wmu.Unlock()
			case "file.scanned":
				if msg.Channel == channel && onScanned != nil {
					// data is a JSON string holding the object (Pusher).
					var raw string
					if json.Unmarshal(msg.Data, &raw) != nil {
						raw = string(msg.Data)
					}
					var f struct {
						ID int64 `json:"id"`
					}
					if json.Unmarshal([]byte(raw), &f) == nil {
						onScanned(f.ID)
					}
				}
			}
		}
	}()
	return s, nil
}
