// Package session keeps server-side sessions with alexedwards/scs: in Redis
// in production, in SQL for dev. Both stores are small enough to own, which
// lets them share Palisade's key prefix and clock.
package session

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// SQLStore keeps sessions in the sessions table (MariaDB or SQLite).
type SQLStore struct {
	DB  *sql.DB
	Now func() time.Time
}

func (s *SQLStore) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *SQLStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

func (s *SQLStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var b []byte
	err := s.DB.QueryRowContext(ctx, `SELECT data FROM sessions WHERE token = ? AND expiry > ?`, token, s.now().UnixMilli()).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	return b, err == nil, err
}

func (s *SQLStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

func (s *SQLStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	// Portable upsert: the token is random, so a racing insert of the same
	// token cannot come from anyone but this session.
	res, err := s.DB.ExecContext(ctx, `UPDATE sessions SET data = ?, expiry = ? WHERE token = ?`, b, expiry.UnixMilli(), token)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	_, err = s.DB.ExecContext(ctx, `INSERT INTO sessions (token, data, expiry) VALUES (?, ?, ?)`, token, b, expiry.UnixMilli())
	return err
}

func (s *SQLStore) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }

func (s *SQLStore) DeleteCtx(ctx context.Context, token string) error {
	_, err := s.DB.ExecContext(ctx, `DELETE FROM sessions WHERE token = ?`, token)
	return err
}

// RedisStore keeps sessions as keys with a TTL, so Redis expires them itself.
type RedisStore struct {
	Client redis.UniversalClient
	Prefix string
}

func (s *RedisStore) key(token string) string { return s.Prefix + "session:" + token }

func (s *RedisStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

func (s *RedisStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	b, err := s.Client.Get(ctx, s.key(token)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	return b, err == nil, err
}

func (s *RedisStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

func (s *RedisStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	ttl := time.Until(expiry)
	if ttl <= 0 {
		return s.DeleteCtx(ctx, token)
	}
	return s.Client.Set(ctx, s.key(token), b, ttl).Err()
}

func (s *RedisStore) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }

func (s *RedisStore) DeleteCtx(ctx context.Context, token string) error {
	return s.Client.Del(ctx, s.key(token)).Err()
}
