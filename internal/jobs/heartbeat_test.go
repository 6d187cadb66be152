package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestHeartbeatIdempotent: a repeated or late run never moves the time
// backwards.
func TestHeartbeatIdempotent(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	prefix := "palisade_test:" + testenv.RandomName() + ":"
	jobs.RegisterHeartbeat(h.reg, h.rdb, prefix, nil)
	if err := h.reg.Run(ctx, jobs.Heartbeat.Name, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	first, err := jobs.LastHeartbeat(ctx, h.rdb, prefix)
	if err != nil || first.IsZero() {
		t.Fatalf("heartbeat: %v %v", first, err)
	}
	if err := jobs.RecordHeartbeat(ctx, h.rdb, prefix, first.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if again, _ := jobs.LastHeartbeat(ctx, h.rdb, prefix); !again.Equal(first) {
		t.Fatalf("an older heartbeat moved the time back: %v → %v", first, again)
	}
	if err := h.reg.Run(ctx, jobs.Heartbeat.Name, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if again, _ := jobs.LastHeartbeat(ctx, h.rdb, prefix); again.Before(first) {
		t.Fatalf("second heartbeat went back: %v → %v", first, again)
	}
}

// TestHeartbeatNeedsRedis: without Redis the heartbeat fails for good
// rather than retrying.
func TestHeartbeatNeedsRedis(t *testing.T) {
	reg := jobs.NewRegistry()
	jobs.RegisterHeartbeat(reg, nil, "", nil)
	if err := reg.Run(context.Background(), jobs.Heartbeat.Name, []byte(`{}`)); err == nil {
		t.Fatal("heartbeat without redis succeeded")
	}
}
