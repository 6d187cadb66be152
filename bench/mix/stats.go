package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// stats tallies latencies of successes and failures by status, per name.
type stats struct {
	mu    sync.Mutex
	order []string
	by    map[string]*tally
}

type tally struct {
	lat  []time.Duration
	errs map[string]int
}

func newStats() *stats { return &stats{by: map[string]*tally{}} }

func (s *stats) time(name string, fn func() error) error {
	t0 := time.Now()
	err := fn()
	d := time.Since(t0)
	if err == errSkip {
		return err
	}
	// Interrupted (Ctrl-C): not an answer of the server. A client timeout
	// is, and is counted below.
	if err != nil && !strings.Contains(err.Error(), "Client.Timeout") && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return err
	}
	s.mu.Lock()
	t := s.by[name]
	if t == nil {
		t = &tally{errs: map[string]int{}}
		s.by[name] = t
		s.order = append(s.order, name)
	}
	if err != nil {
		t.errs[statusOf(err)]++
	} else {
		t.lat = append(t.lat, d)
	}
	s.mu.Unlock()
	return err
}

func (s *stats) totals() (n, errs int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range s.order {
		if isTop(name) {
			t := s.by[name]
			n += len(t.lat)
			for _, e := range t.errs {
				n += e
				errs += e
			}
		}
	}
	return n, errs
}

// top-level operations of the mix; every other name is a step inside one.
var topNames = func() map[string]bool {
	m := map[string]bool{}
	for _, o := range operations() {
		m[o.name] = true
	}
	return m
}()

func isTop(name string) bool { return topNames[name] }

type row struct {
	Name     string         `json:"name"`
	Requests int            `json:"requests"`
	RPS      float64        `json:"per_second"`
	P50ms    float64        `json:"p50_ms"`
	P95ms    float64        `json:"p95_ms"`
	P99ms    float64        `json:"p99_ms"`
	Errors   int            `json:"errors"`
	ByStatus map[string]int `json:"errors_by_status,omitempty"`
}

type realtimeReport struct {
	Sockets        int   `json:"sockets"`
	StillOpen      int   `json:"still_open_at_end"`
	EventsExpected int64 `json:"file_scanned_expected"`
	EventsReceived int64 `json:"file_scanned_received"`
}

type report struct {
	Label      string         `json:"label,omitempty"`
	Mode       string         `json:"mode"`
	Date       string         `json:"date"`
	Seconds    float64        `json:"seconds"`
	Tenants    int            `json:"tenants"`
	Members    int            `json:"members_per_tenant"`
	Overall    row            `json:"overall"`
	Operations []row          `json:"operations"`
	Steps      []row          `json:"steps"`
	Dropped    int64          `json:"dropped"`
	Realtime   realtimeReport `json:"realtime"`
}

func mkRow(name string, lat []time.Duration, errs map[string]int, secs float64) row {
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000
	}
	r := row{Name: name, P50ms: pct(.50), P95ms: pct(.95), P99ms: pct(.99), ByStatus: errs}
	for _, e := range errs {
		r.Errors += e
	}
	r.Requests = len(lat) + r.Errors
	r.RPS = float64(r.Requests) / secs
	if len(errs) == 0 {
		r.ByStatus = nil
	}
	return r
}

func (s *stats) report(label, mode string, elapsed time.Duration, tenants, members int) report {
	s.mu.Lock()
	defer s.mu.Unlock()
	secs := elapsed.Seconds()
	rep := report{Label: label, Mode: mode, Date: time.Now().UTC().Format(time.RFC3339), Seconds: secs, Tenants: tenants, Members: members}
	var all []time.Duration
	allErr := map[string]int{}
	// Report operations in the mix's order, steps by name.
	var tops []string
	for _, o := range operations() {
		if s.by[o.name] != nil {
			tops = append(tops, o.name)
		}
	}
	var steps []string
	for _, n := range s.order {
		if !isTop(n) {
			steps = append(steps, n)
		}
	}
	sort.Strings(steps)
	for _, n := range tops {
		t := s.by[n]
		all = append(all, t.lat...)
		for k, v := range t.errs {
			allErr[k] += v
		}
		rep.Operations = append(rep.Operations, mkRow(n, slices.Clone(t.lat), maps.Clone(t.errs), secs))
	}
	for _, n := range steps {
		t := s.by[n]
		rep.Steps = append(rep.Steps, mkRow(n, slices.Clone(t.lat), maps.Clone(t.errs), secs))
	}
	rep.Overall = mkRow("overall (operations)", all, allErr, secs)
	return rep
}

func fmtErrs(r row) string {
	if r.Errors == 0 {
		return "0"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(r.ByStatus)) {
		parts = append(parts, fmt.Sprintf("%s×%d", k, r.ByStatus[k]))
	}
	return fmt.Sprintf("%d (%s)", r.Errors, strings.Join(parts, ", "))
}

func (r report) print(w io.Writer) {
	fmt.Fprintf(w, "\n%s — %s, %.1f s, %d tenants × %d members\n\n", r.Label, r.Mode, r.Seconds, r.Tenants, r.Members)
	fmt.Fprintln(w, "| operation | requests | per s | p50 | p95 | p99 | errors |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---|")
	line := func(x row, bold bool) {
		name := x.Name
		if bold {
			name = "**" + name + "**"
		}
		fmt.Fprintf(w, "| %s | %d | %.1f | %.1f ms | %.1f ms | %.1f ms | %s |\n", name, x.Requests, x.RPS, x.P50ms, x.P95ms, x.P99ms, fmtErrs(x))
	}
	for _, x := range r.Operations {
		line(x, false)
	}
	line(r.Overall, true)
	if len(r.Steps) > 0 {
		fmt.Fprintln(w, "\nSteps inside upload, download and realtime subscribe, and the scan event:")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| step | requests | per s | p50 | p95 | p99 | errors |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---|")
		for _, x := range r.Steps {
			line(x, false)
		}
	}
	fmt.Fprintf(w, "\nrealtime: %d sockets held (%d still open at the end); file.scanned events received %d of %d expected; open-loop drops %d\n",
		r.Realtime.Sockets, r.Realtime.StillOpen, r.Realtime.EventsReceived, r.Realtime.EventsExpected, r.Dropped)
}

// record adds one success measured elsewhere (event latencies).
func (s *stats) record(name string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.by[name]
	if t == nil {
		t = &tally{errs: map[string]int{}}
		s.by[name] = t
		s.order = append(s.order, name)
	}
	t.lat = append(t.lat, d)
}
