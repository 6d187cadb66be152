package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DaemonConfig starts a clamd of the process's own: the scanner Lambda
// runs one beside the handler, since a function cannot reach a shared one.
type DaemonConfig struct {
	// Binary is clamd's path (/usr/sbin/clamd in the scanner image).
	Binary string
	// DatabaseDir holds the signature databases clamd loads.
	DatabaseDir string
	// Addr is where clamd listens: unix:///path (the Lambda) or
	// tcp://127.0.0.1:port.
	Addr string
	// MaxStream bounds what clamd accepts per scan; it should be at least
	// the scanner's own MaxStream, so oversized objects are refused by
	// the scanner first and tagged Error.
	MaxStream int64
	// StartTimeout bounds loading the signatures until clamd answers PING.
	StartTimeout time.Duration
	// Log receives clamd's own log lines (stderr: CloudWatch in Lambda).
	Log io.Writer
}

// Daemon is a running clamd started by StartDaemon.
type Daemon struct {
	cfg  DaemonConfig
	conf string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Conf renders clamd.conf. Only the socket, the database and /tmp-like
// folders are written: the Lambda's file system is read-only elsewhere.
func (c DaemonConfig) Conf() (string, error) {
	var b strings.Builder
	b.WriteString("Foreground yes\n")
	switch {
	case strings.HasPrefix(c.Addr, "unix://"):
		fmt.Fprintf(&b, "LocalSocket %s\n", strings.TrimPrefix(c.Addr, "unix://"))
	case strings.HasPrefix(c.Addr, "tcp://"):
		host, port, ok := strings.Cut(strings.TrimPrefix(c.Addr, "tcp://"), ":")
		if !ok || host == "" || port == "" {
			return "", fmt.Errorf("clamd address %q: want tcp://host:port", c.Addr)
		}
		fmt.Fprintf(&b, "TCPSocket %s\nTCPAddr %s\n", port, host)
	default:
		return "", fmt.Errorf("clamd address %q: want unix:///path or tcp://host:port", c.Addr)
	}
	if c.DatabaseDir == "" || strings.ContainsAny(c.DatabaseDir, "\n") {
		return "", errors.New("clamd needs a database folder")
	}
	max := c.MaxStream
	if max <= 0 {
		max = 100 << 20
	}
	// The limits are the scanner's, plus the headroom clamd needs to judge
	// the largest stream; anything beyond is reported, never passed
	// (AlertExceedsMax), so it is tagged Error.
	fmt.Fprintf(&b, "DatabaseDirectory %s\nTemporaryDirectory %s\n", c.DatabaseDir, os.TempDir())
	fmt.Fprintf(&b, "StreamMaxLength %d\nMaxFileSize %d\nMaxScanSize %d\nAlertExceedsMax yes\n", max+1, max+1, 2*max)
	b.WriteString("MaxRecursion 16\nMaxFiles 10000\nMaxThreads 4\nLogTime yes\n")
	return b.String(), nil
}

// StartDaemon writes clamd.conf beside the database folder, starts clamd
// and returns once it answers PING (its signatures are loaded), or with
// an error carrying clamd's complaint when it exits or the bound passes.
func StartDaemon(ctx context.Context, cfg DaemonConfig) (*Daemon, error) {
	if cfg.Binary == "" {
		return nil, errors.New("no clamd binary")
	}
	body, err := cfg.Conf()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(filepath.Dir(filepath.Clean(cfg.DatabaseDir)), "clamd.conf")
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return nil, fmt.Errorf("write clamd.conf: %w", err)
	}
	d := &Daemon{cfg: cfg, conf: conf}
	if err := d.start(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// Addr is clamd's address for Clamd.
func (d *Daemon) Addr() string { return d.cfg.Addr }

func (d *Daemon) start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if sock, ok := strings.CutPrefix(d.cfg.Addr, "unix://"); ok {
		_ = os.Remove(sock) // a socket left by a clamd that died refuses the bind
	}
	var logBuf tail
	w := io.Writer(&logBuf)
	if d.cfg.Log != nil {
		w = io.MultiWriter(d.cfg.Log, &logBuf)
	}
	// #nosec G204 -- the binary comes from the operator's config (PALISADE_CLAMD_BINARY) and the config file is the one this daemon wrote
	cmd := exec.Command(d.cfg.Binary, "--config-file="+d.conf)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start clamd: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	bound := d.cfg.StartTimeout
	if bound <= 0 {
		bound = 3 * time.Minute
	}
	wctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	c := Clamd{Addr: d.cfg.Addr, Timeout: 2 * time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if c.Ping(wctx) == nil {
			d.cmd, d.done = cmd, done
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("clamd exited while loading its signatures: %s", logBuf.String())
		case <-wctx.Done():
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("clamd did not answer within %s: %s", bound, logBuf.String())
		case <-tick.C:
		}
	}
}

// Running reports whether clamd is still up.
func (d *Daemon) Running() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return false
	}
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// Ensure restarts clamd if it has exited (killed for memory, crashed), so
// one bad moment does not fail every later event of a warm Lambda.
func (d *Daemon) Ensure(ctx context.Context) error {
	if d.Running() {
		return nil
	}
	d.mu.Lock()
	d.cmd = nil
	d.mu.Unlock()
	return d.start(ctx)
}

// Stop ends clamd (SIGTERM, then SIGKILL after 10 s).
func (d *Daemon) Stop() { d.signal(syscall.SIGTERM) }

// Kill ends clamd as a crash would; tests use it.
func (d *Daemon) Kill() { d.signal(syscall.SIGKILL) }

func (d *Daemon) signal(sig syscall.Signal) {
	d.mu.Lock()
	cmd, done := d.cmd, d.done
	d.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// tail keeps the last few KiB of clamd's output for error messages.
type tail struct {
	mu sync.Mutex
	b  []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}
