package hq

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
)

// HealthTarget is one role's readiness endpoint (PALISADE_HEALTH_TARGETS).
type HealthTarget struct {
	Name, URL string
}

// heartbeatStale is how old the scheduler's heartbeat may be: it runs every
// minute, so three missed beats mean the scheduler or the workers stopped.
const heartbeatStale = 3 * time.Minute

// probeTimeout bounds each role's readiness call, so one hung role cannot
// hold the page.
const probeTimeout = 3 * time.Second

type roleRow struct {
	Name, URL, State, Detail string
	OK                       bool
}

type queueRow struct {
	Name                                 string
	Pending, Active, Retry, Dead, Failed int
}

type healthView struct {
	Roles        []roleRow
	Queues       []queueRow
	QueuesError  string
	Failures     []failureRow
	Heartbeat    string
	HeartbeatOK  bool
	AuditVerify  string
	AuditOK      bool
	AuditKnown   bool
	Scanner      []roleRow
	ScannerKnown bool
	// Realtime is the open connections summed over the replicas; nil when
	// no replica is configured.
	Realtime *realtimeView
}

type realtimeView struct {
	Connections float64
	Errors      []string
}

type failureRow struct {
	Queue, Type, Error string
}

// probe asks one role's readiness endpoint. Any answer other than 200 with
// ready=true is "down", with the failing checks named.
func (s *Server) probe(ctx context.Context, t HealthTarget) roleRow {
	row := roleRow{Name: t.Name, URL: t.URL}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL, nil)
	if err != nil {
		row.State, row.Detail = "down", err.Error()
		return row
	}
	resp, err := s.API.HTTP.Do(req)
	if err != nil {
		row.State, row.Detail = "down", "unreachable: "+err.Error()
		return row
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	rd, derr := httpx.DecodeReady(b)
	var bad []string
	for name, st := range rd.Checks {
		if st != "ok" {
			bad = append(bad, name+": "+st)
		}
	}
	sort.Strings(bad)
	switch {
	case resp.StatusCode == http.StatusOK && (derr != nil || rd.Ready):
		row.State, row.OK = "ready", true
	default:
		row.State = fmt.Sprintf("down (HTTP %d)", resp.StatusCode)
		row.Detail = strings.Join(bad, "; ")
	}
	return row
}

func (s *Server) consoleHealth(w http.ResponseWriter, r *http.Request, o core.Operator) {
	var v healthView
	v.Roles = make([]roleRow, len(s.Targets))
	var wg sync.WaitGroup
	for i, t := range s.Targets {
		wg.Go(func() { v.Roles[i] = s.probe(r.Context(), t) })
	}
	wg.Wait()
	if len(s.Targets) == 0 {
		// Without configured targets HQ still knows its API.
		v.Roles = append(v.Roles, s.probe(r.Context(), HealthTarget{Name: "api", URL: s.API.Base.String() + "/readyz"}))
	}
	var sum struct {
		Heartbeat      *time.Time `json:"heartbeat"`
		HeartbeatError string     `json:"heartbeat_error"`
		Queues         []struct {
			Name        string `json:"name"`
			Pending     int    `json:"pending"`
			Active      int    `json:"active"`
			Retry       int    `json:"retry"`
			Dead        int    `json:"dead"`
			FailedToday int    `json:"failed_today"`
		} `json:"queues"`
		QueuesError string `json:"queues_error"`
		Failures    []struct {
			Queue     string `json:"queue"`
			Type      string `json:"type"`
			LastError string `json:"last_error"`
		} `json:"failures"`
		AuditVerify *core.AuditEvent `json:"audit_verify"`
		Scanner     *struct {
			ClamdReachable   bool      `json:"clamd_reachable"`
			SignatureVersion string    `json:"signature_version"`
			SignatureTime    time.Time `json:"signature_time"`
			PendingOverdue   int64     `json:"pending_overdue"`
			Infected24h      int64     `json:"infected_24h"`
			Error            string    `json:"error"`
			NotConfigured    bool      `json:"not_configured"`
		} `json:"scanner"`
	}
	if err := s.API.Call(w, r, http.MethodGet, "/api/hq/health", nil, &sum); err != nil {
		s.fail(w, r, err)
		return
	}
	switch {
	case sum.HeartbeatError != "":
		v.Heartbeat = "unknown: " + sum.HeartbeatError
	case sum.Heartbeat == nil:
		v.Heartbeat = "no heartbeat recorded: the scheduler or the workers have not run"
	default:
		age := time.Since(*sum.Heartbeat).Truncate(time.Second)
		v.HeartbeatOK = age <= heartbeatStale
		v.Heartbeat = fmt.Sprintf("last beat %s ago (%s)", age, sum.Heartbeat.UTC().Format(time.RFC3339))
	}
	v.QueuesError = sum.QueuesError
	for _, q := range sum.Queues {
		v.Queues = append(v.Queues, queueRow{Name: q.Name, Pending: q.Pending, Active: q.Active, Retry: q.Retry, Dead: q.Dead, Failed: q.FailedToday})
	}
	for _, f := range sum.Failures {
		v.Failures = append(v.Failures, failureRow{Queue: f.Queue, Type: f.Type, Error: f.LastError})
	}
	if a := sum.AuditVerify; a != nil {
		v.AuditKnown, v.AuditOK = true, a.Outcome == "success"
		v.AuditVerify = a.CreatedAt.UTC().Format(time.RFC3339) + ": " + a.Detail
	}
	if sc := sum.Scanner; sc != nil {
		v.ScannerKnown = true
		clamd := roleRow{Name: "clamd", OK: sc.ClamdReachable && sc.Error == "", State: "reachable"}
		if !clamd.OK {
			clamd.State, clamd.Detail = "unreachable", sc.Error
		}
		sigAge := time.Since(sc.SignatureTime)
		sigs := roleRow{Name: "signatures", State: fmt.Sprintf("%s, %s old", sc.SignatureVersion, core.HumanDuration(sigAge)), OK: !sc.SignatureTime.IsZero() && sigAge < 48*time.Hour}
		if sc.SignatureTime.IsZero() {
			// clamd gave no build time (a test database, a custom one).
			sigs.State = "age unknown"
			if sc.SignatureVersion != "" {
				sigs.State = sc.SignatureVersion + ", age unknown"
			}
		}
		if sc.NotConfigured {
			// A state, not a failure: uploads stay pending until a scanner is set.
			clamd = roleRow{Name: "clamd", OK: true, State: "scanner not configured", Detail: "PALISADE_CLAMD_ADDR is not set: uploads stay pending"}
			sigs = roleRow{Name: "signatures", OK: true, State: "scanner not configured"}
		}
		v.Scanner = []roleRow{
			clamd,
			sigs,
			{Name: "pending too long", State: fmt.Sprint(sc.PendingOverdue), OK: sc.PendingOverdue == 0},
			{Name: "infected in 24 h", State: fmt.Sprint(sc.Infected24h), OK: true},
		}
	}
	if len(s.RealtimeMetrics) > 0 {
		v.Realtime = s.realtimeConnections(r.Context())
	}
	p := s.page(r, o, "Health")
	p.Data = v
	s.Views.Render(w, http.StatusOK, "hq_health", p)
}

// realtimeConnections sums palisade_realtime_connections over the realtime
// replicas' Prometheus endpoints; a replica that does not answer is named.
func (s *Server) realtimeConnections(ctx context.Context) *realtimeView {
	v := &realtimeView{}
	for _, u := range s.RealtimeMetrics {
		n, err := s.scrapeGauge(ctx, u, "palisade_realtime_connections")
		if err != nil {
			v.Errors = append(v.Errors, err.Error())
			continue
		}
		v.Connections += n
	}
	return v
}

// scrapeGauge reads one unlabelled metric from a Prometheus text page.
func (s *Server) scrapeGauge(ctx context.Context, u, name string) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := s.API.HTTP.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s: unreachable", u)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: HTTP %d", u, resp.StatusCode)
	}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 4<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(rest), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("%s: %w", u, err)
	}
	return 0, fmt.Errorf("%s: no %s metric", u, name)
}
