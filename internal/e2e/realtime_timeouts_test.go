package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestRealtimeTimeoutsFromConfig: PALISADE_REALTIME_ACTIVITY_TIMEOUT and
// PALISADE_REALTIME_PONG_TIMEOUT reach the realtime role: clients are told
// the activity timeout in connection_established, a silent socket is pinged
// after it and closed with 4201 when no pong comes within the pong timeout.
// Values outside 1s–1h are refused by name when the config loads.
func TestRealtimeTimeoutsFromConfig(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", map[string]string{
		"PALISADE_REALTIME_ACTIVITY_TIMEOUT": "1s",
		"PALISADE_REALTIME_PONG_TIMEOUT":     "2s",
	})
	u := "ws" + strings.TrimPrefix(s.Realtime.URL, "http") + "/app/" + s.Config.RealtimeAppKey + "?protocol=7&client=go-test"
	c, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(10 * time.Second))
	var events []string
	var established struct {
		ActivityTimeout int `json:"activity_timeout"`
	}
	var pingAt time.Duration
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != 4201 {
				t.Fatalf("after %v: %v, want close 4201", events, err)
			}
			break
		}
		var f struct {
			Event string `json:"event"`
			Data  string `json:"data"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("frame %s: %v", b, err)
		}
		events = append(events, f.Event)
		switch f.Event {
		case "pusher:connection_established":
			if err := json.Unmarshal([]byte(f.Data), &established); err != nil {
				t.Fatal(err)
			}
		case "pusher:ping":
			pingAt = time.Since(start)
		}
	}
	closedAt := time.Since(start)
	if established.ActivityTimeout != 1 {
		t.Errorf("activity_timeout %d, want 1 (s)", established.ActivityTimeout)
	}
	if strings.Join(events, ",") != "pusher:connection_established,pusher:ping" {
		t.Errorf("frames %v", events)
	}
	// Ping after 1 s of silence, close 2 s later; the sweep runs every
	// quarter of the shorter timeout. Both instants are when the client
	// saw the frame, so the server's own 2 s can look a little shorter
	// (a run measured 1.99999 s): allow the delivery delay.
	const delivery = 200 * time.Millisecond
	if pingAt < time.Second || pingAt > 2*time.Second {
		t.Errorf("pinged after %s, want about 1s", pingAt)
	}
	if d := closedAt - pingAt; d < 2*time.Second-delivery || d > 3*time.Second {
		t.Errorf("closed %s after the ping, want about 2s", d)
	}

	for _, v := range []string{"100ms", "2h"} {
		_, err := config.Load(context.Background(), func(k string) string {
			return map[string]string{"PALISADE_ENV": "test", "PALISADE_REALTIME_ACTIVITY_TIMEOUT": v}[k]
		}, nil, nil)
		if err == nil || !strings.Contains(err.Error(), "REALTIME_ACTIVITY_TIMEOUT") {
			t.Errorf("activity timeout %s: %v, want a refusal naming the variable", v, err)
		}
	}
}
