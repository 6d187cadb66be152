package auth

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Limit is a rate: Rate requests per Period, with bursts up to Rate.
type Limit struct {
	Rate   int
	Period time.Duration
}

// Off reports a disabled limit.
func (l Limit) Off() bool { return l.Rate <= 0 || l.Period <= 0 }

// Decision is the answer of the limiter for one request.
type Decision struct {
	Allowed   bool
	Limit     int
	Remaining int
	// RetryAfter is how long until one request would be allowed (refused
	// requests only).
	RetryAfter time.Duration
	// ResetAfter is how long until the bucket is full again.
	ResetAfter time.Duration
}

// gcra is the generic cell rate algorithm: the key holds the theoretical
// arrival time (TAT) of the next request in milliseconds. One script call
// is atomic, so concurrent API replicas share the limit exactly. Redis's
// clock is used, so replicas with skewed clocks agree.
var gcra = redis.NewScript(`
local burst = tonumber(ARGV[1])
local emission = tonumber(ARGV[2])
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call("GET", KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + emission
local diff = now - (new_tat - emission * burst)
if diff < 0 then
  return {0, 0, tostring(-diff), tostring(tat - now)}
end
local reset = new_tat - now
redis.call("SET", KEYS[1], tostring(new_tat), "PX", math.max(1, math.ceil(reset)))
return {1, math.floor(diff / emission), "-1", tostring(reset)}
`)

// RateLimiter applies GCRA limits kept in Redis.
type RateLimiter struct {
	Redis  redis.UniversalClient
	Prefix string
}

// Allow counts one request against key under l.
func (rl *RateLimiter) Allow(ctx context.Context, key string, l Limit) (Decision, error) {
	if l.Off() {
		return Decision{Allowed: true, Limit: l.Rate, Remaining: math.MaxInt32}, nil
	}
	emission := float64(l.Period.Milliseconds()) / float64(l.Rate)
	res, err := gcra.Run(ctx, rl.Redis, []string{rl.Prefix + "ratelimit:" + key}, l.Rate, strconv.FormatFloat(emission, 'f', 3, 64)).Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("rate limit %s: %w", key, err)
	}
	if len(res) != 4 {
		return Decision{}, fmt.Errorf("rate limit %s: unexpected reply %v", key, res)
	}
	allowed, _ := res[0].(int64)
	remaining, _ := res[1].(int64)
	retry := millis(res[2])
	reset := millis(res[3])
	d := Decision{Allowed: allowed == 1, Limit: l.Rate, Remaining: int(remaining), ResetAfter: reset}
	if !d.Allowed {
		d.RetryAfter = retry
	}
	return d, nil
}

func millis(v any) time.Duration {
	s, _ := v.(string)
	f, _ := strconv.ParseFloat(s, 64)
	if f < 0 {
		return 0
	}
	return time.Duration(f * float64(time.Millisecond))
}
