package deps

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/testenv"
)

// requestTimeout bounds one request of the load. It is not a performance
// threshold: a request still unanswered after it is a hang, which a
// dependency fault must never cause (every dependency call is bounded far
// below it).
const requestTimeout = 45 * time.Second

// sample is one request of the load.
type sample struct {
	op         string
	start, end time.Time
	status     int    // 0: no answer (transport error or timeout)
	detail     string // body or error, kept for unclean answers only
}

func (s sample) ok() bool { return s.status/100 == 2 }

// clean is an error answer the platform may give while a dependency is
// away: 503 with the JSON error body, nothing else.
func (s sample) clean() bool {
	return s.status == http.StatusServiceUnavailable && strings.Contains(s.detail, `"code":"unavailable"`) &&
		!strings.Contains(s.detail, "goroutine") && !strings.Contains(s.detail, ".go:")
}

// uploadRec is one upload the load attempted: its file id once upload-url
// answered, whether the bytes reached S3, and whether complete answered 2xx.
type uploadRec struct {
	id        int64
	created   time.Time // when upload-url answered
	put, done bool
	body      []byte
}

// load runs workers goroutines of authenticated reads and writes through
// the tenant site's /api proxy until stopped.
type load struct {
	s       *stack
	slug    string
	uploads bool          // include file uploads
	pause   time.Duration // between two requests of one worker

	mu       sync.Mutex
	samples  []sample
	invites  map[int64]string // id → email of every invitation answered 2xx
	files    []*uploadRec
	seq      atomic.Int64
	stopping chan struct{}
	wg       sync.WaitGroup
}

func startLoad(t *testing.T, s *stack, owner *http.Client, slug string, workers int, pause time.Duration, uploads bool) *load {
	l := &load{s: s, slug: slug, uploads: uploads, pause: pause, invites: map[int64]string{}, stopping: make(chan struct{})}
	// The workers share the owner's session (cookies), each with its own
	// connections, like one busy user with many tabs.
	for w := range workers {
		c := s.client(requestTimeout)
		c.Jar = owner.Jar
		l.wg.Go(func() { l.run(w, c) })
	}
	t.Cleanup(l.stop)
	return l
}

func (l *load) stop() {
	select {
	case <-l.stopping:
	default:
		close(l.stopping)
	}
	l.wg.Wait()
}

func (l *load) run(w int, c *http.Client) {
	for i := 0; ; i++ {
		select {
		case <-l.stopping:
			return
		default:
		}
		switch {
		case l.uploads && (i+w)%3 == 0:
			l.upload(c)
		case (i+w)%2 == 0:
			l.invite(c)
		default:
			l.read(c)
		}
		time.Sleep(l.pause)
	}
}

func (l *load) record(op string, start time.Time, status int, body string, err error) sample {
	sm := sample{op: op, start: start, end: time.Now(), status: status}
	if err != nil {
		sm.detail = err.Error()
	} else if !sm.ok() {
		sm.detail = body
	}
	l.mu.Lock()
	l.samples = append(l.samples, sm)
	l.mu.Unlock()
	return sm
}

func (l *load) read(c *http.Client) {
	start := time.Now()
	code, body, err := l.s.apiCall(context.Background(), c, l.slug, "GET", "/api/members?limit=20", nil, nil)
	l.record("read", start, code, body, err)
}

func (l *load) invite(c *http.Client) {
	email := fmt.Sprintf("load-%d-%s@example.test", l.seq.Add(1), testenv.RandomName())
	var out struct {
		Invitation struct {
			ID    int64  `json:"id"`
			Email string `json:"email"`
		} `json:"invitation"`
	}
	start := time.Now()
	code, body, err := l.s.apiCall(context.Background(), c, l.slug, "POST", "/api/invitations", map[string]string{"email": email, "role": "member"}, &out)
	if sm := l.record("invite", start, code, body, err); sm.ok() {
		l.mu.Lock()
		l.invites[out.Invitation.ID] = out.Invitation.Email
		l.mu.Unlock()
	}
}

// upload is the browser's three steps: ask for a presigned PUT, send the
// bytes straight to S3, tell the API the upload is complete.
func (l *load) upload(c *http.Client) {
	n := l.seq.Add(1)
	content := []byte(fmt.Sprintf("load file %d %s\n%s", n, testenv.RandomName(), strings.Repeat("x", 512)))
	var out struct {
		File struct {
			ID int64 `json:"id"`
		} `json:"file"`
		Upload struct {
			URL     string            `json:"url"`
			Method  string            `json:"method"`
			Headers map[string]string `json:"headers"`
		} `json:"upload"`
	}
	start := time.Now()
	code, body, err := l.s.apiCall(context.Background(), c, l.slug, "POST", "/api/files/upload-url",
		map[string]any{"name": "load-" + strconv.FormatInt(n, 10) + ".txt", "size": len(content), "content_type": "text/plain"}, &out)
	if sm := l.record("upload-url", start, code, body, err); !sm.ok() {
		return
	}
	rec := &uploadRec{id: out.File.ID, created: time.Now(), body: content}
	l.mu.Lock()
	l.files = append(l.files, rec)
	l.mu.Unlock()
	req, _ := http.NewRequest(out.Upload.Method, out.Upload.URL, bytes.NewReader(content))
	for k, v := range out.Upload.Headers {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		l.record("s3-put", time.Now(), 0, "", err)
		return
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		l.record("s3-put", time.Now(), res.StatusCode, "", nil)
		return
	}
	l.mu.Lock()
	rec.put = true
	l.mu.Unlock()
	start = time.Now()
	code, body, err = l.s.apiCall(context.Background(), c, l.slug, "POST", "/api/files/"+strconv.FormatInt(rec.id, 10)+"/complete", struct{}{}, nil)
	if sm := l.record("complete", start, code, body, err); sm.ok() {
		l.mu.Lock()
		rec.done = true
		l.mu.Unlock()
	}
}

func (l *load) snapshot() []sample {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]sample(nil), l.samples...)
}

// window summarises the samples that started in [from, to).
type window struct {
	total, ok, clean int
	unclean          []sample
}

func (l *load) window(from, to time.Time) window {
	var w window
	for _, s := range l.snapshot() {
		if s.start.Before(from) || !s.start.Before(to) {
			continue
		}
		w.total++
		switch {
		case s.ok():
			w.ok++
		case s.clean():
			w.clean++
		default:
			w.unclean = append(w.unclean, s)
		}
	}
	return w
}

// waitHealthy waits until a whole quiet period of load since after has
// succeeded without one error, and returns when the last error before it
// ended (after itself when there was none). The bound only guards against
// a recovery that never comes.
func (l *load) waitHealthy(t *testing.T, after time.Time, quiet time.Duration) (firstOK, lastErr time.Time) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		firstOK, lastErr = time.Time{}, after
		var lastOK time.Time
		for _, s := range l.snapshot() {
			if s.end.Before(after) {
				continue
			}
			if s.ok() {
				if firstOK.IsZero() || s.end.Before(firstOK) {
					firstOK = s.end
				}
				if s.end.After(lastOK) {
					lastOK = s.end
				}
			} else if s.end.After(lastErr) {
				lastErr = s.end
			}
		}
		if !firstOK.IsZero() && lastOK.Sub(lastErr) >= quiet && time.Since(lastErr) >= quiet {
			return firstOK, lastErr
		}
	}
	t.Fatalf("the load did not run %s without errors within 2 minutes of the dependency's return", quiet)
	return
}

// requireClean fails the test for every answer that was neither 2xx nor
// a clean 503, showing a few of them.
func requireClean(t *testing.T, what string, w window) {
	t.Helper()
	if len(w.unclean) == 0 {
		return
	}
	counts := map[string]int{}
	for _, s := range w.unclean {
		counts[fmt.Sprintf("%s %d", s.op, s.status)]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s: %d\n", k, counts[k])
	}
	for i, s := range w.unclean {
		if i == 5 {
			break
		}
		fmt.Fprintf(&b, "  e.g. %s %d after %s: %.300s\n", s.op, s.status, s.end.Sub(s.start).Round(time.Millisecond), s.detail)
	}
	t.Errorf("%s: %d of %d answers were neither 2xx nor a clean 503:\n%s", what, len(w.unclean), w.total, b.String())
}
