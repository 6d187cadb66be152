package session

import (
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
)

// Cookie names of the two login realms. They never share a cookie.
const (
	TenantCookie   = "palisade_session"
	OperatorCookie = "palisade_hq_session"
)

// Keys stored in a session.
const (
	KeyUserID     = "user_id"
	KeyTenantID   = "tenant_id"
	KeyOperatorID = "operator_id"
	KeyCreatedAt  = "created_at"
)

// Options configure a session manager.
type Options struct {
	// Realm picks the cookie and the store's key space.
	Realm    Realm
	Secure   bool
	Idle     time.Duration
	Absolute time.Duration
	Store    scs.Store
	// OnError reports store failures; the request gets a 500.
	OnError func(http.ResponseWriter, *http.Request, error)
}

// New builds a manager with Palisade's cookie policy: HttpOnly, SameSite=Lax,
// host-only (no Domain, so one tenant's cookie never reaches another tenant's
// host), Secure outside dev, and no persistence beyond the browser session
// when the absolute timeout would be exceeded anyway. The store is scoped
// to the realm (see InRealm).
func New(o Options) *scs.SessionManager {
	m := scs.New()
	m.Store = InRealm(o.Store, o.Realm)
	m.IdleTimeout = o.Idle
	m.Lifetime = o.Absolute
	m.Cookie.Name = o.Realm.Cookie()
	m.Cookie.HttpOnly = true
	m.Cookie.SameSite = http.SameSiteLaxMode
	m.Cookie.Secure = o.Secure
	m.Cookie.Path = "/"
	m.Cookie.Persist = false
	if o.OnError != nil {
		m.ErrorFunc = o.OnError
	}
	return m
}
