// Command loadgen sends a fixed request at a fixed concurrency for a while
// and reports throughput and latency percentiles. It is bounded in time and
// meant for loopback targets only.
//
//	go run ./bench/loadgen -url http://127.0.0.1:13000/api/invitations -host acme.localhost -cookie 'palisade_session=…' -c 64 -d 20s
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

type result struct {
	Target     string  `json:"target"`
	Requests   int     `json:"requests"`
	Errors     int     `json:"errors"`
	Seconds    float64 `json:"seconds"`
	RPS        float64 `json:"rps"`
	P50ms      float64 `json:"p50_ms"`
	P95ms      float64 `json:"p95_ms"`
	P99ms      float64 `json:"p99_ms"`
	BytesPerOp int64   `json:"bytes_per_response"`
}

func main() {
	url := flag.String("url", "", "target URL (loopback)")
	host := flag.String("host", "", "Host header")
	cookie := flag.String("cookie", "", "Cookie header")
	xfh := flag.String("forwarded-host", "", "X-Forwarded-Host header (for the API directly)")
	conc := flag.Int("c", 64, "concurrent workers")
	dur := flag.Duration("d", 20*time.Second, "measured duration")
	warm := flag.Duration("warmup", 3*time.Second, "unmeasured warm-up")
	label := flag.String("label", "", "name in the report")
	var headers headerFlags
	flag.Var(&headers, "header", "extra request header \"Name: value\" (repeatable), e.g. a peer's Authorization token")
	flag.Parse()
	if *url == "" || *dur > 10*time.Minute {
		fmt.Fprintln(os.Stderr, "loadgen: -url is required and -d is at most 10m")
		os.Exit(2)
	}
	tr := &http.Transport{MaxIdleConns: *conc * 2, MaxIdleConnsPerHost: *conc * 2, MaxConnsPerHost: *conc * 2}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	do := func(ctx context.Context) (int64, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
		if *host != "" {
			req.Host = *host
		}
		if *cookie != "" {
			req.Header.Set("Cookie", *cookie)
		}
		if *xfh != "" {
			req.Header.Set("X-Forwarded-Host", *xfh)
		}
		for _, h := range headers {
			req.Header.Set(h[0], h[1])
		}
		res, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			return n, fmt.Errorf("status %d", res.StatusCode)
		}
		return n, nil
	}
	if _, err := do(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen: first request failed:", err)
		os.Exit(1)
	}
	run := func(d time.Duration, record bool) result {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		var mu sync.Mutex
		var lat []time.Duration
		var errs int
		var bytes int64
		start := time.Now()
		var wg sync.WaitGroup
		for range *conc {
			wg.Go(func() {
				local := make([]time.Duration, 0, 4096)
				var e int
				var b int64
				for ctx.Err() == nil {
					t0 := time.Now()
					n, err := do(ctx)
					if ctx.Err() != nil {
						break
					}
					if err != nil {
						e++
						continue
					}
					b = n
					local = append(local, time.Since(t0))
				}
				mu.Lock()
				lat = append(lat, local...)
				errs += e
				if b > 0 {
					bytes = b
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		el := time.Since(start).Seconds()
		if !record {
			return result{}
		}
		slices.Sort(lat)
		pct := func(p float64) float64 {
			if len(lat) == 0 {
				return 0
			}
			return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000
		}
		return result{Target: *label, Requests: len(lat), Errors: errs, Seconds: el, RPS: float64(len(lat)) / el,
			P50ms: pct(.50), P95ms: pct(.95), P99ms: pct(.99), BytesPerOp: bytes}
	}
	run(*warm, false)
	r := run(*dur, true)
	_ = json.NewEncoder(os.Stdout).Encode(r)
}

// headerFlags collects repeated -header "Name: value" flags.
type headerFlags [][2]string

func (h *headerFlags) String() string { return fmt.Sprint(*h) }

func (h *headerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("want \"Name: value\", got %q", v)
	}
	*h = append(*h, [2]string{strings.TrimSpace(name), strings.TrimSpace(value)})
	return nil
}
