package jobs

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The heartbeat is the queue's own end-to-end check, so it lives with the
// plumbing: the scheduler enqueues it, a worker runs it, and the
// scheduler's readiness (and HQ) read when it last ran.

// Empty is the payload of jobs that need none.
type Empty struct{}

// Heartbeat proves jobs flow end to end; the scheduler's readiness
// reports its last run.
var Heartbeat = Define[Empty]("system.heartbeat", Options{Queue: QueueCritical, MaxAttempts: 1, Timeout: 10 * time.Second})

// RegisterHeartbeat wires the heartbeat's handler; rdb nil fails it
// permanently, now nil is time.Now.
func RegisterHeartbeat(r *Registry, rdb redis.UniversalClient, prefix string, now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	Handle(r, Heartbeat, func(ctx context.Context, _ Empty) error {
		if rdb == nil {
			return Permanent(fmt.Errorf("no redis for the heartbeat"))
		}
		return RecordHeartbeat(ctx, rdb, prefix, now())
	})
}

func heartbeatKey(prefix string) string { return prefix + "jobs:heartbeat" }

// recordHeartbeat keeps the newest time only, so a late or repeated run
// never moves it backwards.
var recordHeartbeat = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1]) end
return 1`)

// RecordHeartbeat stores t as the last heartbeat.
func RecordHeartbeat(ctx context.Context, rdb redis.UniversalClient, prefix string, t time.Time) error {
	return recordHeartbeat.Run(ctx, rdb, []string{heartbeatKey(prefix)}, t.UnixMilli()).Err()
}

// LastHeartbeat is when the heartbeat job last ran; zero if never.
func LastHeartbeat(ctx context.Context, rdb redis.UniversalClient, prefix string) (time.Time, error) {
	v, err := rdb.Get(ctx, heartbeatKey(prefix)).Result()
	if err == redis.Nil {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("heartbeat value %q: %w", v, err)
	}
	return time.UnixMilli(ms), nil
}
