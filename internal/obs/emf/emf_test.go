package emf_test

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/obs"
	"github.com/palisade-hq/palisade/internal/obs/emf"
)

// lines parses every line of out as EMF and indexes the data by name.
func lines(t *testing.T, out []byte) (map[string]emf.Datum, int) {
	t.Helper()
	got := map[string]emf.Datum{}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		n++
		if len(sc.Bytes()) >= 4096 {
			t.Errorf("a document of %d bytes: pipes write only 4 KiB atomically", len(sc.Bytes()))
		}
		ds, err := emf.Parse(sc.Bytes())
		if err != nil {
			t.Fatalf("not EMF: %v\n%s", err, sc.Text())
		}
		for _, d := range ds {
			if _, dup := got[d.Name]; dup {
				t.Errorf("%s declared twice", d.Name)
			}
			got[d.Name] = d
		}
	}
	return got, n
}

// TestEmitterWritesEMF runs the emitter on a real registry (the shared
// HTTP metrics and the job metrics) and checks the output is EMF that
// CloudWatch extracts: every metric named in a directive is a top-level
// number with a valid unit, under the dimensions given.
func TestEmitterWritesEMF(t *testing.T) {
	m := obs.NewMetrics()
	jobs.NewMetrics(m.Registry)
	depth := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "palisade_jobs_queue_depth"}, []string{"queue", "state"})
	m.Registry.MustRegister(depth)
	depth.WithLabelValues("default", "pending").Set(3)
	depth.WithLabelValues("critical", "pending").Set(2)
	depth.WithLabelValues("default", "dead").Set(1)
	m.Observe("api", "GET /api/x", 200, time.Millisecond)
	m.Observe("api", "GET /api/x", 502, time.Millisecond)
	m.Observe("api", "GET /api/y", 500, time.Millisecond)

	var out bytes.Buffer
	now := time.UnixMilli(1_700_000_000_000)
	e := &emf.Emitter{Gatherer: m.Registry, Out: &out, Dimensions: map[string]string{"Service": "api", "Environment": "production"}, Now: func() time.Time { return now }}
	if err := e.Emit(); err != nil {
		t.Fatal(err)
	}
	got, _ := lines(t, out.Bytes())
	want := map[string]float64{"JobsPending": 5, "JobsDead": 1, "JobsRetrying": 0, "HTTPRequests": 3, "HTTPServerErrors": 2}
	for name, v := range want {
		d, ok := got[name]
		if !ok {
			t.Errorf("%s not written; got %v", name, got)
			continue
		}
		if d.Value != v || d.Namespace != emf.Namespace || d.Dimensions["Service"] != "api" || d.Dimensions["Environment"] != "production" || len(d.Dimensions) != 2 {
			t.Errorf("%s = %+v, want value %v in %s with Service=api, Environment=production", name, d, v, emf.Namespace)
		}
	}
	if _, ok := got["RealtimeConnections"]; ok {
		t.Error("a family the registry does not hold was written")
	}

	// Counters are written as the increase since the last document.
	m.Observe("api", "GET /api/x", 503, time.Millisecond)
	out.Reset()
	if err := e.Emit(); err != nil {
		t.Fatal(err)
	}
	got, _ = lines(t, out.Bytes())
	if got["HTTPRequests"].Value != 1 || got["HTTPServerErrors"].Value != 1 || got["JobsPending"].Value != 5 {
		t.Errorf("second document: requests %v, 5xx %v, pending %v; want 1, 1, 5", got["HTTPRequests"].Value, got["HTTPServerErrors"].Value, got["JobsPending"].Value)
	}
}

// TestCatalogIsValid: names unique, units CloudWatch units.
func TestCatalogIsValid(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range emf.Catalog {
		if seen[m.Name] || m.Name == "" || !emf.Units[m.Unit] || !strings.HasPrefix(m.Family, "palisade_") {
			t.Errorf("catalog entry %+v: duplicate, unnamed, bad unit or not a palisade_ family", m)
		}
		seen[m.Name] = true
	}
}

// TestManyMetricsSplitIntoDocuments: more metrics than one document holds
// go in several, each valid.
func TestManyMetricsSplitIntoDocuments(t *testing.T) {
	reg := prometheus.NewRegistry()
	var ms []emf.Metric
	for i := range 60 {
		name := "palisade_g" + string(rune('a'+i/26)) + string(rune('a'+i%26))
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name})
		reg.MustRegister(g)
		g.Set(float64(i))
		ms = append(ms, emf.Metric{Name: "G" + name, Unit: "Count", Family: name})
	}
	var out bytes.Buffer
	e := &emf.Emitter{Gatherer: reg, Out: &out, Metrics: ms, Dimensions: map[string]string{"Service": "x"}}
	if err := e.Emit(); err != nil {
		t.Fatal(err)
	}
	got, n := lines(t, out.Bytes())
	if len(got) != 60 || n < 3 {
		t.Errorf("%d metrics in %d documents, want 60 in at least 3", len(got), n)
	}
}

// TestParseRejectsWhatCloudWatchWouldNotExtract is the checker's own test:
// each broken document is refused.
func TestParseRejectsWhatCloudWatchWouldNotExtract(t *testing.T) {
	good := `{"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"Palisade","Dimensions":[["Service"]],"Metrics":[{"Name":"JobsPending","Unit":"Count"}]}]},"Service":"worker","JobsPending":3}`
	if ds, err := emf.Parse([]byte(good)); err != nil || len(ds) != 1 || ds[0].Value != 3 {
		t.Fatalf("good document: %+v %v", ds, err)
	}
	for name, doc := range map[string]string{
		"no _aws":           `{"JobsPending":3}`,
		"no timestamp":      `{"_aws":{"CloudWatchMetrics":[{"Namespace":"P","Dimensions":[[]],"Metrics":[{"Name":"A","Unit":"Count"}]}]},"A":1}`,
		"seconds timestamp": `{"_aws":{"Timestamp":1700000000,"CloudWatchMetrics":[{"Namespace":"P","Dimensions":[[]],"Metrics":[{"Name":"A","Unit":"Count"}]}]},"A":1}`,
		"value missing":     strings.Replace(good, `,"JobsPending":3`, ``, 1),
		"value a string":    strings.Replace(good, `"JobsPending":3`, `"JobsPending":"3"`, 1),
		"bad unit":          strings.Replace(good, `"Unit":"Count"`, `"Unit":"count"`, 1),
		"dimension missing": strings.Replace(good, `"Service":"worker",`, ``, 1),
		"dimension number":  strings.Replace(good, `"Service":"worker"`, `"Service":1`, 1),
		"no namespace":      strings.Replace(good, `"Namespace":"Palisade",`, ``, 1),
		"AWS namespace":     strings.Replace(good, `"Namespace":"Palisade"`, `"Namespace":"AWS/ECS"`, 1),
		"no dimensions":     strings.Replace(good, `"Dimensions":[["Service"]],`, ``, 1),
		"no metrics":        strings.Replace(good, `{"Name":"JobsPending","Unit":"Count"}`, ``, 1),
	} {
		if _, err := emf.Parse([]byte(doc)); err == nil {
			t.Errorf("%s: accepted %s", name, doc)
		}
	}
}
