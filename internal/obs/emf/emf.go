// Package emf ships a role's Prometheus metrics to CloudWatch as Embedded
// Metric Format (EMF) log lines: every interval the Emitter gathers the
// registry, turns the families named in Catalog into CloudWatch metrics
// and writes one JSON document per line to stdout, which the tasks'
// awslogs driver already sends to the role's log group. CloudWatch Logs
// extracts the metrics from the documents; no agent, sidecar or
// cloudwatch:PutMetricData permission is involved (docs/architecture.md,
// "Metrics in CloudWatch").
//
// The format (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
//
//	{"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"Palisade",
//	  "Dimensions":[["Service","Environment"]],"Metrics":[{"Name":"JobsPending","Unit":"Count"}]}]},
//	 "Service":"worker","Environment":"production","JobsPending":3}
//
// Gauges are written as their current value (summed over the matching
// series), counters as the increase since the previous document, so the
// Sum statistic over a period is the number of events in it.
package emf

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Kind says how a Prometheus family becomes a CloudWatch value.
type Kind int

const (
	// Gauge: the current value, summed over the matching series.
	Gauge Kind = iota
	// Counter: the increase of the matching series' sum since the last
	// document (a reset counts from zero).
	Counter
)

// Metric maps one Prometheus family (optionally some of its series) to a
// CloudWatch metric.
type Metric struct {
	Name   string // CloudWatch metric name
	Unit   string // a CloudWatch unit (Units)
	Family string // Prometheus family name
	// Labels selects series: each label must equal the value, or start
	// with it when the value ends in "*". Nil selects every series.
	Labels map[string]string
	Kind   Kind
}

// Catalog is every metric the roles write. A role writes the entries
// whose family its registry holds; an entry whose family is there but has
// no matching series is written as 0. The alarms in
// infra/modules/monitoring name these metrics, and
// infra/deploytest/alarms_test.go checks each alarmed one is written.
var Catalog = []Metric{
	// worker: queues, read from Redis at gather time (jobs.RegisterQueueDepth).
	{Name: "JobsPending", Unit: "Count", Family: "palisade_jobs_queue_depth", Labels: map[string]string{"state": "pending"}, Kind: Gauge},
	{Name: "JobsRetrying", Unit: "Count", Family: "palisade_jobs_queue_depth", Labels: map[string]string{"state": "retry"}, Kind: Gauge},
	{Name: "JobsDead", Unit: "Count", Family: "palisade_jobs_queue_depth", Labels: map[string]string{"state": "dead"}, Kind: Gauge},
	// worker: files and audit, read from the database at gather time (internal/app/metrics.go).
	{Name: "FilesPendingOverdue", Unit: "Count", Family: "palisade_files_pending_overdue", Kind: Gauge},
	{Name: "FileScanErrors", Unit: "Count", Family: "palisade_files_scan_errors", Kind: Gauge},
	{Name: "AuditVerifyFailed", Unit: "Count", Family: "palisade_audit_verify_failed", Kind: Gauge},
	{Name: "AuditVerifyAge", Unit: "Seconds", Family: "palisade_audit_verify_age_seconds", Kind: Gauge},
	// worker and scheduler: job outcomes.
	{Name: "JobsProcessed", Unit: "Count", Family: "palisade_jobs_processed_total", Kind: Counter},
	{Name: "JobsFailed", Unit: "Count", Family: "palisade_jobs_failed_total", Kind: Counter},
	{Name: "JobsDeadLettered", Unit: "Count", Family: "palisade_jobs_dead_total", Kind: Counter},
	{Name: "SchedulerEnqueueErrors", Unit: "Count", Family: "palisade_scheduler_enqueues_total", Labels: map[string]string{"outcome": "error"}, Kind: Counter},
	// api, web, hq: requests.
	{Name: "HTTPRequests", Unit: "Count", Family: "palisade_http_requests_total", Kind: Counter},
	{Name: "HTTPServerErrors", Unit: "Count", Family: "palisade_http_requests_total", Labels: map[string]string{"code": "5*"}, Kind: Counter},
	// realtime.
	{Name: "RealtimeConnections", Unit: "Count", Family: "palisade_realtime_connections", Kind: Gauge},
	{Name: "RealtimeSubscriptions", Unit: "Count", Family: "palisade_realtime_subscriptions", Kind: Gauge},
	{Name: "RealtimeMessagesOut", Unit: "Count", Family: "palisade_realtime_messages_out_total", Kind: Counter},
	{Name: "RealtimeBusErrors", Unit: "Count", Family: "palisade_realtime_bus_errors_total", Kind: Counter},
}

// Namespace is the CloudWatch namespace of the app's metrics.
const Namespace = "Palisade"

// Units are the units CloudWatch accepts (MetricDatum.Unit in the
// CloudWatch API reference).
var Units = map[string]bool{}

func init() {
	for _, u := range strings.Fields(`Seconds Microseconds Milliseconds Bytes Kilobytes Megabytes Gigabytes Terabytes
		Bits Kilobits Megabits Gigabits Terabits Percent Count Bytes/Second Kilobytes/Second Megabytes/Second
		Gigabytes/Second Terabytes/Second Bits/Second Kilobits/Second Megabits/Second Gigabits/Second
		Terabits/Second Count/Second None`) {
		Units[u] = true
	}
}

// maxPerDocument bounds a document's metrics (EMF allows 100 per
// directive) so a line stays far below the 4 KiB a pipe writes
// atomically: the log lines written beside it never interleave with it.
const maxPerDocument = 25

// Emitter writes EMF documents for one process.
type Emitter struct {
	Gatherer   prometheus.Gatherer
	Out        io.Writer
	Namespace  string            // Namespace if empty
	Dimensions map[string]string // e.g. Service and Environment; written as one dimension set
	Metrics    []Metric          // Catalog if nil
	Now        func() time.Time  // time.Now if nil

	mu   sync.Mutex
	last map[string]float64 // counters' previous sums by metric name
}

// Run emits every interval until ctx ends, and once more then, so the
// last interval's counts are not lost at shutdown.
func (e *Emitter) Run(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return e.Emit()
		case <-t.C:
			if err := e.Emit(); err != nil {
				return err
			}
		}
	}
}

// Emit gathers once and writes the documents.
func (e *Emitter) Emit() error {
	fams, err := e.Gatherer.Gather()
	if err != nil && len(fams) == 0 {
		return fmt.Errorf("emf: gather: %w", err)
	}
	// A collector that failed (say Redis did not answer) leaves its
	// family out; the others are still written.
	byName := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		byName[f.GetName()] = f
	}
	metrics := e.Metrics
	if metrics == nil {
		metrics = Catalog
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.last == nil {
		e.last = map[string]float64{}
	}
	type value struct {
		m Metric
		v float64
	}
	var vals []value
	for _, m := range metrics {
		f, ok := byName[m.Family]
		if !ok {
			continue
		}
		sum := 0.0
		for _, s := range f.GetMetric() {
			if matches(m.Labels, s.GetLabel()) {
				sum += sampleValue(s)
			}
		}
		v := sum
		if m.Kind == Counter {
			prev, seen := e.last[m.Name]
			e.last[m.Name] = sum
			if seen && sum >= prev {
				v = sum - prev
			}
		}
		vals = append(vals, value{m, v})
	}
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	ts := now().UnixMilli()
	ns := e.Namespace
	if ns == "" {
		ns = Namespace
	}
	dims := make([]string, 0, len(e.Dimensions))
	for k := range e.Dimensions {
		dims = append(dims, k)
	}
	sort.Strings(dims)
	var buf bytes.Buffer
	for start := 0; start < len(vals); start += maxPerDocument {
		chunk := vals[start:min(start+maxPerDocument, len(vals))]
		doc := map[string]any{}
		defs := make([]map[string]string, 0, len(chunk))
		for _, v := range chunk {
			defs = append(defs, map[string]string{"Name": v.m.Name, "Unit": v.m.Unit})
			doc[v.m.Name] = v.v
		}
		for k, v := range e.Dimensions {
			doc[k] = v
		}
		doc["_aws"] = map[string]any{
			"Timestamp": ts,
			"CloudWatchMetrics": []map[string]any{{
				"Namespace": ns, "Dimensions": [][]string{dims}, "Metrics": defs,
			}},
		}
		line, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		buf.Reset()
		buf.Write(line)
		buf.WriteByte('\n')
		if _, err := e.Out.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("emf: write: %w", err)
		}
	}
	return nil
}

func matches(want map[string]string, labels []*dto.LabelPair) bool {
	for k, v := range want {
		got, found := "", false
		for _, l := range labels {
			if l.GetName() == k {
				got, found = l.GetValue(), true
				break
			}
		}
		if !found {
			return false
		}
		if p, ok := strings.CutSuffix(v, "*"); ok {
			if !strings.HasPrefix(got, p) {
				return false
			}
		} else if got != v {
			return false
		}
	}
	return true
}

func sampleValue(s *dto.Metric) float64 {
	switch {
	case s.Gauge != nil:
		return s.Gauge.GetValue()
	case s.Counter != nil:
		return s.Counter.GetValue()
	case s.Untyped != nil:
		return s.Untyped.GetValue()
	case s.Histogram != nil:
		return float64(s.Histogram.GetSampleCount())
	case s.Summary != nil:
		return float64(s.Summary.GetSampleCount())
	}
	return 0
}
