package process

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestRollingRestartUnderLoad restarts two api and two web replicas one at
// a time, each group behind an ALB-like proxy, while 16 clients read pages
// and API lists and create invitations through web. Nothing may fail: no
// error status, no transport error, every invitation the API accepted is in
// the database with its mail in the outbox, and every replica leaves with
// exit code 0 within its shutdown bound.
func TestRollingRestartUnderLoad(t *testing.T) {
	t.Parallel()
	apiAddrs := []string{testenv.FreeAddr(t), testenv.FreeAddr(t)}
	webAddrs := []string{testenv.FreeAddr(t), testenv.FreeAddr(t)}
	// The LBs start before the replicas (they find them by polling), so
	// their addresses can go into the replicas' configuration.
	apiLB := newLB(t, "api-lb", apiAddrs...)
	webLB := newLB(t, "web-lb", webAddrs...)
	_, port, _ := net.SplitHostPort(webLB.Addr())
	const shutdownDelay = 2 * time.Second // > the LB's two failed polls
	c := newCluster(t, "http://localhost:"+port, "http://"+apiLB.Addr(), false, map[string]string{
		"PALISADE_SHUTDOWN_DELAY": shutdownDelay.String(),
	})
	type replica struct {
		role, addr string
		lb         *lb
		idx        int
		p          *testenv.Proc
	}
	var reps []*replica
	for i, a := range apiAddrs {
		reps = append(reps, &replica{role: "api", addr: a, lb: apiLB, idx: i})
	}
	for i, a := range webAddrs {
		reps = append(reps, &replica{role: "web", addr: a, lb: webLB, idx: i})
	}
	for _, r := range reps {
		r.p = c.start(r.role, r.addr)
	}
	for _, r := range reps {
		r.lb.waitHealthy(t, r.idx, time.Minute)
	}
	cl := signupAndLogin(t, apiLB.Addr(), webLB.Addr(), "rolling", port)
	code, body, err := cl.json("POST", "/api/invitations", map[string]string{"email": "first@rolling.test", "role": "member"})
	if err != nil || code != http.StatusCreated {
		t.Fatalf("first invitation: %d %s %v", code, body, err)
	}
	var first struct {
		Invitation struct{ ID int64 } `json:"invitation"`
	}
	if err := json.Unmarshal(body, &first); err != nil || first.Invitation.ID == 0 {
		t.Fatalf("first invitation: %s %v", body, err)
	}

	var (
		requests, failures atomic.Int64
		mu                 sync.Mutex
		accepted           = map[int64]string{} // invitation id -> email
		failLog            []string
		stop               = make(chan struct{})
		wg                 sync.WaitGroup
		seq                atomic.Int64
	)
	fail := func(s string) {
		failures.Add(1)
		mu.Lock()
		if len(failLog) < 20 {
			failLog = append(failLog, s)
		}
		mu.Unlock()
	}
	readPaths := []string{"/", "/api/members", "/api/me", "/api/invitations/" + strconv.FormatInt(first.Invitation.ID, 10)}
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				requests.Add(1)
				if (w+i)%4 == 0 {
					email := fmt.Sprintf("load-%d@rolling.test", seq.Add(1))
					code, body, err := cl.json("POST", "/api/invitations", map[string]string{"email": email, "role": "member"})
					if err != nil || code != http.StatusCreated {
						fail(fmt.Sprintf("POST /api/invitations: %d %.200s %v", code, body, err))
						continue
					}
					var v struct {
						Invitation struct{ ID int64 } `json:"invitation"`
					}
					if err := json.Unmarshal(body, &v); err != nil || v.Invitation.ID == 0 {
						fail(fmt.Sprintf("POST /api/invitations: 201 with %.200s", body))
						continue
					}
					mu.Lock()
					accepted[v.Invitation.ID] = email
					mu.Unlock()
					continue
				}
				path := readPaths[(w+i)%len(readPaths)]
				code, body, _, err := cl.do("GET", path, "", nil)
				if err != nil || code != http.StatusOK {
					fail(fmt.Sprintf("GET %s: %d %.200s %v", path, code, body, err))
				}
				// A short pause keeps 16 clients from starving the shared CI
				// machine; the load is still continuous on every replica.
				time.Sleep(5 * time.Millisecond)
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
	time.Sleep(2 * time.Second) // load before the first restart

	start := time.Now()
	shutdownBound := 20*time.Second + shutdownDelay + 10*time.Second // SHUTDOWN_TIMEOUT + delay + exit
	var cycles []string
	for _, r := range reps {
		t0 := time.Now()
		before := requests.Load()
		if err := r.p.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := r.p.Wait(t, shutdownBound); code != 0 {
			t.Fatalf("%s %s exited %d after SIGTERM, want 0:\n%s", r.role, r.addr, code, r.p.Output())
		}
		stopped := time.Since(t0)
		during := requests.Load() - before
		if during == 0 {
			t.Fatalf("no request ran while %s %s shut down; the test proves nothing", r.role, r.addr)
		}
		served := r.lb.targets[r.idx].served.Load()
		r.p = c.start(r.role, r.addr)
		r.lb.waitHealthy(t, r.idx, time.Minute)
		// The new process must take traffic before the next one stops.
		for deadline := time.Now().Add(time.Minute); r.lb.targets[r.idx].served.Load() == served; {
			if time.Now().After(deadline) {
				t.Fatalf("%s %s got no request after its restart", r.role, r.addr)
			}
			time.Sleep(20 * time.Millisecond)
		}
		cycles = append(cycles, fmt.Sprintf("%s%d=%.1fs(stop %.1fs)", r.role, r.idx+1, time.Since(t0).Seconds(), stopped.Seconds()))
	}
	restartTook := time.Since(start)
	time.Sleep(time.Second)
	stopLoad()

	if n := failures.Load(); n != 0 {
		t.Errorf("%d of %d requests failed during the rolling restart (LB errors: api %d, web %d); first failures:", n, requests.Load(), apiLB.errors.Load(), webLB.errors.Load())
		for _, f := range failLog {
			t.Errorf("  %s", f)
		}
	}
	// Every accepted write is stored, with its invitation mail.
	rows, err := c.st.DB().Query("SELECT i.id, i.email, (SELECT COUNT(*) FROM mail_outbox m WHERE m.to_addr = i.email) FROM invitations i")
	if err != nil {
		t.Fatal(err)
	}
	stored := map[int64]string{}
	mails := map[int64]int{}
	for rows.Next() {
		var id int64
		var email string
		var n int
		if err := rows.Scan(&id, &email, &n); err != nil {
			t.Fatal(err)
		}
		stored[id], mails[id] = email, n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for id, email := range accepted {
		if stored[id] != email {
			t.Errorf("invitation %d (%s) was accepted (201) but is not in the database", id, email)
		} else if mails[id] != 1 {
			t.Errorf("invitation %d (%s): %d outbox mails, want 1", id, email, mails[id])
		}
	}
	if len(accepted) == 0 {
		t.Fatal("no write was accepted; the test proves nothing")
	}
	figure(t, "rolling_restart", "requests", requests.Load(), "failed", failures.Load(), "writes_accepted", len(accepted),
		"writes_in_db", len(stored)-1, "replicas", len(reps), "restart_s", fmt.Sprintf("%.1f", restartTook.Seconds()),
		"shutdown_delay", shutdownDelay, "cycles", fmt.Sprint(cycles))
}
