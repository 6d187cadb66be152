package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/palisade-hq/palisade/internal/realtime/publish"
)

// target speaks one server's client protocol.
type target struct {
	name string
	url  string
	// subscribe sends what joins channel "bench" after connecting.
	subscribe func(c *websocket.Conn) error
	// subscribed reports whether msg confirms the subscription.
	subscribed func(msg []byte) bool
	// reply answers server pings.
	reply func(msg []byte) []byte
	// publish sends one message with the payload to channel "bench".
	publish func(ctx context.Context, payload string) error
}

func pusherTarget(base string) *target {
	pub := publish.New(base, "bench", "bench-key", "bench-secret", &http.Client{Timeout: 10 * time.Second})
	return &target{
		name: "palisade",
		url:  "ws" + strings.TrimPrefix(base, "http") + "/app/bench-key?protocol=7&client=bench",
		subscribe: func(c *websocket.Conn) error {
			return c.WriteMessage(websocket.TextMessage, []byte(`{"event":"pusher:subscribe","data":{"channel":"bench"}}`))
		},
		subscribed: func(m []byte) bool { return bytes.Contains(m, []byte("subscription_succeeded")) },
		reply: func(m []byte) []byte {
			if bytes.Contains(m, []byte(`"pusher:ping"`)) {
				return []byte(`{"event":"pusher:pong","data":{}}`)
			}
			return nil
		},
		publish: func(ctx context.Context, payload string) error {
			return pub.Trigger(ctx, []string{"bench"}, "tick", payload, "")
		},
	}
}

func centrifugoTarget(base, apiKey string) *target {
	hc := &http.Client{Timeout: 10 * time.Second}
	return &target{
		name: "centrifugo",
		url:  "ws" + strings.TrimPrefix(base, "http") + "/connection/websocket",
		subscribe: func(c *websocket.Conn) error {
			return c.WriteMessage(websocket.TextMessage, []byte("{\"id\":1,\"connect\":{}}\n{\"id\":2,\"subscribe\":{\"channel\":\"bench\"}}"))
		},
		subscribed: func(m []byte) bool {
			return bytes.Contains(m, []byte(`"id":2`)) && !bytes.Contains(m, []byte(`"error"`))
		},
		reply: func(m []byte) []byte {
			// Centrifugo pings with an empty object (possibly among other
			// newline-separated replies) and wants one back.
			for _, line := range bytes.Split(m, []byte("\n")) {
				if string(bytes.TrimSpace(line)) == "{}" {
					return []byte("{}")
				}
			}
			return nil
		},
		publish: func(ctx context.Context, payload string) error {
			body := `{"channel":"bench","data":` + payload + `}`
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/publish", strings.NewReader(body))
			if err != nil {
				return err
			}
			req.Header.Set("X-API-Key", apiKey)
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			var out struct {
				Error *struct{ Message string } `json:"error"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&out)
			if resp.StatusCode != 200 || out.Error != nil {
				return fmt.Errorf("centrifugo publish: status %d %+v", resp.StatusCode, out.Error)
			}
			return nil
		},
	}
}

// rawTarget only connects: for comparing WebSocket libraries.
func rawTarget(base string) *target {
	return &target{
		name:       "raw",
		url:        "ws" + strings.TrimPrefix(base, "http") + "/",
		subscribe:  func(*websocket.Conn) error { return nil },
		subscribed: func([]byte) bool { return true },
		reply:      func([]byte) []byte { return nil },
	}
}

// sentAt finds the payload {"t":<unix ns>,"p":<phase>} in a delivered
// message, in either protocol's encoding (Pusher double-encodes data as a
// JSON string, so its quotes arrive escaped).
func sentAt(m []byte) (t int64, phase byte, ok bool) {
	i, skip := bytes.Index(m, []byte(`{\"t\":`)), 7
	if i < 0 {
		i, skip = bytes.Index(m, []byte(`{"t":`)), 5
	}
	if i < 0 {
		return 0, 0, false
	}
	j := i + skip
	for j < len(m) && m[j] >= '0' && m[j] <= '9' {
		t = t*10 + int64(m[j]-'0')
		j++
	}
	k := j
	for k < len(m) && (m[k] < '0' || m[k] > '9') {
		k++
	}
	if k == len(m) || j == i+skip {
		return 0, 0, false
	}
	return t, m[k], true
}

type sub struct {
	c      *websocket.Conn
	mu     sync.Mutex
	steady []int64 // latencies, ns, of the steady-rate phase
	burst  int64   // messages received in the burst phase
	lastAt atomic.Int64
}

func rssKB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, errors.New("no VmRSS")
}

type result struct {
	Target          string  `json:"target"`
	Connections     int     `json:"connections"`
	ConnectSeconds  float64 `json:"connect_seconds"`
	RSSBeforeMB     float64 `json:"rss_before_mb"`
	RSSAfterMB      float64 `json:"rss_after_mb"`
	KBPerConnection float64 `json:"kb_per_connection"`
	SteadyRate      int     `json:"steady_msgs_per_sec,omitempty"`
	SteadyExpected  int64   `json:"steady_expected,omitempty"`
	SteadyDelivered int64   `json:"steady_delivered,omitempty"`
	P50ms           float64 `json:"p50_ms,omitempty"`
	P99ms           float64 `json:"p99_ms,omitempty"`
	MaxMs           float64 `json:"max_ms,omitempty"`
	BurstMessages   int     `json:"burst_messages,omitempty"`
	BurstDelivered  int64   `json:"burst_delivered,omitempty"`
	BurstSeconds    float64 `json:"burst_seconds,omitempty"`
	DeliveriesPerS  float64 `json:"burst_deliveries_per_sec,omitempty"`
	ServerCPUSec    float64 `json:"server_cpu_seconds,omitempty"`
}

func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndex(s, ")")+2:])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

func runLoad(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	kind := fs.String("target", "palisade", "palisade, centrifugo or raw")
	base := fs.String("url", "http://127.0.0.1:7001", "server base URL (loopback only)")
	apiKey := fs.String("api-key", "bench", "Centrifugo HTTP API key")
	pid := fs.Int("pid", 0, "server process id, for its resident memory")
	n := fs.Int("n", 10000, "connections")
	sources := fs.Int("sources", 4, "source addresses 127.0.0.2 ... to spread the ports over")
	settle := fs.Duration("settle", 5*time.Second, "wait before reading memory")
	rate := fs.Int("rate", 10, "steady phase: messages per second")
	steadyFor := fs.Duration("steady", 10*time.Second, "steady phase length (0: skip)")
	burst := fs.Int("burst", 50, "burst phase: messages sent back to back (0: skip)")
	_ = fs.Parse(args)

	if !strings.HasPrefix(*base, "http://127.") && !strings.HasPrefix(*base, "http://localhost") {
		return errors.New("-url must be a loopback address")
	}
	var t *target
	switch *kind {
	case "palisade":
		t = pusherTarget(*base)
	case "centrifugo":
		t = centrifugoTarget(*base, *apiKey)
	case "raw":
		t = rawTarget(*base)
	default:
		return fmt.Errorf("unknown -target %q", *kind)
	}
	res := result{Target: t.name, Connections: *n}
	runtime.GC()
	time.Sleep(time.Second)
	before, err := rssKB(*pid)
	if err != nil {
		return fmt.Errorf("server pid %d: %w", *pid, err)
	}
	res.RSSBeforeMB = float64(before) / 1024
	cpu0 := cpuSeconds(*pid)

	subs := make([]*sub, *n)
	start := time.Now()
	var failed atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range *n {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			s, err := dial(t, i%*sources)
			if err != nil {
				if failed.Add(1) <= 3 {
					fmt.Fprintf(os.Stderr, "connection %d: %v\n", i, err)
				}
				return
			}
			subs[i] = s
		}(i)
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("%d of %d connections failed", f, *n)
	}
	res.ConnectSeconds = time.Since(start).Seconds()
	for _, s := range subs {
		go s.read(t)
	}
	time.Sleep(*settle)
	after, err := rssKB(*pid)
	if err != nil {
		return err
	}
	res.RSSAfterMB = float64(after) / 1024
	res.KBPerConnection = float64(after-before) / float64(*n)

	ctx := context.Background()
	if t.publish != nil && *steadyFor > 0 {
		res.SteadyRate = *rate
		tick := time.NewTicker(time.Second / time.Duration(*rate))
		end := time.Now().Add(*steadyFor)
		sent := 0
		for time.Now().Before(end) {
			<-tick.C
			if err := t.publish(ctx, fmt.Sprintf(`{"t":%d,"p":1}`, time.Now().UnixNano())); err != nil {
				return err
			}
			sent++
		}
		tick.Stop()
		time.Sleep(2 * time.Second)
		res.SteadyExpected = int64(sent) * int64(*n)
		var all []int64
		for _, s := range subs {
			s.mu.Lock()
			all = append(all, s.steady...)
			s.mu.Unlock()
		}
		res.SteadyDelivered = int64(len(all))
		if len(all) > 0 {
			slices.Sort(all)
			pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))]) / 1e6 }
			res.P50ms, res.P99ms, res.MaxMs = pct(0.50), pct(0.99), float64(all[len(all)-1])/1e6
		}
	}
	if t.publish != nil && *burst > 0 {
		res.BurstMessages = *burst
		t0 := time.Now()
		for range *burst {
			if err := t.publish(ctx, fmt.Sprintf(`{"t":%d,"p":2}`, time.Now().UnixNano())); err != nil {
				return err
			}
		}
		want := int64(*burst) * int64(*n)
		deadline := time.Now().Add(60 * time.Second)
		var got int64
		for time.Now().Before(deadline) {
			got = 0
			for _, s := range subs {
				got += atomic.LoadInt64(&s.burst)
			}
			if got >= want {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		var last int64
		for _, s := range subs {
			last = max(last, s.lastAt.Load())
		}
		res.BurstDelivered = got
		res.BurstSeconds = time.Unix(0, last).Sub(t0).Seconds()
		res.DeliveriesPerS = float64(got) / res.BurstSeconds
	}
	res.ServerCPUSec = cpuSeconds(*pid) - cpu0
	for _, s := range subs {
		_ = s.c.Close()
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	return nil
}

func dial(t *target, source int) (*sub, error) {
	d := websocket.Dialer{
		HandshakeTimeout: 30 * time.Second,
		ReadBufferSize:   1024, WriteBufferSize: 256,
		NetDialContext: (&net.Dialer{
			LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+source))},
			Timeout:   30 * time.Second,
		}).DialContext,
	}
	c, _, err := d.Dial(t.url, nil)
	if err != nil {
		return nil, err
	}
	if err := t.subscribe(c); err != nil {
		c.Close()
		return nil, err
	}
	if t.name == "raw" {
		return &sub{c: c}, nil // a bare server says nothing
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		_, m, err := c.ReadMessage()
		if err != nil {
			c.Close()
			return nil, err
		}
		if r := t.reply(m); r != nil {
			_ = c.WriteMessage(websocket.TextMessage, r)
		}
		if t.subscribed(m) {
			break
		}
	}
	_ = c.SetReadDeadline(time.Time{})
	return &sub{c: c}, nil
}

func (s *sub) read(t *target) {
	for {
		_, m, err := s.c.ReadMessage()
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		if r := t.reply(m); r != nil {
			_ = s.c.WriteMessage(websocket.TextMessage, r)
		}
		// A frame may carry several newline-separated messages.
		for _, line := range bytes.Split(m, []byte("\n")) {
			sent, phase, ok := sentAt(line)
			if !ok {
				continue
			}
			switch phase {
			case '1':
				s.mu.Lock()
				s.steady = append(s.steady, now-sent)
				s.mu.Unlock()
			case '2':
				atomic.AddInt64(&s.burst, 1)
				s.lastAt.Store(now)
			}
		}
	}
}
