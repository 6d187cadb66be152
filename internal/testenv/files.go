package testenv

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// EICAR is the anti-virus test string every scanner detects; tests build
// it at run time so no file in the repository trips a scanner.
func EICAR() []byte {
	return []byte(`X5O!P%@AP[4\PZX54(P^)7CC)7}$` + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!" + `$H+H*`)
}

// Clamd is the address of the test clamd (PALISADE_TEST_CLAMD_ADDR).
func Clamd(tb testing.TB) string {
	tb.Helper()
	addr := os.Getenv("PALISADE_TEST_CLAMD_ADDR")
	if addr == "" {
		Missing(tb, "clamd", "PALISADE_TEST_CLAMD_ADDR")
	}
	return addr
}

// PrivateClamd starts a clamd of the test's own, with streamMax as its
// StreamMaxLength/MaxFileSize/MaxScanSize, on the signature database of
// PALISADE_TEST_CLAMD_DATABASE. stop kills it (the test's cleanup does too),
// so tests can take clamd away and bring it back.
func PrivateClamd(tb testing.TB, streamMax string) (addr string, start, stop func()) {
	tb.Helper()
	db := os.Getenv("PALISADE_TEST_CLAMD_DATABASE")
	if db == "" {
		Missing(tb, "clamd signature database", "PALISADE_TEST_CLAMD_DATABASE")
	}
	bin, err := exec.LookPath("clamd")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/clamd"); err != nil {
			Missing(tb, "clamd binary", "PATH")
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	hostport := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(hostport)
	dir := tb.TempDir()
	conf := filepath.Join(dir, "clamd.conf")
	body := fmt.Sprintf("Foreground yes\nTCPSocket %s\nTCPAddr 127.0.0.1\nDatabaseDirectory %s\nLogFile %s\nLogFileUnlock yes\nStreamMaxLength %s\nMaxFileSize %s\nMaxScanSize %s\nAlertExceedsMax yes\nMaxThreads 2\n",
		port, db, filepath.Join(dir, "clamd.log"), streamMax, streamMax, streamMax)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		tb.Fatal(err)
	}
	var cmd *exec.Cmd
	starts := 0
	stop = func() {
		if cmd != nil && cmd.Process != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			cmd = nil
		}
	}
	start = func() {
		tb.Helper()
		starts++
		out := filepath.Join(dir, fmt.Sprintf("stdout-%d.log", starts))
		f, err := os.Create(out)
		if err != nil {
			tb.Fatal(err)
		}
		defer f.Close()
		cmd = exec.Command(bin, "--config-file="+conf)
		cmd.Stdout, cmd.Stderr = f, f
		if err := cmd.Start(); err != nil {
			tb.Fatalf("start clamd: %v", err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			if pingClamd(hostport) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		log, _ := os.ReadFile(out)
		tb.Fatalf("private clamd did not answer PING within 60s:\n%s", log)
	}
	tb.Cleanup(stop)
	start()
	return "tcp://" + hostport, start, stop
}

func pingClamd(addr string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("zPING\x00")); err != nil {
		return false
	}
	s, _ := bufio.NewReader(c).ReadString(0)
	return strings.TrimRight(s, "\x00") == "PONG"
}

// S3Env is the test S3-compatible server and the app user's keys.
type S3Env struct {
	Endpoint, AccessKey, SecretKey string
}

// S3 is the server named by PALISADE_TEST_S3_ENDPOINT (versitygw in CI).
// Each test should use its own bucket prefix (RandomName) to stay apart.
func S3(tb testing.TB) S3Env {
	tb.Helper()
	e := S3Env{Endpoint: os.Getenv("PALISADE_TEST_S3_ENDPOINT"), AccessKey: os.Getenv("PALISADE_TEST_S3_ACCESS_KEY"), SecretKey: os.Getenv("PALISADE_TEST_S3_SECRET_KEY")}
	if e.Endpoint == "" || e.AccessKey == "" {
		Missing(tb, "an S3-compatible server", "PALISADE_TEST_S3_ENDPOINT")
	}
	return e
}

// FilesEnv are the PALISADE_* settings that point a stack at the test S3
// and clamd, with a bucket prefix of the test's own.
func FilesEnv(tb testing.TB, clamdAddr string) map[string]string {
	tb.Helper()
	s3 := S3(tb)
	return map[string]string{
		"PALISADE_S3_ENDPOINT":        s3.Endpoint,
		"PALISADE_S3_REGION":          "us-east-1", // versitygw's default
		"PALISADE_S3_ACCESS_KEY":      s3.AccessKey,
		"PALISADE_S3_SECRET_KEY":      s3.SecretKey,
		"PALISADE_S3_BUCKET_PREFIX":   "pt-" + RandomName() + "-",
		"PALISADE_CLAMD_ADDR":         clamdAddr,
		"PALISADE_CLAMD_TIMEOUT":      "30s",
		"PALISADE_FILES_RESCAN_AFTER": "1s",
	}
}
