package api

import (
	"errors"
	"mime"
	"net/http"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/realtime/channels"
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
	if !channels.ValidSocketID(req.SocketID) {
		return core.Invalid("socket_id", "socket_id must look like 1234.5678")
	}
	rc := reqCtx(r)
	err := channels.AuthorizeChannel(rc.tenant.ID, rc.member.UserID, req.ChannelName)
	switch {
	case err == nil:
	case errors.Is(err, channels.ErrChannelInvalid), errors.Is(err, channels.ErrChannelPublic):
		s.auditDenied(r, "realtime.auth", "channel "+req.ChannelName+": "+err.Error())
		return core.Invalid("channel_name", "%s is not a private or presence channel of this organisation", req.ChannelName)
	default:
		s.auditDenied(r, "realtime.auth", "channel "+req.ChannelName+": "+err.Error())
		return &core.Error{Kind: core.KindForbidden, Field: "channel_name", Message: "you may not subscribe to " + req.ChannelName}
	}
	if channels.IsEncrypted(req.ChannelName) {
		if len(s.RealtimeEncryptionKey) == 0 {
			return core.Invalid("channel_name", "encrypted channels are not enabled here (no PALISADE_REALTIME_ENCRYPTION_MASTER_KEY)")
		}
		resp, err := channels.SignEncryptedChannel(s.RealtimeKey, s.RealtimeSecret, s.RealtimeEncryptionKey, req.SocketID, req.ChannelName)
		if err != nil {
			return core.Invalid("channel_name", "%v", err)
		}
		httpx.WriteJSON(w, http.StatusOK, resp)
		return nil
	}
	var member *channels.PresenceMember
	if channels.KindOf(req.ChannelName) == channels.KindPresence {
		u, err := s.Store.UserByID(r.Context(), rc.member.UserID)
		if err != nil {
			return err
		}
		member = &channels.PresenceMember{UserID: channels.UserIDString(u.ID), UserInfo: map[string]string{"name": u.Name}}
	}
	resp, err := channels.SignChannel(s.RealtimeKey, s.RealtimeSecret, req.SocketID, req.ChannelName, member)
	if err != nil {
		return core.Invalid("channel_name", "%v", err)
	}
	httpx.WriteJSON(w, http.StatusOK, resp)
	return nil
}

// broadcastingUserAuth signs pusher:signin for the logged-in member, as
// pusher-js's userAuthentication expects (POST socket_id, answer auth and
// user_data). The user id is Palisade's, so the API can sendToUser and
// terminate the user's connections; the tenant is in user_info, for the
// page's own use (the server keys nothing on it).
func (s *Server) broadcastingUserAuth(w http.ResponseWriter, r *http.Request) error {
	if s.RealtimeKey == "" || s.RealtimeSecret == "" {
		return core.Errorf(core.KindNotFound, "realtime is not configured")
	}
	var req struct {
		SocketID string `json:"socket_id"`
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" {
		if err := httpx.DecodeJSON(w, r, &req); err != nil {
			return err
		}
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
		if err := r.ParseForm(); err != nil {
			return core.Errorf(core.KindInvalid, "the body must be a form with socket_id")
		}
		req.SocketID = r.PostForm.Get("socket_id")
	}
	if !channels.ValidSocketID(req.SocketID) {
		return core.Invalid("socket_id", "socket_id must look like 1234.5678")
	}
	rc := reqCtx(r)
	u, err := s.Store.UserByID(r.Context(), rc.member.UserID)
	if err != nil {
		return err
	}
	resp, err := channels.SignUser(s.RealtimeKey, s.RealtimeSecret, req.SocketID, channels.UserData{
		ID:       channels.UserIDString(u.ID),
		UserInfo: map[string]any{"name": u.Name, "tenant_id": rc.tenant.ID},
	})
	if err != nil {
		return core.Invalid("socket_id", "%v", err)
	}
	httpx.WriteJSON(w, http.StatusOK, resp)
	return nil
}
