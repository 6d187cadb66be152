package api

import (
	"errors"
	"mime"
	"net/http"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/realtime"
)

// broadcastingAuth signs a realtime channel subscription for the logged-in
// member, as the Pusher protocol's auth endpoint. pusher-js posts a form
// (socket_id, channel_name); JSON is accepted too. Channel names carry the
// tenant, so a member can only ever be signed into their own tenant's
// channels, and their own user channel.
func (s *Server) broadcastingAuth(w http.ResponseWriter, r *http.Request) error {
	if s.RealtimeKey == "" || s.RealtimeSecret == "" {
		return core.Errorf(core.KindNotFound, "realtime is not configured")
	}
	var req struct {
		SocketID    string `json:"socket_id"`
		ChannelName string `json:"channel_name"`
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" {
		if err := httpx.DecodeJSON(w, r, &req); err != nil {
			return err
		}
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
		if err := r.ParseForm(); err != nil {
			return core.Errorf(core.KindInvalid, "the body must be a form with socket_id and channel_name")
		}
		req.SocketID, req.ChannelName = r.PostForm.Get("socket_id"), r.PostForm.Get("channel_name")
	}
	if !realtime.ValidSocketID(req.SocketID) {
		return core.Invalid("socket_id", "socket_id must look like 1234.5678")
	}
	rc := reqCtx(r)
	err := realtime.AuthorizeChannel(rc.tenant.ID, rc.member.UserID, req.ChannelName)
	switch {
	case err == nil:
	case errors.Is(err, realtime.ErrChannelInvalid), errors.Is(err, realtime.ErrChannelPublic):
		s.auditDenied(r, "realtime.auth", "channel "+req.ChannelName+": "+err.Error())
		return core.Invalid("channel_name", "%s is not a private or presence channel of this organisation", req.ChannelName)
	default:
		s.auditDenied(r, "realtime.auth", "channel "+req.ChannelName+": "+err.Error())
		return &core.Error{Kind: core.KindForbidden, Field: "channel_name", Message: "you may not subscribe to " + req.ChannelName}
	}
	var member *realtime.PresenceMember
	if len(req.ChannelName) > 9 && req.ChannelName[:9] == "presence-" {
		u, err := s.Store.UserByID(r.Context(), rc.member.UserID)
		if err != nil {
			return err
		}
		member = &realtime.PresenceMember{UserID: realtime.UserIDString(u.ID), UserInfo: map[string]string{"name": u.Name}}
	}
	resp, err := realtime.SignChannel(s.RealtimeKey, s.RealtimeSecret, req.SocketID, req.ChannelName, member)
	if err != nil {
		return core.Invalid("channel_name", "%v", err)
	}
	httpx.WriteJSON(w, http.StatusOK, resp)
	return nil
}
