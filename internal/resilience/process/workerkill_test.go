package process

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestWorkerKilledMidScanUnderLoad uploads files through web while two
// worker processes scan them, SIGKILLs one worker while a scan of its is
// in flight and starts it again. Once the queue has drained every accepted
// upload must be judged clean exactly once in effect (one status change,
// one file.scanned audit event), with nothing left pending, retrying or
// dead.
func TestWorkerKilledMidScanUnderLoad(t *testing.T) {
	t.Parallel()
	clamd := testenv.Clamd(t)
	filesEnv := testenv.FilesEnv(t, clamd)
	webAddr, apiAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	_, port, _ := net.SplitHostPort(webAddr)
	c := newCluster(t, "http://localhost:"+port, "http://"+apiAddr, true, filesEnv)
	c.start("api", apiAddr)
	c.start("web", webAddr)
	// Each worker reaches clamd through a proxy that holds replies for a
	// second: scans are in flight long enough to be killed mid-run.
	pa := newClamdProxy(t, clamd, time.Second)
	pb := newClamdProxy(t, clamd, time.Second)
	workerEnv := func(p *clamdProxy) []string {
		return []string{"PALISADE_CLAMD_ADDR", p.Addr(), "PALISADE_WORKER_CONCURRENCY", "4"}
	}
	victim := c.start("worker", "", workerEnv(pa)...)
	c.start("worker", "", workerEnv(pb)...)
	cl := signupAndLogin(t, apiAddr, webAddr, "workerkill", port)

	var (
		mu       sync.Mutex
		accepted []int64
		failures []string
		uploads  atomic.Int64
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	fail := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, s)
	}
	put := &http.Client{Timeout: time.Minute}
	uploadOne := func(n int64) {
		body := fmt.Appendf(nil, "process fault test file %d, %s\n", n, testenv.RandomName())
		code, b, err := cl.json("POST", "/api/files/upload-url", map[string]any{"name": fmt.Sprintf("f%d.txt", n), "size": len(body), "content_type": "text/plain"})
		if err != nil || code != http.StatusCreated {
			fail(fmt.Sprintf("upload-url: %d %.200s %v", code, b, err))
			return
		}
		var up struct {
			File   struct{ ID int64 } `json:"file"`
			Upload struct {
				URL     string            `json:"url"`
				Headers map[string]string `json:"headers"`
			} `json:"upload"`
		}
		if err := json.Unmarshal(b, &up); err != nil || up.File.ID == 0 {
			fail(fmt.Sprintf("upload-url answer %.200s: %v", b, err))
			return
		}
		req, _ := http.NewRequest("PUT", up.Upload.URL, bytes.NewReader(body))
		for k, v := range up.Upload.Headers {
			req.Header.Set(k, v)
		}
		res, err := put.Do(req)
		if err != nil {
			fail(fmt.Sprintf("PUT: %v", err))
			return
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			fail(fmt.Sprintf("PUT: %d", res.StatusCode))
			return
		}
		code, b, err = cl.json("POST", fmt.Sprintf("/api/files/%d/complete", up.File.ID), nil)
		if err != nil || code != http.StatusAccepted {
			fail(fmt.Sprintf("complete: %d %.200s %v", code, b, err))
			return
		}
		mu.Lock()
		accepted = append(accepted, up.File.ID)
		mu.Unlock()
	}
	for range 6 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				uploadOne(uploads.Add(1))
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
	stopLoad := func() {
		select {
		case <-stop:
		default:
			close(stop)
			wg.Wait()
		}
	}
	defer stopLoad()

	// Kill the victim while a scan of its is in flight, after both workers
	// have had work.
	deadline := time.Now().Add(2 * time.Minute)
	for pa.inflight.Load() == 0 || pb.scans.Load() == 0 || pa.scans.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("no scan in flight on the victim within 2 minutes (scans: victim %d, other %d)", pa.scans.Load(), pb.scans.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := victim.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	interrupted := pa.inflight.Load()
	victim.Wait(t, time.Minute)
	c.start("worker", "", workerEnv(pa)...)
	time.Sleep(5 * time.Second) // load keeps coming after the restart
	stopLoad()
	loadEnded := time.Now()

	mu.Lock()
	files := append([]int64(nil), accepted...)
	errs := append([]string(nil), failures...)
	mu.Unlock()
	if len(errs) > 0 {
		t.Errorf("%d uploads failed; first: %v", len(errs), errs[:min(len(errs), 10)])
	}
	if len(files) == 0 {
		t.Fatal("no upload was accepted; the test proves nothing")
	}

	// Wait for every accepted file to be judged. asynq takes the killed
	// job back only when its 30 s lease has expired and its recoverer has
	// looked (every minute), so this is minutes, not seconds; the bound is a
	// hang guard.
	pending := func() int {
		var n int
		if err := c.st.DB().QueryRow("SELECT COUNT(*) FROM files WHERE status = 'pending'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for deadline := time.Now().Add(4 * time.Minute); pending() > 0; {
		if time.Now().After(deadline) {
			t.Fatalf("%d files still pending 4 minutes after the kill", pending())
		}
		time.Sleep(200 * time.Millisecond)
	}
	recovered := time.Since(killedAt)
	insp := jobs.NewInspector(c.rdb)
	for deadline := time.Now().Add(time.Minute); ; {
		var left []string
		for _, q := range jobs.QueueNames {
			for _, state := range []string{"pending", "active", "scheduled", "retry", "dead"} {
				js, err := insp.List(q, state, 100)
				if err != nil {
					t.Fatal(err)
				}
				for _, j := range js {
					left = append(left, fmt.Sprintf("%s %s %s %s", q, state, j.Type, j.LastError))
				}
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs left after the drain: %v", left)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Exactly once in effect: each file clean, with one scan audit event.
	type row struct {
		status string
		audits int
	}
	got := map[int64]row{}
	rows, err := c.st.DB().Query(`SELECT f.id, f.status,
		(SELECT COUNT(*) FROM audit_events a WHERE a.action IN ('file.scanned', 'file.quarantined') AND a.target = CONCAT('file:', f.id))
		FROM files f`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var r row
		if err := rows.Scan(&id, &r.status, &r.audits); err != nil {
			t.Fatal(err)
		}
		got[id] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for _, id := range files {
		if r, ok := got[id]; !ok || r.status != "clean" || r.audits != 1 {
			t.Errorf("file %d: %+v (present %v); want clean with exactly one scan audit event", id, r, ok)
		}
	}
	scans := pa.scans.Load() + pb.scans.Load()
	if scans < int64(len(files)) {
		t.Errorf("%d scans for %d files", scans, len(files))
	}
	figure(t, "worker_sigkill", "uploads_accepted", len(files), "upload_failures", len(errs), "scans", scans,
		"rescans", scans-int64(len(files)), "interrupted_at_kill", interrupted,
		"recovery_s", fmt.Sprintf("%.1f", recovered.Seconds()), "drain_after_load_s", fmt.Sprintf("%.1f", time.Since(loadEnded).Seconds()))
}
