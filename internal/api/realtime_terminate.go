package api

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// RealtimeTerminator closes realtime sockets when someone's access ends
// (publish.Client implements it). The sockets reconnect at once and must be
// authorised again, which the auth endpoints refuse to a removed member, a
// revoked session or a suspended tenant, so access to private channels ends
// at once rather than when the socket happens to close.
type RealtimeTerminator interface {
	TerminateUserConnections(ctx context.Context, userID string) error
	TerminateTenantConnections(ctx context.Context, tenantID int64) error
}

// realtimeTimeout bounds the call: the change itself has been made, and the
// realtime server being away must not hold up or fail the request.
const realtimeTimeout = 3 * time.Second

// endRealtimeUser terminates user uid's sockets, best effort (logged).
func (s *Server) endRealtimeUser(r *http.Request, uid int64) {
	if s.Realtime == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), realtimeTimeout)
	defer cancel()
	if err := s.Realtime.TerminateUserConnections(ctx, strconv.FormatInt(uid, 10)); err != nil {
		s.Log.Warn("realtime terminate user connections", "user_id", uid, "err", err)
	}
}

// endRealtimeTenant terminates every socket on the tenant's channels.
func (s *Server) endRealtimeTenant(r *http.Request, tenantID int64) {
	if s.Realtime == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), realtimeTimeout)
	defer cancel()
	if err := s.Realtime.TerminateTenantConnections(ctx, tenantID); err != nil {
		s.Log.Warn("realtime terminate tenant connections", "tenant_id", tenantID, "err", err)
	}
}
