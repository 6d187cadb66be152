package testenv

// Role processes for fault-injection tests: the real palisade binary,
// built once, run as child processes that can be sent real signals.
//
//	bin, err := testenv.BuildPalisade(dir)           // in TestMain
//	p := testenv.StartRole(t, bin, "api", env)      // waits for /readyz
//	p.Signal(syscall.SIGTERM); code := p.Wait(t, time.Minute)
//	testenv.RunRole(t, bin, "migrate", env)         // one-shot roles
//
// env is the complete PALISADE_* configuration: the parent's PALISADE_*
// variables are not passed on (PALISADE_TEST_* are), so a developer's shell
// cannot change what a test runs. StartRole sets PALISADE_METRICS_ADDR to a
// free loopback port unless env names one; Proc.MetricsAddr says which.
// The test's cleanup kills whatever is still running and, when the test
// failed, logs each process's output.

import (
	"bytes"
	"context"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BuildPalisade builds ./cmd/palisade into dir and returns the binary's
// path. It has no testing.TB so that TestMain can call it once.
func BuildPalisade(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	bin := filepath.Join(dir, "palisade")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/palisade")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/palisade: %v\n%s", err, b)
	}
	return bin, nil
}

// FreeAddr is a loopback address nothing listens on right now, for a
// process the test starts later. A port from the kernel's ephemeral range
// (127.0.0.1:0) could meanwhile become the source port of any outgoing
// connection (to Redis, MariaDB, another test's server) and the process
// would fail to bind it; so the port is drawn below that range, never
// handed out twice in one test binary, and checked by a bind.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	freeMu.Lock()
	defer freeMu.Unlock()
	for range 200 {
		port := freeLow + mrand.IntN(freeHigh-freeLow) // #nosec G404 -- test port choice, not a secret
		if freeGiven[port] {
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		_ = ln.Close()
		freeGiven[port] = true
		return addr
	}
	tb.Fatal("no free port found in 20000-32767")
	return ""
}

// The ports FreeAddr draws from: below Linux's default ephemeral range
// (32768-60999), above the well-known and registered services' usual ones.
const freeLow, freeHigh = 20000, 32768

var (
	freeMu    sync.Mutex
	freeGiven = map[int]bool{}
)

// Proc is one running role.
type Proc struct {
	Role        string
	Cmd         *exec.Cmd
	MetricsAddr string
	out         *syncBuf
	exited      chan struct{}
	exitErr     error
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// roleEnv is the child's environment: the parent's minus its PALISADE_*
// settings, plus env.
func roleEnv(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PALISADE_") && !strings.HasPrefix(kv, "PALISADE_TEST_") {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// StartRole starts `bin role` and waits (up to two minutes, a hang bound)
// for its /readyz on the metrics port to answer 200.
func StartRole(tb testing.TB, bin, role string, env map[string]string) *Proc {
	tb.Helper()
	p := StartRoleNoWait(tb, bin, role, env)
	p.WaitReady(tb, 2*time.Minute)
	return p
}

// StartRoleNoWait starts `bin role` and returns at once.
func StartRoleNoWait(tb testing.TB, bin, role string, env map[string]string) *Proc {
	tb.Helper()
	e := map[string]string{}
	for k, v := range env {
		e[k] = v
	}
	if e["PALISADE_METRICS_ADDR"] == "" {
		e["PALISADE_METRICS_ADDR"] = FreeAddr(tb)
	}
	cmd := exec.Command(bin, role)
	cmd.Env = roleEnv(e)
	p := &Proc{Role: role, Cmd: cmd, MetricsAddr: e["PALISADE_METRICS_ADDR"], out: &syncBuf{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", role, err)
	}
	go func() { p.exitErr = cmd.Wait(); close(p.exited) }()
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
		if tb.Failed() {
			tb.Logf("%s (pid %d) output:\n%s", role, cmd.Process.Pid, p.Output())
		}
	})
	return p
}

// WaitReady waits up to bound for /readyz to answer 200, failing the test
// if the process exits first or bound passes.
func (p *Proc) WaitReady(tb testing.TB, bound time.Duration) {
	tb.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(bound)
	for {
		if p.Exited() {
			tb.Fatalf("%s exited before it was ready: %v\n%s", p.Role, p.exitErr, p.Output())
		}
		if res, err := c.Get("http://" + p.MetricsAddr + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s not ready after %s:\n%s", p.Role, bound, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Output is everything the process wrote to stdout and stderr so far.
func (p *Proc) Output() string { return p.out.String() }

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) error { return p.Cmd.Process.Signal(sig) }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Wait returns the exit code (-1 when killed by a signal), failing the test
// if the process outlives bound (a hang bound, not a measurement).
func (p *Proc) Wait(tb testing.TB, bound time.Duration) int {
	tb.Helper()
	select {
	case <-p.exited:
	case <-time.After(bound):
		tb.Fatalf("%s (pid %d) still running after %s", p.Role, p.Pid(), bound)
	}
	if p.exitErr == nil {
		return 0
	}
	if ee, ok := p.exitErr.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	tb.Fatalf("%s: %v", p.Role, p.exitErr)
	return -1
}

// RunRole runs a one-shot role (migrate) to completion within two minutes
// and fails the test unless it exits 0.
func RunRole(tb testing.TB, bin, role string, env map[string]string, args ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{role}, args...)...)
	cmd.Env = roleEnv(env)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("palisade %s: %v\n%s", role, err, out)
	}
	return string(out)
}
