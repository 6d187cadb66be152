package infra_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/session"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// redisAccessStrings reads the data module's access strings as the
// production environment passes them (tfeval), not a copy.
func redisAccessStrings(t *testing.T) map[string]string {
	t.Helper()
	data := child(t, root(t, "production", nil), "data")
	v := data.Var("redis_access_strings")
	if v.IsNull() || !v.IsKnown() {
		t.Fatal("module.data.redis_access_strings is not known")
	}
	out := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, s := it.Element()
		out[k.AsString()] = s.AsString()
	}
	roles := strings_(data.Var("redis_roles"))
	wantSet(t, "Redis users (module.data.redis_roles)", roles, "api", "worker", "scheduler", "realtime")
	for _, r := range roles {
		if out[r] == "" {
			t.Errorf("no access string for Redis user %s", r)
		}
	}
	return out
}

// TestRedisAccessStrings applies each role's ElastiCache access string
// with ACL SETUSER to a real Redis (PALISADE_TEST_REDIS_URL; miniredis has
// no ACLs) as a test user, connects as it and runs the role's own Redis
// operations through the application's code: what it does succeeds, the
// keys and channels of other roles and the dangerous commands are refused.
func TestRedisAccessStrings(t *testing.T) {
	access := redisAccessStrings(t)
	url := os.Getenv("PALISADE_TEST_REDIS_URL")
	if url == "" {
		testenv.Missing(t, "Redis (miniredis has no ACLs)", "PALISADE_TEST_REDIS_URL")
	}
	admin, _, _ := testenv.Redis(t)
	ctx := context.Background()
	base, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	run := testenv.RandomName()
	as := func(t *testing.T, role string) *redis.Client {
		t.Helper()
		user, pass := "acltest-"+run+"-"+role, "pw-"+run+"-"+role+"-0123456789"
		args := []any{"ACL", "SETUSER", user, "reset", ">" + pass}
		for _, f := range strings.Fields(access[role]) {
			args = append(args, f)
		}
		if err := admin.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("ACL SETUSER %s %s: %v (ElastiCache would refuse it too)", user, access[role], err)
		}
		t.Cleanup(func() { admin.Do(context.Background(), "ACL", "DELUSER", user) })
		opt := *base
		opt.Username, opt.Password = user, pass
		c := redis.NewClient(&opt)
		t.Cleanup(func() { c.Close() })
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatalf("%s cannot PING (the readiness check): %v", role, err)
		}
		return c
	}
	refused := func(t *testing.T, role, what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "NOPERM") {
			t.Errorf("%s: %s = %v, want a NOPERM refusal", role, what, err)
		}
	}
	ok := func(t *testing.T, role, what string, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %s: %v", role, what, err)
		}
	}
	// Keys of the default PALISADE_REDIS_PREFIX, which production uses;
	// the random parts keep this run's keys apart.
	const prefix = "palisade:"
	queue := "acltest" + strings.ReplaceAll(run, "-", "")
	t.Cleanup(func() {
		c := context.Background()
		for _, pat := range []string{prefix + "*" + run + "*", "asynq:{" + queue + "}*"} {
			iter := admin.Scan(c, 0, pat, 500).Iterator()
			for iter.Next(c) {
				admin.Del(c, iter.Val())
			}
		}
		admin.SRem(c, "asynq:queues", queue)
	})
	enqueue := func(c *redis.Client) error {
		cl := asynq.NewClientFromRedisClient(c)
		_, err := cl.EnqueueContext(ctx, asynq.NewTask("acltest.ping", []byte("{}")), asynq.Queue(queue), asynq.MaxRetry(0))
		return err
	}
	dangerous := func(t *testing.T, role string, c *redis.Client) {
		refused(t, role, "KEYS *", c.Keys(ctx, "*").Err())
		refused(t, role, "FLUSHALL", c.FlushAll(ctx).Err())
		refused(t, role, "CONFIG GET", c.ConfigGet(ctx, "*").Err())
	}

	t.Run("api", func(t *testing.T) {
		c := as(t, "api")
		token := "tok" + run
		st := &session.RedisStore{Client: c, Prefix: prefix}
		ok(t, "api", "session commit", st.CommitCtx(ctx, token, []byte("data"), time.Now().Add(time.Minute)))
		if b, found, err := st.FindCtx(ctx, token); err != nil || !found || string(b) != "data" {
			t.Errorf("api: session find = %q %v %v", b, found, err)
		}
		ok(t, "api", "session delete", st.DeleteCtx(ctx, token))
		th := &auth.Throttle{Redis: c, Prefix: prefix, MaxAccount: 5, MaxIP: 20, Window: time.Minute}
		_, err := th.Check(ctx, "tenant", "a"+run, "192.0.2.1")
		ok(t, "api", "throttle check", err)
		ok(t, "api", "throttle fail", th.Fail(ctx, "tenant", "a"+run, "192.0.2.1"))
		ok(t, "api", "throttle succeed", th.Succeed(ctx, "tenant", "a"+run))
		rl := &auth.RateLimiter{Redis: c, Prefix: prefix}
		_, err = rl.Allow(ctx, "ip:"+run, auth.Limit{Rate: 10, Period: time.Minute})
		ok(t, "api", "rate limit", err)
		ok(t, "api", "login handoff", c.Set(ctx, prefix+"handoff:"+run, "1:2", time.Minute).Err())
		ok(t, "api", "login handoff take", c.GetDel(ctx, prefix+"handoff:"+run).Err())
		if _, err := jobs.LastHeartbeat(ctx, c, prefix); err != nil && !errors.Is(err, redis.Nil) && strings.Contains(err.Error(), "NOPERM") {
			t.Errorf("api: heartbeat read: %v", err)
		}
		ok(t, "api", "enqueue", enqueue(c))
		_, _, err = jobs.NewInspector(c).Overview(ctx, 5)
		ok(t, "api", "queue overview (HQ)", err)
		refused(t, "api", "realtime key", c.Set(ctx, prefix+"realtime:"+run, "x", time.Minute).Err())
		refused(t, "api", "publish on the realtime bus", c.Publish(ctx, prefix+"realtime:bus", "x").Err())
		dangerous(t, "api", c)
	})

	t.Run("scheduler", func(t *testing.T) {
		c := as(t, "scheduler")
		ok(t, "scheduler", "enqueue", enqueue(c))
		if _, err := jobs.LastHeartbeat(ctx, c, prefix); err != nil && strings.Contains(err.Error(), "NOPERM") {
			t.Errorf("scheduler: heartbeat read: %v", err)
		}
		st := &session.RedisStore{Client: c, Prefix: prefix}
		_, _, err := st.FindCtx(ctx, "tok"+run)
		refused(t, "scheduler", "session read", err)
		dangerous(t, "scheduler", c)
	})

	t.Run("worker", func(t *testing.T) {
		c := as(t, "worker")
		ok(t, "worker", "heartbeat", jobs.RecordHeartbeat(ctx, c, prefix, time.Now()))
		// Dequeue through asynq's server, as jobs.Worker runs it.
		admin.Del(ctx, "asynq:{"+queue+"}:pending")
		ok(t, "worker", "enqueue (a job enqueues its follow-up)", enqueue(c))
		done := make(chan struct{}, 1)
		srv := asynq.NewServerFromRedisClient(c, asynq.Config{Queues: map[string]int{queue: 1}, Concurrency: 1,
			Logger: quietLogger{}, ShutdownTimeout: 2 * time.Second})
		mux := asynq.NewServeMux()
		mux.HandleFunc("acltest.ping", func(context.Context, *asynq.Task) error {
			select {
			case done <- struct{}{}:
			default:
			}
			return nil
		})
		if err := srv.Start(mux); err != nil {
			t.Fatalf("worker: asynq server: %v", err)
		}
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("worker: the job was not dequeued in 20 s")
		}
		srv.Shutdown()
		st := &session.RedisStore{Client: c, Prefix: prefix}
		_, _, err := st.FindCtx(ctx, "tok"+run)
		refused(t, "worker", "session read", err)
		refused(t, "worker", "publish on the realtime bus", c.Publish(ctx, prefix+"realtime:bus", "x").Err())
		dangerous(t, "worker", c)
	})

	t.Run("realtime", func(t *testing.T) {
		c := as(t, "realtime")
		// internal/realtime's cluster: its node hash, channel keys and
		// the bus channel, all under palisade:realtime:.
		p := prefix + "realtime:"
		sub := c.Subscribe(ctx, p+"bus")
		defer sub.Close()
		if _, err := sub.Receive(ctx); err != nil {
			t.Fatalf("realtime: subscribe: %v", err)
		}
		ok(t, "realtime", "node key", c.HSet(ctx, p+"nodes", "n"+run, time.Now().Unix()).Err())
		ok(t, "realtime", "channel key", c.SAdd(ctx, p+"{ch:private-"+run+"}:members", "u1").Err())
		ok(t, "realtime", "publish", c.Publish(ctx, p+"bus", "hello").Err())
		select {
		case m := <-sub.Channel():
			if m.Payload != "hello" {
				t.Errorf("realtime: received %q", m.Payload)
			}
		case <-time.After(5 * time.Second):
			t.Error("realtime: no message on the bus")
		}
		admin.HDel(ctx, p+"nodes", "n"+run)
		admin.Del(ctx, p+"{ch:private-"+run+"}:members")
		st := &session.RedisStore{Client: c, Prefix: prefix}
		_, _, err := st.FindCtx(ctx, "tok"+run)
		refused(t, "realtime", "session read", err)
		refused(t, "realtime", "enqueue", enqueue(c))
		dangerous(t, "realtime", c)
	})
}

type quietLogger struct{}

func (quietLogger) Debug(...any) {}
func (quietLogger) Info(...any)  {}
func (quietLogger) Warn(...any)  {}
func (quietLogger) Error(...any) {}
func (quietLogger) Fatal(...any) {}
