package deps

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/mail"
	"github.com/palisade-hq/palisade/internal/outbox"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// workers is the size of the load pool: enough concurrent requests that a
// fault lands on some in flight, few enough for two shared cores.
const workers = 8

// pause between two requests of one worker keeps the pool from saturating
// the two cores it shares with the servers.
const pause = 20 * time.Millisecond

// env is one scenario's private servers and the stack on them.
type env struct {
	s                  *stack
	owner              *http.Client
	redis              *testenv.Private
	mariadb            *testenv.Private
	clamdUp, clamdDown func()
	tenantID           int64
	orphans            int // invitations stored whose request failed, without a mail
}

func newEnv(t *testing.T) *env {
	t.Helper()
	redisURL, rds := testenv.PrivateRedis(t)
	dsn, db := testenv.PrivateMariaDB(t)
	clamd, clamdUp, clamdDown := testenv.PrivateClamd(t, "16M")
	fenv := testenv.FilesEnv(t, clamd)
	// A file pending 3s is re-enqueued by the next sweep (every 5s here,
	// every 2 minutes in production).
	fenv["PALISADE_FILES_RESCAN_AFTER"] = "3s"
	fenv["PALISADE_SCHEDULER_EVERY"] = "5s"
	s := newStack(t, stackOptions{driver: "mysql", dsn: dsn, redisURL: redisURL, env: fenv})
	owner := s.client(requestTimeout)
	s.signUp(t, owner, "acme")
	e := &env{s: s, owner: owner, redis: rds, mariadb: db, clamdUp: clamdUp, clamdDown: clamdDown}
	if err := s.st.DB().QueryRow(`SELECT id FROM tenants WHERE slug = 'acme'`).Scan(&e.tenantID); err != nil {
		t.Fatal(err)
	}
	return e
}

// outage is a dependency taken away and brought back under load.
type outage struct {
	name                 string
	down                 time.Duration
	stop, start          func()
	expectErrorsWhenDown bool
}

// figures of one outage.
type figures struct {
	downAt, upAt    time.Time
	firstOK, healed time.Time
	during          window
}

// runOutage warms the load up, checks it is healthy, takes the dependency
// away for o.down, brings it back, and waits until the load has run 3s
// without an error.
func runOutage(t *testing.T, l *load, o outage) figures {
	t.Helper()
	warm := time.Now()
	time.Sleep(4 * time.Second)
	base := l.window(warm, time.Now())
	if base.ok == 0 || base.ok != base.total {
		requireClean(t, o.name+" before the fault", base)
		t.Fatalf("%s: the load was not healthy before the fault: %d of %d requests succeeded", o.name, base.ok, base.total)
	}
	var f figures
	f.downAt = time.Now()
	o.stop()
	time.Sleep(o.down)
	o.start()
	f.upAt = time.Now()
	f.firstOK, f.healed = l.waitHealthy(t, f.upAt, 3*time.Second)
	f.during = l.window(f.downAt, f.upAt)
	if o.expectErrorsWhenDown && f.during.clean+len(f.during.unclean) == 0 {
		t.Errorf("%s: no request failed while it was down: the fault did not reach the load", o.name)
	}
	return f
}

func ms(d time.Duration) int64 { return max(d, 0).Milliseconds() }

// TestRedisRestart takes Redis away for 8s under load. Sessions, rate
// limits and the job queue live there, so every request fails meanwhile,
// each with a clean 503; when it returns the same processes serve again,
// and the jobs queued before survive (AOF, as ElastiCache's replica does).
func TestRedisRestart(t *testing.T) {
	e := newEnv(t)
	l := startLoad(t, e.s, e.owner, "acme", workers, pause, true)
	f := runOutage(t, l, outage{name: "redis", down: 8 * time.Second, stop: e.redis.Stop, start: e.redis.Start, expectErrorsWhenDown: true})
	time.Sleep(2 * time.Second)
	l.stop()
	all := l.window(time.Time{}, time.Now().Add(time.Hour))
	requireClean(t, "redis restart", all)
	e.checkWrites(t, l)
	t.Logf("FIGURE redis_restart down_ms=%d first_ok_ms=%d recovery_ms=%d errors_during=%d requests_during=%d writes=%d uploads=%d requests=%d orphan_invitations=%d",
		ms(f.upAt.Sub(f.downAt)), ms(f.firstOK.Sub(f.upAt)), ms(f.healed.Sub(f.upAt)), f.during.clean+len(f.during.unclean), f.during.total,
		len(l.invites), len(l.files), all.total, e.orphans)
}

// TestMariaDBRestart stops MariaDB cleanly (SIGTERM) for 10s under load,
// and TestMariaDBCrash kills it (SIGKILL): requests that need the
// database answer 503 meanwhile, the pool reconnects by itself, and every
// write that was answered 2xx is there afterwards (InnoDB's redo log
// after the crash).
func TestMariaDBRestart(t *testing.T) { mariaDBOutage(t, "mariadb_restart", false) }

func TestMariaDBCrash(t *testing.T) { mariaDBOutage(t, "mariadb_crash", true) }

func mariaDBOutage(t *testing.T, name string, crash bool) {
	e := newEnv(t)
	l := startLoad(t, e.s, e.owner, "acme", workers, pause, true)
	stop := e.mariadb.Stop
	if crash {
		stop = e.mariadb.Kill
	}
	f := runOutage(t, l, outage{name: name, down: 10 * time.Second, stop: stop, start: e.mariadb.Start, expectErrorsWhenDown: true})
	time.Sleep(2 * time.Second)
	l.stop()
	all := l.window(time.Time{}, time.Now().Add(time.Hour))
	requireClean(t, name, all)
	e.checkWrites(t, l)
	t.Logf("FIGURE %s down_ms=%d first_ok_ms=%d recovery_ms=%d errors_during=%d requests_during=%d writes=%d uploads=%d requests=%d orphan_invitations=%d",
		name, ms(f.upAt.Sub(f.downAt)), ms(f.firstOK.Sub(f.upAt)), ms(f.healed.Sub(f.upAt)), f.during.clean+len(f.during.unclean), f.during.total,
		len(l.invites), len(l.files), all.total, e.orphans)
}

// checkWrites: every invitation answered 2xx is stored; every stored
// invitation — also one whose request failed after its commit — has
// exactly one mail; every file whose bytes reached S3 ends Clean without
// anyone acting, scanned once in effect (one file.scanned record).
func (e *env) checkWrites(t *testing.T, l *load) {
	t.Helper()
	db := e.s.st.DB()
	stored := map[int64]string{}
	rows, err := db.Query(`SELECT id, email FROM invitations WHERE tenant_id = ?`, e.tenantID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var email string
		if err := rows.Scan(&id, &email); err != nil {
			t.Fatal(err)
		}
		stored[id] = email
	}
	rows.Close()
	lost := 0
	for id, email := range l.invites {
		if stored[id] != email {
			lost++
			if lost <= 5 {
				t.Errorf("invitation %d (%s) was answered 201 but is not stored", id, email)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d accepted invitations lost", lost, len(l.invites))
	}
	// A mail whose nudge met the outage waits in the transactional outbox
	// for the worker's sweep; run that sweep now rather than wait out its
	// back-off.
	if _, err := db.Exec(`UPDATE outbox SET next_attempt_at = 0 WHERE status = 'pending'`); err != nil {
		t.Fatal(err)
	}
	if _, err := (&outbox.Deliverer{Store: e.s.st, Mailer: mail.Outbox{Store: e.s.st}}).DeliverDue(context.Background()); err != nil {
		t.Fatalf("outbox sweep: %v", err)
	}
	mails := map[string]int{}
	rows, err = db.Query(`SELECT to_addr, COUNT(*) FROM mail_outbox GROUP BY to_addr`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var to string
		var n int
		if err := rows.Scan(&to, &n); err != nil {
			t.Fatal(err)
		}
		mails[to] = n
	}
	rows.Close()
	// An accepted invitation has its one mail. One whose request failed
	// (503) after its commit may have none: the client was told it failed
	// and invites again; such orphans are counted, and may not have two.
	bad := 0
	for id, email := range stored {
		_, accepted := l.invites[id]
		switch n := mails[email]; {
		case n > 1, accepted && n != 1:
			bad++
			if bad <= 5 {
				t.Errorf("invitation %d (%s, answered 2xx: %v) has %d mails", id, email, accepted, n)
			}
		case n == 0:
			e.orphans++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d stored invitations do not have exactly one mail", bad, len(stored))
	}
	if len(l.invites) == 0 {
		t.Error("no invitation was accepted: the load did not write")
	}
	// The daily audit-trail verification ran every 5s here, beside the
	// load's audited writes: it must never mistake a concurrent append for
	// a deletion.
	var verified, broken int
	if err := db.QueryRow(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN outcome <> 'success' THEN 1 ELSE 0 END), 0) FROM audit_events WHERE action = 'audit.verify'`).Scan(&verified, &broken); err != nil {
		t.Fatal(err)
	}
	if broken > 0 {
		t.Errorf("%d of %d audit-trail verifications under load reported a break", broken, verified)
	}
	e.waitAllClean(t, l)
}

// uploadedIDs are the files whose bytes reached S3.
func uploadedIDs(l *load) []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []int64
	for _, f := range l.files {
		if f.put {
			ids = append(ids, f.id)
		}
	}
	return ids
}

// waitAllClean waits until every uploaded file is Clean (bounded only
// against a recovery that never comes) and returns when that happened.
func (e *env) waitAllClean(t *testing.T, l *load) time.Time {
	t.Helper()
	ids := uploadedIDs(l)
	if len(ids) == 0 {
		t.Fatal("no upload reached S3: the load did not upload")
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		pending := 0
		var example string
		for _, id := range ids {
			var status string
			if err := e.s.st.DB().QueryRow(`SELECT status FROM files WHERE tenant_id = ? AND id = ?`, e.tenantID, id).Scan(&status); err != nil {
				t.Fatalf("file %d: %v", id, err)
			}
			if status != "clean" {
				pending++
				example = fmt.Sprintf("file %d is %s", id, status)
			}
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d uploaded files not Clean 3 minutes on (%s)", pending, len(ids), example)
		}
		time.Sleep(200 * time.Millisecond)
	}
	done := time.Now()
	for _, id := range ids {
		var n int
		if err := e.s.st.DB().QueryRow(`SELECT COUNT(*) FROM audit_events WHERE action = 'file.scanned' AND target = ?`, "file:"+strconv.FormatInt(id, 10)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("file %d has %d file.scanned records, want 1", id, n)
		}
	}
	return done
}

// download asks for a file's download URL through the tenant site and
// returns the status and body; with a 200 it fetches the bytes too.
func (e *env) download(t *testing.T, id int64) (int, string, []byte) {
	t.Helper()
	var out struct {
		Download struct {
			URL string `json:"url"`
		} `json:"download"`
	}
	code, body, err := e.s.apiCall(context.Background(), e.owner, "acme", "GET", "/api/files/download-url?file_id="+strconv.FormatInt(id, 10), nil, &out)
	if err != nil {
		t.Fatalf("download-url of file %d: %v", id, err)
	}
	if code != http.StatusOK {
		return code, body, nil
	}
	res, err := http.Get(out.Download.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET of file %d's presigned URL: %d %s", id, res.StatusCode, b)
	}
	return code, body, b
}
