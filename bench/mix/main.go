// Command mix is a load harness for a multi-process Palisade: it signs up
// many tenants through the real API, invites and logs in their members,
// keeps realtime subscriptions open, and runs a weighted mix of page
// views, API lists and writes, presigned S3 transfers and realtime
// subscriptions through web, closed loop (-c) or open loop (-rate).
// Loopback only and bounded in time; bench/mix/run.sh starts the roles.
//
//	mix -c 64 -d 60s -json out.json
//	mix -rate 100 -d 30m
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// mix is the running load: who, what, and the tally.
type mix struct {
	c       *client
	stats   *stats
	ops     []op
	total   int
	users   []*user
	mgrs    []*user
	subsPer map[*tenant]int // long-lived subscribers per tenant
	expect  atomic.Int64    // file.scanned deliveries the subscribers should see

	evMu     sync.Mutex
	measured bool                // count only files completed in the measured run
	waiting  map[int64]time.Time // file id → when its upload completed
	got      int64               // deliveries of measured files to held sockets
}

// expectScan notes a completed upload: every held socket of its tenant
// should get its file.scanned event.
func (m *mix) expectScan(t *tenant, id int64) {
	m.evMu.Lock()
	defer m.evMu.Unlock()
	if !m.measured {
		return
	}
	m.expect.Add(int64(m.subsPer[t]))
	m.waiting[id] = time.Now()
}

// onScanned runs for each file.scanned event a held socket receives; the
// first delivery of a file times upload-complete → event on a socket.
func (m *mix) onScanned(id int64) {
	m.evMu.Lock()
	defer m.evMu.Unlock()
	t0, ok := m.waiting[id]
	if !ok {
		return
	}
	m.got++
	if !t0.IsZero() {
		m.stats.record("file.scanned event (complete → socket)", time.Since(t0))
		m.waiting[id] = time.Time{}
	}
}

// pick draws an operation by weight and a user allowed to do it.
func (m *mix) pick(r *rand.Rand) (*op, *user) {
	n := r.IntN(m.total)
	for i := range m.ops {
		if n < m.ops[i].weight {
			o := &m.ops[i]
			if o.manager {
				return o, m.mgrs[r.IntN(len(m.mgrs))]
			}
			return o, m.users[r.IntN(len(m.users))]
		}
		n -= m.ops[i].weight
	}
	panic("unreachable")
}

// one runs one drawn operation and records it; a skipped one (nothing to
// revoke yet) is replaced by an invitation, which gives the next revoke
// something to do.
func (m *mix) one(ctx context.Context, r *rand.Rand) {
	o, u := m.pick(r)
	err := m.stats.time(o.name, func() error { return o.run(ctx, m, u) })
	if err == errSkip {
		_ = m.stats.time("POST /api/invitations", func() error { return createInvitation(ctx, m, u) })
	}
}

func main() {
	web := flag.String("web", "http://127.0.0.1:13000", "web role origin")
	api := flag.String("api", "http://127.0.0.1:18000", "api role origin (sign-up only)")
	rt := flag.String("realtime", "ws://127.0.0.1:18080", "realtime role origin")
	domain := flag.String("domain", "localhost:13000", "tenant hosts are <slug>.<domain>")
	appKey := flag.String("app-key", "bench-key", "realtime app key")
	dsn := flag.String("dsn", "root@tcp(127.0.0.1:3306)/palisade_mix", "database, to read invitation mail from the outbox")
	nTenants := flag.Int("tenants", 20, "tenants to sign up")
	members := flag.Int("members", 5, "members per tenant, owner included")
	conc := flag.Int("c", 0, "closed loop: concurrent workers")
	rate := flag.Float64("rate", 0, "open loop: operations per second")
	maxInFlight := flag.Int("max-in-flight", 2000, "open loop: operations outstanding before new ones are dropped (and counted)")
	dur := flag.Duration("d", 60*time.Second, "measured duration")
	warm := flag.Duration("warmup", 5*time.Second, "unmeasured warm-up")
	nSubs := flag.Int("subs", 100, "realtime sockets kept subscribed for the whole run")
	jsonOut := flag.String("json", "", "write the JSON report here")
	label := flag.String("label", "", "name of the run in the report")
	progress := flag.Duration("progress", 0, "print a line of totals this often (soak)")
	flag.Parse()
	if (*conc > 0) == (*rate > 0) || *dur > 2*time.Hour || *nTenants < 1 || *members < 2 {
		fmt.Fprintln(os.Stderr, "mix: give exactly one of -c or -rate; -d at most 2h; -tenants ≥ 1; -members ≥ 2")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	tr := &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second}
	var invSeq atomic.Int64
	c := &client{
		http: &http.Client{Transport: tr, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		web: *web, api: *api, domain: *domain, appKey: *appKey, rtURL: *rt,
		nextInv: func() int { return int(invSeq.Add(1)) },
	}
	runID := fmt.Sprintf("%x", time.Now().Unix()&0xfffff)
	t0 := time.Now()
	tenants, err := seed(ctx, c, *dsn, runID, *nTenants, *members)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mix: seed:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "mix: seeded %d tenants × %d members in %s\n", *nTenants, *members, time.Since(t0).Round(time.Millisecond))

	m := &mix{c: c, stats: newStats(), ops: operations(), subsPer: map[*tenant]int{}, waiting: map[int64]time.Time{}}
	for _, t := range tenants {
		for _, u := range t.users {
			m.users = append(m.users, u)
			if u.manager {
				m.mgrs = append(m.mgrs, u)
			}
		}
	}
	for _, o := range m.ops {
		m.total += o.weight
	}

	// Long-lived subscribers: the first nSubs users (round robin over
	// tenants) each hold their tenant's files channel open.
	var subs []*sub
	for i := 0; i < *nSubs; i++ {
		t := tenants[i%len(tenants)]
		u := t.users[(i/len(tenants))%len(t.users)]
		s, err := subscribe(ctx, c, u, fmt.Sprintf("private-tenant.%d.files", t.id), nil, m.onScanned)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mix: subscriber:", err)
			os.Exit(1)
		}
		subs = append(subs, s)
		m.subsPer[t]++
	}
	fmt.Fprintf(os.Stderr, "mix: %d realtime sockets subscribed\n", len(subs))

	gotNow := func() int64 { m.evMu.Lock(); defer m.evMu.Unlock(); return m.got }
	run := func(d time.Duration) (elapsed time.Duration, dropped int64) {
		rctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		start := time.Now()
		var wg sync.WaitGroup
		stopProgress := make(chan struct{})
		if *progress > 0 {
			go func() {
				tk := time.NewTicker(*progress)
				defer tk.Stop()
				for {
					select {
					case <-stopProgress:
						return
					case <-tk.C:
						n, e := m.stats.totals()
						fmt.Fprintf(os.Stderr, "mix: %s ops=%d errors=%d file.scanned deliveries=%d/%d\n", time.Since(start).Round(time.Second), n, e, gotNow(), m.expect.Load())
					}
				}
			}()
		}
		if *conc > 0 {
			for i := range *conc {
				wg.Go(func() {
					r := rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))
					for rctx.Err() == nil {
						m.one(ctx, r)
					}
				})
			}
		} else {
			// Open loop: operations start on schedule whatever the latency,
			// so slow answers show as latency, not as fewer requests.
			interval := time.Duration(float64(time.Second) / *rate)
			var inFlight atomic.Int64
			var seq uint64
			next := start
			for rctx.Err() == nil {
				next = next.Add(interval)
				if w := time.Until(next); w > 0 {
					select {
					case <-rctx.Done():
					case <-time.After(w):
					}
				}
				if rctx.Err() != nil {
					break
				}
				if inFlight.Load() >= int64(*maxInFlight) {
					dropped++
					continue
				}
				seq++
				inFlight.Add(1)
				wg.Go(func() {
					defer inFlight.Add(-1)
					m.one(ctx, rand.New(rand.NewPCG(seq, uint64(start.UnixNano()))))
				})
			}
		}
		wg.Wait()
		close(stopProgress)
		return time.Since(start), dropped
	}
	if *warm > 0 {
		run(*warm)
	}
	m.evMu.Lock()
	m.stats = newStats()
	m.measured = true
	m.evMu.Unlock()
	elapsed, dropped := run(*dur)
	// Scans finish after the run: give the worker a moment to publish them.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && gotNow() < m.expect.Load() {
		time.Sleep(250 * time.Millisecond)
	}
	m.evMu.Lock()
	got := m.got
	m.measured = false
	m.evMu.Unlock()
	open := 0
	for _, s := range subs {
		select {
		case <-s.done:
		default:
			open++
		}
		s.close()
	}
	mode := fmt.Sprintf("closed loop, C=%d", *conc)
	if *rate > 0 {
		mode = fmt.Sprintf("open loop, %.0f ops/s", *rate)
	}
	rep := m.stats.report(*label, mode, elapsed, *nTenants, *members)
	rep.Dropped = dropped
	rep.Realtime = realtimeReport{Sockets: len(subs), StillOpen: open, EventsExpected: m.expect.Load(), EventsReceived: got}
	rep.print(os.Stdout)
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "mix:", err)
			os.Exit(1)
		}
	}
	if ctx.Err() != nil {
		os.Exit(130)
	}
}
