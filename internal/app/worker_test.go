package app_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/jobs/jobstest"
	"github.com/palisade-hq/palisade/internal/obs"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// The process tests run the worker and scheduler roles as real child
// processes (this test binary re-executed with PALISADE_TEST_HELPER_ROLE),
// so they can be killed with real signals.

const helperRoleVar = "PALISADE_TEST_HELPER_ROLE"

func TestMain(m *testing.M) {
	if role := os.Getenv(helperRoleVar); role != "" {
		os.Exit(helperMain(role))
	}
	os.Exit(m.Run())
}

// helperMain is what cmd/palisade's main does for the role, plus the test
// job for workers.
func helperMain(role string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg, err := config.Load(ctx, os.Getenv, nil, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	log := obs.NewLogger(os.Stdout, "info", role)
	switch role {
	case "worker":
		opt, _ := redis.ParseURL(cfg.RedisURL)
		rdb := redis.NewClient(opt)
		defer rdb.Close()
		err = app.RunWorkerWith(ctx, cfg, log, app.WorkerOptions{Register: func(r *jobs.Registry) {
			jobs.Handle(r, longJob, func(ctx context.Context, p longPayload) error { return runLong(rdb, cfg.RedisPrefix, p) })
		}})
	case "scheduler":
		err = app.RunScheduler(ctx, cfg, log)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

type longPayload struct {
	Key    string `json:"key"`
	Millis int    `json:"millis"`
}

var longJob = jobs.Define[longPayload]("test.long", jobs.Options{MaxAttempts: 5, Timeout: 5 * time.Minute, Backoff: jobs.Backoff{Base: time.Second, Max: 2 * time.Second}})

// runLong logs each start, works for a while without looking at its
// context (as a careless handler would), then marks its key done. Marking
// is a set add, so a second run changes nothing: the handler is idempotent.
func runLong(rdb *redis.Client, prefix string, p longPayload) error {
	ctx := context.Background()
	pid := strconv.Itoa(os.Getpid())
	if err := rdb.RPush(ctx, prefix+"starts", p.Key+"@"+pid).Err(); err != nil {
		return err
	}
	time.Sleep(time.Duration(p.Millis) * time.Millisecond)
	// One transaction, so a test that sees the key done also sees who
	// finished it (two commands let it read the list in between).
	_, err := rdb.TxPipelined(ctx, func(tx redis.Pipeliner) error {
		tx.SAdd(ctx, prefix+"done", p.Key)
		tx.RPush(ctx, prefix+"finishes", p.Key+"@"+pid)
		return nil
	})
	return err
}

type proc struct {
	cmd     *exec.Cmd
	out     *lockedBuf
	exited  chan struct{}
	exitErr error
}

type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// freeAddr is a loopback address for a server the test starts later,
// drawn below the ephemeral range (testenv.FreeAddr): a port from :0 could
// meanwhile become an outgoing connection's source port (TestDevIdlesQuietly
// failed in CI on "address already in use").
func freeAddr(t *testing.T) string { t.Helper(); return testenv.FreeAddr(t) }

// startRole starts a child running role with env on top of a test base.
func startRole(t *testing.T, role string, env map[string]string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperRoleVar+"="+role)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &proc{cmd: cmd, out: &lockedBuf{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exitErr = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("%s %d output:\n%s", role, cmd.Process.Pid, p.out.String())
		}
	})
	return p
}

func (p *proc) pid() string { return strconv.Itoa(p.cmd.Process.Pid) }

// wait returns the exit code, failing if the process outlives bound (a
// hang, not a timing measurement).
func (p *proc) wait(t *testing.T, bound time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(bound):
		t.Fatalf("process %s still running after %s", p.pid(), bound)
	}
	if p.exitErr == nil {
		return 0
	}
	if ee, ok := p.exitErr.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	t.Fatal(p.exitErr)
	return -1
}

func eventually(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %s", what, bound)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type roleEnv struct {
	rdb    *redis.Client
	prefix string
	env    map[string]string
	client *jobs.Client
	insp   *jobs.Inspector
}

func newRoleEnv(t *testing.T) *roleEnv {
	t.Helper()
	rdb, url := jobstest.Redis(t)
	prefix := "palisade_test:" + testenv.RandomName() + ":"
	env := map[string]string{
		"PALISADE_ENV":          "test",
		"PALISADE_LOG_LEVEL":    "info",
		"PALISADE_DB_DRIVER":    "sqlite",
		"PALISADE_DB_DSN":       testenv.DSN(t, "sqlite"),
		"PALISADE_REDIS_URL":    url,
		"PALISADE_REDIS_PREFIX": prefix,
		"PALISADE_METRICS_ADDR": "127.0.0.1:0",
	}
	c := jobs.NewClient(rdb)
	t.Cleanup(func() { c.Close() })
	return &roleEnv{rdb: rdb, prefix: prefix, env: env, client: c, insp: jobs.NewInspector(rdb)}
}

func (e *roleEnv) with(kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range e.env {
		m[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func (e *roleEnv) list(t *testing.T, key string) []string {
	t.Helper()
	v, err := e.rdb.LRange(context.Background(), e.prefix+key, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (e *roleEnv) done(t *testing.T, key string) bool {
	t.Helper()
	ok, err := e.rdb.SIsMember(context.Background(), e.prefix+"done", key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func (e *roleEnv) enqueue(t *testing.T, key string, millis int) string {
	t.Helper()
	id, err := longJob.Enqueue(context.Background(), e.client, longPayload{Key: key, Millis: millis})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestWorkerKilledMidJob: a worker killed with SIGKILL while a job runs
// loses nothing; the job runs again on a second worker once its lease
// expires, and every other queued job completes too.
func TestWorkerKilledMidJob(t *testing.T) {
	t.Parallel()
	e := newRoleEnv(t)
	a := startRole(t, "worker", e.with("PALISADE_WORKER_CONCURRENCY", "1"))
	e.enqueue(t, "victim", 30_000)
	eventually(t, time.Minute, "the job to start on worker A", func() bool { return len(e.list(t, "starts")) == 1 })
	for i := range 3 {
		e.enqueue(t, "queued-"+strconv.Itoa(i), 10)
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	a.wait(t, time.Minute)
	if e.done(t, "victim") {
		t.Fatal("the victim finished before the kill; the test proves nothing")
	}

	b := startRole(t, "worker", e.with("PALISADE_WORKER_CONCURRENCY", "4"))
	// asynq leases a job for 30 s and its recoverer looks every minute, so
	// the second run comes one to two minutes after the kill.
	eventually(t, 4*time.Minute, "the victim to finish on worker B", func() bool { return e.done(t, "victim") })
	for i := range 3 {
		if k := "queued-" + strconv.Itoa(i); !e.done(t, k) {
			eventually(t, time.Minute, k, func() bool { return e.done(t, k) })
		}
	}
	starts := e.list(t, "starts")
	if !contains(starts, "victim@"+a.pid()) || !contains(starts, "victim@"+b.pid()) {
		t.Fatalf("starts %v: want the victim on A (killed) and on B", starts)
	}
	if fin := e.list(t, "finishes"); !contains(fin, "victim@"+b.pid()) || contains(fin, "victim@"+a.pid()) {
		t.Fatalf("finishes %v: want the victim finished by B only", fin)
	}
	for _, q := range jobs.QueueNames {
		for _, state := range []string{"pending", "active", "retry", "dead"} {
			if js, _ := e.insp.List(q, state, 10); len(js) != 0 {
				t.Fatalf("%s %s: %+v left over", q, state, js)
			}
		}
	}
}

// TestWorkerDrainsOnSIGTERM: on SIGTERM the worker takes no new job, lets
// a running job finish within the bound, hands back one that overruns it
// (without spending an attempt), and exits 0.
func TestWorkerDrainsOnSIGTERM(t *testing.T) {
	t.Parallel()
	e := newRoleEnv(t)
	w := startRole(t, "worker", e.with("PALISADE_WORKER_CONCURRENCY", "2", "PALISADE_WORKER_DRAIN_TIMEOUT", "6s"))
	e.enqueue(t, "short", 2_000)
	overrun := e.enqueue(t, "overrun", 120_000)
	eventually(t, time.Minute, "both jobs to start", func() bool { return len(e.list(t, "starts")) == 2 })
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Enqueued after SIGTERM: the draining worker must leave it alone.
	late := e.enqueue(t, "late", 10)
	if code := w.wait(t, time.Minute); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	if !e.done(t, "short") {
		t.Fatal("the short job did not finish during the drain")
	}
	if e.done(t, "overrun") || e.done(t, "late") {
		t.Fatal("overrun or late job marked done")
	}
	for id, what := range map[string]string{overrun: "overrun", late: "late"} {
		j, err := e.insp.Get(jobs.QueueDefault, id)
		if err != nil {
			t.Fatalf("%s job: %v", what, err)
		}
		if j.State != "pending" || j.Attempts != 0 {
			t.Fatalf("%s job after drain: %+v; want pending with no attempt spent", what, j)
		}
	}
	if starts := e.list(t, "starts"); len(starts) != 2 {
		t.Fatalf("starts %v: the late job must not start during the drain", starts)
	}
	out := w.out.String()
	if !strings.Contains(out, "worker draining") || !strings.Contains(out, "worker stopped") {
		t.Fatalf("drain not logged:\n%s", out)
	}
}

// TestTwoSchedulersEnqueueOncePerTick runs two scheduler processes for a
// minute on 5 s ticks, with a worker: each periodic job is enqueued once per
// tick, both schedulers tried every tick, and the heartbeat reaches the
// scheduler's /readyz.
func TestTwoSchedulersEnqueueOncePerTick(t *testing.T) {
	t.Parallel()
	e := newRoleEnv(t)
	st := testenv.Store(t, "sqlite")
	jm := jobs.NewMetrics(obs.NewMetrics().Registry)
	cfg, err := config.Load(context.Background(), func(k string) string { return e.env[k] }, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := app.NewWorker(cfg, st, e.rdb, slog.New(slog.DiscardHandler), jm, app.WorkerOptions{})
	wctx, stopWorker := context.WithCancel(context.Background())
	workerDone := make(chan error, 1)
	go func() { workerDone <- w.Run(wctx) }()
	defer func() { stopWorker(); <-workerDone }()

	addrs := []string{freeAddr(t), freeAddr(t)}
	var ps []*proc
	for _, a := range addrs {
		ps = append(ps, startRole(t, "scheduler", e.with("PALISADE_SCHEDULER_EVERY", "5s", "PALISADE_METRICS_ADDR", a)))
	}
	for _, a := range addrs {
		eventually(t, time.Minute, "scheduler metrics on "+a, func() bool { _, err := scrape(a); return err == nil })
	}
	time.Sleep(time.Minute)
	// Ticks fall on multiples of 5 s of the Unix clock. Scrape half-way
	// between two ticks and stop the schedulers at once, so no tick falls
	// between the scrape and the stop (one that did would add a job the
	// scraped counts do not show).
	const every = 5 * time.Second
	time.Sleep(every/2 - time.Duration(time.Now().UnixNano()%int64(every)) + every)

	counts := map[string]map[string]float64{} // job -> outcome -> sum over both
	for _, a := range addrs {
		m, err := scrape(a)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range m {
			if counts[k[0]] == nil {
				counts[k[0]] = map[string]float64{}
			}
			counts[k[0]][k[1]] += v
		}
		code, body := get(t, "http://"+a+"/readyz")
		if code != http.StatusOK || !strings.Contains(body, `"last_run":"`) {
			t.Fatalf("scheduler readyz with a worker running: %d %s", code, body)
		}
	}
	for _, p := range ps {
		_ = p.cmd.Process.Signal(syscall.SIGTERM) // both at once: neither ticks on alone
	}
	for _, p := range ps {
		if code := p.wait(t, time.Minute); code != 0 {
			t.Fatalf("scheduler exit code %d", code)
		}
	}

	for _, row := range app.Schedule() {
		var ticks []int64
		for _, q := range jobs.QueueNames {
			for _, state := range []string{"completed", "pending", "active", "retry", "dead", "scheduled"} {
				js, err := e.insp.List(q, state, 1000)
				if err != nil {
					t.Fatal(err)
				}
				for _, j := range js {
					if j.Type != row.Name {
						continue
					}
					m := tickRE.FindStringSubmatch(j.ID)
					if m == nil || m[1] != row.Name {
						t.Fatalf("periodic job with ID %q", j.ID)
					}
					n, _ := strconv.ParseInt(m[2], 10, 64)
					ticks = append(ticks, n)
				}
			}
		}
		sort.Slice(ticks, func(i, j int) bool { return ticks[i] < ticks[j] })
		if len(ticks) < 10 {
			t.Fatalf("%s: %d ticks in a minute of 5 s ticks", row.Name, len(ticks))
		}
		for i := 1; i < len(ticks); i++ {
			if d := ticks[i] - ticks[i-1]; d != 5 {
				t.Fatalf("%s: ticks %v: gap of %d s (a duplicate or a miss)", row.Name, ticks, d)
			}
		}
		c := counts[row.Name]
		if int(c["enqueued"]) != len(ticks) || c["error"] != 0 {
			t.Fatalf("%s: %d jobs but the schedulers report %v", row.Name, len(ticks), c)
		}
		// Both schedulers were up for all but the edge ticks, and the
		// loser of each tick saw a duplicate.
		if c["duplicate"] < float64(len(ticks)-2) {
			t.Fatalf("%s: only %v duplicates over %d ticks; did both schedulers run?", row.Name, c["duplicate"], len(ticks))
		}
	}
	if last, err := jobs.LastHeartbeat(context.Background(), e.rdb, e.prefix); err != nil || last.IsZero() {
		t.Fatalf("heartbeat never recorded: %v", err)
	}
}

var tickRE = regexp.MustCompile(`^periodic:([a-z_.]+):(\d+)$`)

// TestSchedulerNotReadyWithoutWorkers: with no worker the heartbeat never
// runs, and after three ticks the scheduler's /readyz says so.
func TestSchedulerNotReadyWithoutWorkers(t *testing.T) {
	t.Parallel()
	e := newRoleEnv(t)
	a := freeAddr(t)
	startRole(t, "scheduler", e.with("PALISADE_SCHEDULER_EVERY", "1s", "PALISADE_METRICS_ADDR", a))
	eventually(t, time.Minute, "the heartbeat check to fail", func() bool {
		code, body := get(t, "http://"+a+"/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "no heartbeat job has run") && strings.Contains(body, `"last_run":null`)
	})
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

var enqRE = regexp.MustCompile(`^palisade_scheduler_enqueues_total\{job="([^"]+)",outcome="([^"]+)"\} (\S+)$`)

// scrape reads the scheduler's enqueue counters.
func scrape(addr string) (map[[2]string]float64, error) {
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out := map[[2]string]float64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if m := enqRE.FindStringSubmatch(sc.Text()); m != nil {
			v, _ := strconv.ParseFloat(m[3], 64)
			out[[2]string{m[1], m[2]}] = v
		}
	}
	return out, sc.Err()
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
