package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/realtime/channels"
	"github.com/palisade-hq/palisade/internal/realtime/sign"
)

const (
	// maxTimestampSkew is how far auth_timestamp may be from now.
	maxTimestampSkew = 600 * time.Second
	maxEventChannels = 100
	maxBatchEvents   = 10
	maxEventName     = 200
)

// apiError is an HTTP API refusal: status and a message for the caller.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func apiErr(status int, format string, a ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, a...)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) writeAPIError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		s.log.Error("realtime api", "path", httpx.LogPath(r.URL.Path), "err", err)
		ae = apiErr(http.StatusInternalServerError, "internal error")
	} else if ae.status == http.StatusUnauthorized || ae.status == http.StatusForbidden {
		s.log.Warn("realtime api refused", "path", httpx.LogPath(r.URL.Path), "status", ae.status, "reason", ae.msg)
	}
	writeJSON(w, ae.status, map[string]string{"error": ae.msg})
}

// authenticate checks the app id and the request signature, and returns the
// body (read within MaxBodyBytes).
func (s *Server) authenticate(r *http.Request) ([]byte, error) {
	if r.PathValue("id") != s.cfg.AppID {
		return nil, apiErr(http.StatusNotFound, "unknown app id %q", r.PathValue("id"))
	}
	q := r.URL.Query()
	for k, v := range q {
		if len(v) != 1 {
			return nil, apiErr(http.StatusBadRequest, "query parameter %q given %d times", k, len(v))
		}
	}
	if q.Get("auth_key") != s.cfg.AppKey {
		return nil, apiErr(http.StatusUnauthorized, "unknown auth_key")
	}
	if v := q.Get("auth_version"); v != "1.0" {
		return nil, apiErr(http.StatusBadRequest, "auth_version must be 1.0")
	}
	ts, err := strconv.ParseInt(q.Get("auth_timestamp"), 10, 64)
	if err != nil {
		return nil, apiErr(http.StatusUnauthorized, "auth_timestamp missing or not a number")
	}
	if d := s.now().Sub(time.Unix(ts, 0)); d > maxTimestampSkew || d < -maxTimestampSkew {
		return nil, apiErr(http.StatusUnauthorized, "auth_timestamp is %s from the server's clock, more than %s: check the clock", d.Round(time.Second), maxTimestampSkew)
	}
	var body []byte
	if r.Body != nil {
		body, err = io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxBodyBytes+1))
		if err != nil {
			return nil, apiErr(http.StatusBadRequest, "read body: %v", err)
		}
		if int64(len(body)) > s.cfg.MaxBodyBytes {
			return nil, apiErr(http.StatusRequestEntityTooLarge, "request body exceeds the limit of %d bytes", s.cfg.MaxBodyBytes)
		}
	}
	if len(body) > 0 || q.Has("body_md5") {
		if !sign.Equal(q.Get("body_md5"), sign.BodyMD5(body)) {
			return nil, apiErr(http.StatusUnauthorized, "body_md5 does not match the body")
		}
	}
	// Clients sign the path as they send it (the Node SDK leaves a
	// channel or user id as given, others percent-encode it), so the path
	// as received is checked, then its decoded form.
	got := q.Get("auth_signature")
	if !sign.Equal(got, sign.Request(s.cfg.AppSecret, r.Method, r.URL.EscapedPath(), q)) &&
		!sign.Equal(got, sign.Request(s.cfg.AppSecret, r.Method, r.URL.Path, q)) {
		return nil, apiErr(http.StatusUnauthorized, "invalid auth_signature")
	}
	return body, nil
}

// apiEvent is one event of POST /events or /batch_events. Data is a string
// by protocol; other JSON is accepted and passed on as its text.
type apiEvent struct {
	Name     string          `json:"name"`
	Data     json.RawMessage `json:"data"`
	Channels []string        `json:"channels"`
	Channel  string          `json:"channel"`
	SocketID string          `json:"socket_id"`
	// Info asks for channel attributes in the answer:
	// "subscription_count", "user_count" (comma-separated).
	Info string `json:"info"`
}

func (s *Server) checkEvent(ev *apiEvent) (string, error) {
	if ev.Name == "" || len(ev.Name) > maxEventName {
		return "", apiErr(http.StatusBadRequest, "event name must be 1 to %d characters", maxEventName)
	}
	if ev.Channel != "" {
		ev.Channels = append(ev.Channels, ev.Channel)
	}
	if len(ev.Channels) == 0 {
		return "", apiErr(http.StatusBadRequest, "no channels")
	}
	if len(ev.Channels) > maxEventChannels {
		return "", apiErr(http.StatusBadRequest, "%d channels, at most %d per event", len(ev.Channels), maxEventChannels)
	}
	for _, ch := range ev.Channels {
		if !validEventChannel(ch) {
			return "", apiErr(http.StatusBadRequest, "invalid channel name %q", ch)
		}
		if channels.IsEncrypted(ch) && len(ev.Channels) > 1 {
			return "", apiErr(http.StatusBadRequest, "an event to an encrypted channel (%q) must name that channel alone: its data is encrypted for it", ch)
		}
	}
	if _, err := parseInfo(ev.Info); err != nil {
		return "", err
	}
	if ev.SocketID != "" && !channels.ValidSocketID(ev.SocketID) {
		return "", apiErr(http.StatusBadRequest, "invalid socket_id %q", ev.SocketID)
	}
	var data string
	if len(ev.Data) > 0 && ev.Data[0] == '"' {
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			return "", apiErr(http.StatusBadRequest, "data: %v", err)
		}
	} else {
		data = string(ev.Data)
	}
	if len(data) > s.cfg.MaxMessageBytes {
		return "", apiErr(http.StatusRequestEntityTooLarge, "event data is %d bytes, over the limit of %d", len(data), s.cfg.MaxMessageBytes)
	}
	return data, nil
}

func (s *Server) trigger(ctx context.Context, ev apiEvent, data string) error {
	for _, ch := range ev.Channels {
		if err := s.publishEvent(ctx, ch, ev.SocketID, eventFrame(ch, ev.Name, data)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	body, err := s.authenticate(r)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	var ev apiEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		s.writeAPIError(w, r, apiErr(http.StatusBadRequest, "body is not a JSON event: %v", err))
		return
	}
	data, err := s.checkEvent(&ev)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	if err := s.trigger(r.Context(), ev, data); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	info, _ := parseInfo(ev.Info)
	if info.empty() {
		writeJSON(w, http.StatusOK, struct{}{})
		return
	}
	out := make(map[string]map[string]int, len(ev.Channels))
	for _, ch := range ev.Channels {
		attrs, err := s.channelAttrs(r.Context(), ch, info)
		if err != nil {
			s.writeAPIError(w, r, err)
			return
		}
		out[ch] = attrs
	}
	writeJSON(w, http.StatusOK, map[string]any{"channels": out})
}

// infoAttrs is a parsed "info" parameter.
type infoAttrs struct {
	subscriptionCount, userCount bool
}

func (i infoAttrs) empty() bool { return !i.subscriptionCount && !i.userCount }

func parseInfo(v string) (infoAttrs, error) {
	var i infoAttrs
	if v == "" {
		return i, nil
	}
	for _, a := range strings.Split(v, ",") {
		switch strings.TrimSpace(a) {
		case "subscription_count":
			i.subscriptionCount = true
		case "user_count":
			i.userCount = true
		case "":
		default:
			return i, apiErr(http.StatusBadRequest, "unknown info attribute %q: subscription_count and user_count are known", truncate(a, 64))
		}
	}
	return i, nil
}

// channelAttrs counts what info asks for; user_count only exists for
// presence channels.
func (s *Server) channelAttrs(ctx context.Context, ch string, info infoAttrs) (map[string]int, error) {
	attrs := map[string]int{}
	if info.subscriptionCount {
		n, err := s.bus.subscriptionCount(ctx, ch)
		if err != nil {
			return nil, err
		}
		attrs["subscription_count"] = n
	}
	if info.userCount && channels.KindOf(ch) == channels.KindPresence {
		l, err := s.bus.presenceMembers(ctx, ch)
		if err != nil {
			return nil, err
		}
		attrs["user_count"] = l.Count
	}
	return attrs, nil
}

func (s *Server) serveBatchEvents(w http.ResponseWriter, r *http.Request) {
	body, err := s.authenticate(r)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	var b struct {
		Batch []apiEvent `json:"batch"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		s.writeAPIError(w, r, apiErr(http.StatusBadRequest, "body is not a JSON batch: %v", err))
		return
	}
	if len(b.Batch) == 0 || len(b.Batch) > maxBatchEvents {
		s.writeAPIError(w, r, apiErr(http.StatusBadRequest, "a batch holds 1 to %d events, not %d", maxBatchEvents, len(b.Batch)))
		return
	}
	datas := make([]string, len(b.Batch))
	for i := range b.Batch {
		if datas[i], err = s.checkEvent(&b.Batch[i]); err != nil {
			s.writeAPIError(w, r, fmt.Errorf("event %d: %w", i, err))
			return
		}
	}
	for i, ev := range b.Batch {
		if err := s.trigger(r.Context(), ev, datas[i]); err != nil {
			s.writeAPIError(w, r, err)
			return
		}
	}
	out := make([]map[string]int, len(b.Batch))
	for i, ev := range b.Batch {
		out[i] = map[string]int{}
		if info, _ := parseInfo(ev.Info); !info.empty() {
			attrs, err := s.channelAttrs(r.Context(), ev.Channels[0], info)
			if err != nil {
				s.writeAPIError(w, r, err)
				return
			}
			out[i] = attrs
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"batch": out})
}

func (s *Server) serveChannels(w http.ResponseWriter, r *http.Request) {
	if _, err := s.authenticate(r); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	q := r.URL.Query()
	prefix := q.Get("filter_by_prefix")
	info, err := parseInfo(q.Get("info"))
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	if info.userCount && !strings.HasPrefix(prefix, channels.PresencePrefix) {
		s.writeAPIError(w, r, apiErr(http.StatusBadRequest, "info=user_count needs filter_by_prefix=presence-: only presence channels have users"))
		return
	}
	chans, err := s.bus.occupiedChannels(r.Context())
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	out := map[string]map[string]int{}
	for _, ch := range chans {
		if !strings.HasPrefix(ch, prefix) || strings.HasPrefix(ch, channels.ServerToUserPrefix) {
			continue
		}
		attrs := map[string]int{}
		if !info.empty() {
			if attrs, err = s.channelAttrs(r.Context(), ch, info); err != nil {
				s.writeAPIError(w, r, err)
				return
			}
		}
		out[ch] = attrs
	}
	writeJSON(w, http.StatusOK, map[string]any{"channels": out})
}

func (s *Server) serveChannel(w http.ResponseWriter, r *http.Request) {
	if _, err := s.authenticate(r); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	name := r.PathValue("name")
	info, err := parseInfo(r.URL.Query().Get("info"))
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	if info.userCount && channels.KindOf(name) != channels.KindPresence {
		s.writeAPIError(w, r, apiErr(http.StatusBadRequest, "info=user_count is only for presence channels"))
		return
	}
	occ, err := s.bus.isOccupied(r.Context(), name)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	resp := map[string]any{"occupied": occ}
	if channels.KindOf(name) == channels.KindPresence {
		info.userCount = true // always given for presence channels, as before
	}
	attrs, err := s.channelAttrs(r.Context(), name, info)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	for k, v := range attrs {
		resp[k] = v
	}
	writeJSON(w, http.StatusOK, resp)
}

// serveConnections is Reverb's connection count over all replicas (the
// others' as of their last heartbeat).
func (s *Server) serveConnections(w http.ResponseWriter, r *http.Request) {
	if _, err := s.authenticate(r); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"connections": s.Stats().Connections + s.bus.othersApp()})
}

// serveTerminateTenant closes every socket subscribed to a tenant's
// channels (Palisade's own call, made when a tenant is suspended).
func (s *Server) serveTerminateTenant(w http.ResponseWriter, r *http.Request) {
	if _, err := s.authenticate(r); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	id, ok := channels.ParseID(r.PathValue("tenant"))
	if !ok {
		s.writeAPIError(w, r, apiErr(http.StatusBadRequest, "invalid tenant id %q", truncate(r.PathValue("tenant"), 64)))
		return
	}
	if err := s.TerminateTenant(r.Context(), id); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// serveTerminateUser closes every socket of a user on every replica:
// signed in as the user, a presence member as the user, or subscribed to
// the user's tenant user channel.
func (s *Server) serveTerminateUser(w http.ResponseWriter, r *http.Request) {
	if _, err := s.authenticate(r); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	id := r.PathValue("user")
	if !channels.ValidUserID(id) {
		s.writeAPIError(w, r, apiErr(http.StatusBadRequest, "invalid user id %q", truncate(id, 64)))
		return
	}
	if err := s.TerminateUser(r.Context(), id); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (s *Server) serveChannelUsers(w http.ResponseWriter, r *http.Request) {
	if _, err := s.authenticate(r); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	name := r.PathValue("name")
	if channels.KindOf(name) != channels.KindPresence {
		s.writeAPIError(w, r, apiErr(http.StatusBadRequest, "users are only listed for presence channels"))
		return
	}
	l, err := s.bus.presenceMembers(r.Context(), name)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	type user struct {
		ID string `json:"id"`
	}
	users := make([]user, 0, len(l.IDs))
	for _, id := range l.IDs {
		users = append(users, user{id})
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users})
}

// validEventChannel is a channel the HTTP API may publish to.
func validEventChannel(channel string) bool {
	if _, ok := channels.ServerToUser(channel); ok {
		return true
	}
	return channels.ValidChannelName(channel)
}
