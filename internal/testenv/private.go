package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
)

// Private is a server of the test's own, on loopback, that the test may
// take away and bring back without disturbing the shared services other
// tests use. Stop and Start are safe to call from any goroutine; the
// test's cleanup stops it.
type Private struct {
	// Addr is host:port of the server.
	Addr string
	// Stop ends the server gracefully (SIGTERM, then wait).
	Stop func()
	// Kill ends it as a crash would (SIGKILL, then wait).
	Kill func()
	// Start brings it back on the same address and data, and returns once
	// it answers.
	Start func()
}

// freeLoopbackPort is a port nobody listens on now. It is released before
// the server binds it, a small race that only another process picking the
// same port in that instant could lose.
func freeLoopbackPort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// lookBinary finds a server binary on PATH or in /usr/sbin, or reports it
// missing (a failure in CI).
func lookBinary(tb testing.TB, name string) string {
	tb.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p, err := exec.LookPath("/usr/sbin/" + name); err == nil {
		return p
	}
	Missing(tb, name+" binary", "PATH")
	return ""
}

// process runs one server command at a time and can stop it by signal.
type process struct {
	tb    testing.TB
	name  string
	dir   string
	argv  []string
	ready func() bool

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	starts int
}

func (p *process) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return
	}
	p.starts++
	out := filepath.Join(p.dir, fmt.Sprintf("%s-%d.log", p.name, p.starts))
	f, err := os.Create(out)
	if err != nil {
		p.tb.Error(err)
		return
	}
	defer f.Close()
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group: a Ctrl+C on the test does not reach it first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		p.tb.Errorf("start %s: %v", p.name, err)
		return
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	p.cmd, p.done = cmd, done
	// Bounded so a server that never comes up fails the test instead of
	// hanging it; a cold MariaDB start takes a few seconds.
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			log, _ := os.ReadFile(out)
			p.cmd, p.done = nil, nil
			p.tb.Errorf("%s exited at start:\n%s", p.name, log)
			return
		default:
		}
		if p.ready() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	log, _ := os.ReadFile(out)
	p.tb.Errorf("%s did not answer within 90s:\n%s", p.name, log)
}

func (p *process) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		// A server that ignores SIGTERM for a minute is killed.
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd, p.done = nil, nil
}

// PrivateRedis starts a redis-server of the test's own on a free loopback
// port and returns its URL.
//
// Modelling choice: production Redis is an ElastiCache replication group
// with a replica in another AZ and automatic failover (infra/modules/data),
// so when the primary fails the data — queued jobs, sessions — survives on
// the promoted replica and clients reconnect to the same endpoint. A
// single local server models that with an append-only file fsynced on
// every write (appendonly yes, appendfsync always): a restart comes back
// on the same address with everything that was acknowledged. What it does
// not model is the few seconds of replication lag a real failover may
// lose.
func PrivateRedis(tb testing.TB) (url string, srv *Private) {
	tb.Helper()
	bin := lookBinary(tb, "redis-server")
	port := freeLoopbackPort(tb)
	dir := tb.TempDir()
	addr := "127.0.0.1:" + port
	url = "redis://" + addr + "/0"
	opt, _ := redis.ParseURL(url)
	ping := func() bool {
		c := redis.NewClient(opt)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return c.Ping(ctx).Err() == nil
	}
	p := &process{tb: tb, name: "redis", dir: dir, ready: ping, argv: []string{bin,
		"--bind", "127.0.0.1", "--port", port, "--dir", dir,
		"--appendonly", "yes", "--appendfsync", "always",
		"--save", "", "--protected-mode", "no", "--daemonize", "no",
		"--logfile", filepath.Join(dir, "redis-server.log")}}
	srv = &Private{Addr: addr, Start: p.start,
		Stop: func() { p.signal(syscall.SIGTERM) },
		Kill: func() { p.signal(syscall.SIGKILL) }}
	tb.Cleanup(srv.Kill)
	p.start()
	if !ping() {
		tb.FailNow()
	}
	return url, srv
}

// PrivateMariaDB initialises a MariaDB data directory of the test's own,
// starts mariadbd on a free loopback port (root without a password, its
// own socket and pid files) and creates an empty database; dsn reaches it.
func PrivateMariaDB(tb testing.TB) (dsn string, srv *Private) {
	tb.Helper()
	install := lookBinary(tb, "mariadb-install-db")
	bin := lookBinary(tb, "mariadbd")
	dir := tb.TempDir()
	data := filepath.Join(dir, "data")
	cmd := exec.Command(install, "--no-defaults", "--auth-root-authentication-method=normal",
		"--user=root", "--datadir="+data, "--skip-test-db")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	port := freeLoopbackPort(tb)
	addr := "127.0.0.1:" + port
	admin := mysql.NewConfig()
	admin.User, admin.Net, admin.Addr = "root", "tcp", addr
	admin.Timeout = time.Second
	ping := func() bool {
		db, err := sql.Open("mysql", admin.FormatDSN())
		if err != nil {
			return false
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return db.PingContext(ctx) == nil
	}
	p := &process{tb: tb, name: "mariadbd", dir: dir, ready: ping, argv: []string{bin,
		"--no-defaults", "--user=root", "--datadir=" + data,
		"--bind-address=127.0.0.1", "--port=" + port,
		"--socket=" + filepath.Join(dir, "mariadb.sock"), "--pid-file=" + filepath.Join(dir, "mariadb.pid"),
		"--log-error=" + filepath.Join(dir, "mariadbd.err"),
		"--skip-name-resolve", "--skip-log-bin",
		// Small buffers: several of these may run beside the shared server.
		"--innodb-buffer-pool-size=64M", "--innodb-log-file-size=48M", "--max-connections=200"}}
	srv = &Private{Addr: addr, Start: p.start,
		Stop: func() { p.signal(syscall.SIGTERM) },
		Kill: func() { p.signal(syscall.SIGKILL) }}
	tb.Cleanup(srv.Kill)
	p.start()
	if !ping() {
		tb.FailNow()
	}
	db, err := sql.Open("mysql", admin.FormatDSN())
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE palisade CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		tb.Fatalf("create database on private MariaDB: %v", err)
	}
	cfg := *admin
	cfg.DBName = "palisade"
	cfg.Timeout = 5 * time.Second
	return cfg.FormatDSN(), srv
}
