package api

import (
	"net/http"

	"github.com/alexedwards/scs/v2"

	"github.com/palisade-hq/palisade/internal/session"
)

// keyLastActiveMs is when the session last served a request, on the
// store's clock.
const keyLastActiveMs = "last_active_ms"

// sessionTimeouts enforces the idle and absolute timeouts on Palisade's
// own clock (Store.Now), not only through the store's TTLs: a store whose
// entries outlive their TTL (a SQL table not yet swept, a Redis replica
// that lags, an embedded Redis in tests) must never extend a session. It
// runs after the manager has loaded the session; an expired one is ended
// as a logout would end it (end), and the request goes on with an empty
// session, so the route answers as it does for no session at all.
func (s *Server) sessionTimeouts(sm *scs.SessionManager, end func(*http.Request) error) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			createdMs := sm.GetInt64(ctx, session.KeyCreatedAt) * 1000
			if createdMs == 0 {
				next.ServeHTTP(w, r) // anonymous: nothing to time
				return
			}
			nowMs := s.Store.Now().UnixMilli()
			lastMs := sm.GetInt64(ctx, keyLastActiveMs)
			if lastMs == 0 {
				lastMs = createdMs
			}
			absolute := sm.Lifetime > 0 && nowMs-createdMs >= sm.Lifetime.Milliseconds()
			idle := sm.IdleTimeout > 0 && nowMs-lastMs >= sm.IdleTimeout.Milliseconds()
			if absolute || idle {
				if err := end(r); err != nil {
					s.Log.Warn("end expired session", "err", err)
				}
				next.ServeHTTP(w, r)
				return
			}
			sm.Put(ctx, keyLastActiveMs, nowMs)
			next.ServeHTTP(w, r)
		})
	}
}
