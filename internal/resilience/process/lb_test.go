package process

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// lb models the ALB in front of a role's replicas: round-robin over the
// targets whose /readyz answered 200, a health check every pollEvery that
// takes a target out after two failures in a row (the ALB's smallest
// unhealthy threshold) and puts it back on its first success, and fail-open
// when no target is healthy, as the ALB does. Like the ALB with POSTs, it
// never retries a failed request: an error reaching a target is a 502.
type lb struct {
	name    string
	srv     *httptest.Server
	targets []*target
	rr      atomic.Uint64
	// errors counts requests the proxy could not deliver or complete.
	errors atomic.Int64
}

type target struct {
	addr    string
	proxy   *httputil.ReverseProxy
	healthy atomic.Bool
	fails   int // only the poller touches it
	served  atomic.Int64
}

const pollEvery = 200 * time.Millisecond

func newLB(t *testing.T, name string, addrs ...string) *lb {
	t.Helper()
	l := &lb{name: name}
	tr := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	for _, a := range addrs {
		u, _ := url.Parse("http://" + a)
		tg := &target{addr: a}
		tg.proxy = &httputil.ReverseProxy{
			// Director, not Rewrite: like the ALB it keeps the Host and the
			// X-Forwarded-* headers it got and appends to X-Forwarded-For.
			//lint:ignore SA1019 Rewrite would drop the inbound X-Forwarded-* headers this proxy must keep.
			Director: func(r *http.Request) {
				r.URL.Scheme, r.URL.Host = u.Scheme, u.Host
			},
			Transport: tr,
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				l.errors.Add(1)
				t.Logf("%s → %s: %s %s: %v", name, a, r.Method, r.URL.Path, err)
				w.WriteHeader(http.StatusBadGateway)
			},
		}
		l.targets = append(l.targets, tg)
	}
	l.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg := l.pick()
		tg.served.Add(1)
		tg.proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(l.srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { l.poll(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return l
}

// Addr is the listener's host:port.
func (l *lb) Addr() string { return l.srv.Listener.Addr().String() }

func (l *lb) pick() *target {
	var up []*target
	for _, tg := range l.targets {
		if tg.healthy.Load() {
			up = append(up, tg)
		}
	}
	if len(up) == 0 {
		up = l.targets // fail open
	}
	return up[l.rr.Add(1)%uint64(len(up))]
}

func (l *lb) poll(ctx context.Context) {
	c := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		for _, tg := range l.targets {
			ok := false
			if res, err := c.Get("http://" + tg.addr + "/readyz"); err == nil {
				res.Body.Close()
				ok = res.StatusCode == http.StatusOK
			}
			if ok {
				tg.fails = 0
				tg.healthy.Store(true)
			} else if tg.fails++; tg.fails >= 2 {
				tg.healthy.Store(false)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// waitHealthy waits until the LB routes to target i again.
func (l *lb) waitHealthy(t *testing.T, i int, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !l.targets[i].healthy.Load() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: target %s not healthy after %s", l.name, l.targets[i].addr, bound)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
