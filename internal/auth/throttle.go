package auth

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// Throttle counts failed attempts at a secret (a password, a second-factor
// code, a passkey assertion) per account and per IP in Redis, in fixed
// windows that start at the first failure. The realm names the counter
// ("tenant:7" for passwords on a tenant, "hq", "mfa", "passkey"), so every
// endpoint that checks the same secret of the same account adds up. A success clears the account
// counter only: an attacker spraying many accounts from one address keeps
// accumulating failures on the IP counter whatever else succeeds.
type Throttle struct {
	Redis      redis.UniversalClient
	Prefix     string
	MaxAccount int
	MaxIP      int
	Window     time.Duration
}

func (t *Throttle) accountKey(realm, account string) string {
	return t.Prefix + "throttle:" + realm + ":acct:" + account
}
func (t *Throttle) ipKey(realm, ip string) string {
	return t.Prefix + "throttle:" + realm + ":ip:" + ip
}

// Check returns how long the caller must wait, or 0 if it may try now.
func (t *Throttle) Check(ctx context.Context, realm, account, ip string) (time.Duration, error) {
	pipe := t.Redis.Pipeline()
	acct := pipe.Get(ctx, t.accountKey(realm, account))
	acctTTL := pipe.PTTL(ctx, t.accountKey(realm, account))
	byIP := pipe.Get(ctx, t.ipKey(realm, ip))
	ipTTL := pipe.PTTL(ctx, t.ipKey(realm, ip))
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return 0, err
	}
	var wait time.Duration
	if n, _ := acct.Int(); account != "" && n >= t.MaxAccount {
		wait = max(wait, acctTTL.Val())
	}
	if n, _ := byIP.Int(); n >= t.MaxIP {
		wait = max(wait, ipTTL.Val())
	}
	return wait, nil
}

// Fail records a failed attempt on both counters; on the IP counter alone
// when the account is unknown ("", a passkey whose owner cannot be named).
func (t *Throttle) Fail(ctx context.Context, realm, account, ip string) error {
	pipe := t.Redis.TxPipeline()
	keys := []string{t.ipKey(realm, ip)}
	if account != "" {
		keys = append(keys, t.accountKey(realm, account))
	}
	for _, k := range keys {
		pipe.Incr(ctx, k)
		pipe.ExpireNX(ctx, k, t.Window)
	}
	_, err := pipe.Exec(ctx)
	return err
}

// Succeed clears the account counter and leaves the IP counter alone.
func (t *Throttle) Succeed(ctx context.Context, realm, account string) error {
	return t.Redis.Del(ctx, t.accountKey(realm, account)).Err()
}
