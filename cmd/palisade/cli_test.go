package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

// TestRoleHelp: every role answers -h and --help with its usage and the
// variables it reads, exits 0, and starts nothing: no configuration is
// loaded (a bad value does not matter) and dev creates no .palisade.
func TestRoleHelp(t *testing.T) {
	t.Chdir(t.TempDir())
	bad := func(k string) string {
		return map[string]string{"PALISADE_SESSION_IDLE_TIMEOUT": "forever", "PALISADE_DEV_PUBLIC_ADDR": "127.0.0.1:1"}[k]
	}
	want := map[string]string{"api": "PALISADE_DB_DSN", "web": "PALISADE_API_URL", "hq": "PALISADE_OPERATOR_PASSWORD", "dev": "PALISADE_DEV_DATA_DIR",
		"scan": "PALISADE_CLAMD_ADDR", "worker": "PALISADE_WORKER_CONCURRENCY", "realtime": "PALISADE_REALTIME_APP_SECRET"}
	for role := range roleHelp {
		for _, flag := range []string{"-h", "--help"} {
			var out, errOut bytes.Buffer
			if err := run(context.Background(), []string{"palisade", role, flag}, bad, &out, &errOut); err != nil {
				t.Fatalf("%s %s: %v", role, flag, err)
			}
			if !strings.HasPrefix(out.String(), "usage: palisade "+role) || !strings.Contains(out.String(), "PALISADE_ENV") {
				t.Fatalf("%s %s printed:\n%s", role, flag, out.String())
			}
			if w := want[role]; w != "" && !strings.Contains(out.String(), w) {
				t.Errorf("%s %s does not list %s", role, flag, w)
			}
		}
	}
	// A subcommand's flag position works too.
	var out bytes.Buffer
	if err := run(context.Background(), []string{"palisade", "audit", "verify", "-h"}, bad, &out, io.Discard); err != nil || !strings.Contains(out.String(), "audit verify [-json]") {
		t.Fatalf("audit verify -h: %v\n%s", err, out.String())
	}
	if _, err := os.Stat(".palisade"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("help created .palisade: %v", err)
	}
}

// TestArgumentsCheckedFirst: a bad subcommand or flag is refused with the
// role's usage before any configuration is read or logged.
func TestArgumentsCheckedFirst(t *testing.T) {
	env := map[string]string{"PALISADE_ENV": "test", "PALISADE_DB_DRIVER": "sqlite", "PALISADE_DB_DSN": filepath.Join(t.TempDir(), "p.db")}
	getenv := func(k string) string { return env[k] }
	for _, args := range [][]string{{"audit", "bogus"}, {"audit"}, {"audit", "verify", "-nope"}, {"audit", "verify", "extra"},
		{"files", "bogus"}, {"files", "audit-buckets", "-x"}, {"hq", "bogus"}, {"api", "extra"}, {"migrate", "now"},
		{"scan", "-nope"}, {"scan"}, {"dev", "bogus"}, {"hq", "create-operator", "-email", "a@b.test"}} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"palisade"}, args...), getenv, &out, &errOut)
		if err == nil {
			t.Errorf("%v: accepted", args)
			continue
		}
		if out.Len() > 0 {
			t.Errorf("%v: logged before refusing its arguments:\n%s", args, out.String())
		}
		if !strings.Contains(errOut.String(), "usage: palisade "+args[0]) {
			t.Errorf("%v: %v, without the usage on stderr: %q", args, err, errOut.String())
		}
	}
}

// TestUnknownVariableWarning: a misspelt PALISADE_* variable is named at
// start-up with the closest real one; production roles still log JSON.
func TestUnknownVariableWarning(t *testing.T) {
	t.Setenv("PALISADE_SESSION_IDEL_TIMEOUT", "1m")
	env := map[string]string{"PALISADE_ENV": "test", "PALISADE_DB_DRIVER": "sqlite", "PALISADE_DB_DSN": filepath.Join(t.TempDir(), "p.db")}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"palisade", "migrate"}, func(k string) string { return env[k] }, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	warned := false
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("a production role logged a line that is not JSON: %q", line)
		}
		if rec["level"] == "WARN" && strings.Contains(rec["msg"].(string), "PALISADE_SESSION_IDEL_TIMEOUT") &&
			strings.Contains(rec["msg"].(string), "did you mean PALISADE_SESSION_IDLE_TIMEOUT?") {
			warned = true
		}
	}
	if !warned {
		t.Fatalf("no warning naming the misspelt variable:\n%s", out.String())
	}
}

// TestDevPortHint: the "another palisade dev" hint comes only with a port
// that is in use, not with an address that is merely wrong.
func TestDevPortHint(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for addr, hint := range map[string]bool{busy.Addr().String(): true, "127.0.0.1:99999": false} {
		dir := t.TempDir()
		env := map[string]string{
			"PALISADE_DEV_DATA_DIR": filepath.Join(dir, ".palisade"), "PALISADE_DEV_PUBLIC_ADDR": addr,
			"PALISADE_DEV_API_ADDR": freeAddr(t), "PALISADE_DEV_REALTIME_ADDR": freeAddr(t), "PALISADE_METRICS_ADDR": freeAddr(t),
			"PALISADE_DEV_S3_ADDR": freeAddr(t), "PALISADE_LOG_LEVEL": "error",
		}
		err := run(context.Background(), []string{"palisade", "dev"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
		if err == nil {
			t.Fatalf("dev on %s started", addr)
		}
		if got := strings.Contains(err.Error(), "is another palisade dev running?"); got != hint {
			t.Errorf("dev on %s: %v (hint wanted: %v)", addr, err, hint)
		}
		// A start that failed leaves nothing running: the realtime node it
		// had started (its Redis heartbeat) once kept logging errors for as
		// long as the process lived.
		if stack := lingering("realtime.(*cluster).heartbeatLoop"); stack != "" {
			t.Errorf("dev on %s failed to start but its realtime heartbeat still runs:\n%s", addr, stack)
		}
	}
}

// lingering is a goroutine whose stack names fn, still there a few
// seconds after the call that should have ended it ("" when none is).
func lingering(fn string) string {
	var dump string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var b strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&b, 2)
		if dump = b.String(); !strings.Contains(dump, fn) {
			return ""
		}
	}
	for _, g := range strings.Split(dump, "\n\n") {
		if strings.Contains(g, fn) {
			return g
		}
	}
	return dump
}
