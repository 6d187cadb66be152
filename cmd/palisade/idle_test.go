package main

import (
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestDevIdlesQuietly: an idle `palisade dev` (embedded Redis, S3 store,
// worker and scheduler, no requests) uses well under 5 % of one core. It
// once spun at 60-75 % on versitygw's IAM cache prune loop (interval 0).
// The dev runs in this process, so the process's CPU time is its CPU time
// (plus the test's, which sleeps).
func TestDevIdlesQuietly(t *testing.T) {
	dir := t.TempDir()
	public := freeAddr(t)
	env := map[string]string{
		"PALISADE_DEV_DATA_DIR":      filepath.Join(dir, ".palisade"),
		"PALISADE_DEV_PUBLIC_ADDR":   public,
		"PALISADE_DEV_API_ADDR":      freeAddr(t),
		"PALISADE_DEV_REALTIME_ADDR": freeAddr(t),
		"PALISADE_DEV_S3_ADDR":       freeAddr(t),
		"PALISADE_METRICS_ADDR":      freeAddr(t),
	}
	_, stop := start(t, []string{"dev"}, env)
	defer stop()
	waitReady(t, "http://"+public+"/readyz", "")
	// The embedded S3 store is up once it accepts connections.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", env["PALISADE_DEV_S3_ADDR"], time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("embedded S3 store not listening: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Let start-up work (migrations, seeding, the first scheduler ticks,
	// bucket provisioning) finish before measuring.
	time.Sleep(5 * time.Second)

	const window = 20 * time.Second
	cpu0, wall0 := cpuTime(t), time.Now()
	time.Sleep(window)
	cpu, wall := cpuTime(t)-cpu0, time.Since(wall0)
	share := float64(cpu) / float64(wall)
	t.Logf("idle dev: %v CPU over %v wall = %.2f %% of one core", cpu.Round(time.Millisecond), wall.Round(time.Millisecond), 100*share)
	if share >= 0.05 {
		t.Fatalf("idle dev used %.1f %% of one core over %v (limit 5 %%)", 100*share, wall.Round(time.Second))
	}
}
