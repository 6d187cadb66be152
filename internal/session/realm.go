package session

import (
	"context"
	"time"

	"github.com/alexedwards/scs/v2"
)

// Realm is one of the two login realms. Each has its own cookie and its
// own key space in the store, so a token issued in one realm is simply
// unknown in the other (a tenant cookie sent as the HQ cookie finds
// nothing), and each session also records its realm under KeyRealm.
type Realm string

const (
	RealmTenant   Realm = "tenant"
	RealmOperator Realm = "hq"
)

// KeyRealm names the realm a session was started in.
const KeyRealm = "realm"

// Cookie is the realm's cookie name.
func (r Realm) Cookie() string {
	if r == RealmOperator {
		return OperatorCookie
	}
	return TenantCookie
}

// ctxStore is the store interface scs prefers (it passes the request's
// context); both of Palisade's stores implement it.
type ctxStore interface {
	scs.Store
	scs.CtxStore
}

// realmStore keeps one realm's sessions under its own key prefix in a
// shared store: "<realm>:<token>" in the SQL table, and so
// "<prefix>session:<realm>:<token>" in Redis.
type realmStore struct {
	inner  ctxStore
	prefix string
}

// InRealm scopes a store to a realm.
func InRealm(st scs.Store, r Realm) scs.Store {
	cs, ok := st.(ctxStore)
	if !ok {
		cs = ctxAdapter{st}
	}
	return &realmStore{inner: cs, prefix: string(r) + ":"}
}

func (s *realmStore) Find(token string) ([]byte, bool, error) {
	return s.inner.Find(s.prefix + token)
}
func (s *realmStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.inner.Commit(s.prefix+token, b, expiry)
}
func (s *realmStore) Delete(token string) error { return s.inner.Delete(s.prefix + token) }
func (s *realmStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	return s.inner.FindCtx(ctx, s.prefix+token)
}
func (s *realmStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	return s.inner.CommitCtx(ctx, s.prefix+token, b, expiry)
}
func (s *realmStore) DeleteCtx(ctx context.Context, token string) error {
	return s.inner.DeleteCtx(ctx, s.prefix+token)
}

// ctxAdapter lets a plain scs.Store (a test's memstore) serve as a ctxStore.
type ctxAdapter struct{ scs.Store }

func (a ctxAdapter) FindCtx(_ context.Context, token string) ([]byte, bool, error) {
	return a.Find(token)
}
func (a ctxAdapter) CommitCtx(_ context.Context, token string, b []byte, expiry time.Time) error {
	return a.Commit(token, b, expiry)
}
func (a ctxAdapter) DeleteCtx(_ context.Context, token string) error { return a.Delete(token) }
