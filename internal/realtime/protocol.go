package realtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Pusher protocol error and close codes. 4000–4099: the client must not
// reconnect; 4100–4199: reconnect after a back-off; 4200–4299: reconnect at
// once; 4300–4399: errors that do not close the connection.
const (
	CodeAppNotFound        = 4001
	CodeOverQuota          = 4004
	CodePathNotFound       = 4005
	CodeBadProtocolVersion = 4006
	CodeUnsupportedVersion = 4007
	CodeNoProtocolVersion  = 4008
	CodeUnauthorized       = 4009
	CodeOverCapacity       = 4100
	CodeReconnect          = 4200
	CodePongNotReceived    = 4201
	CodeClientEventRefused = 4301
)

// Protocol versions this server speaks (pusher-js sends 7).
const (
	minProtocol = 5
	maxProtocol = 7
)

// ClientMessage is one message from a client: {"event", "channel", "data"}.
type ClientMessage struct {
	Event   string
	Channel string
	// Data is the raw JSON of "data" (object, string or anything), or nil.
	Data json.RawMessage
}

var (
	errNotJSONObject = errors.New("message is not a JSON object")
	errNoEvent       = errors.New("message has no event name")
)

// ParseClientMessage decodes a client frame. It accepts exactly one JSON
// object with a string "event"; "channel" must be a string when present.
func ParseClientMessage(b []byte) (ClientMessage, error) {
	var raw struct {
		Event   *string         `json:"event"`
		Channel *string         `json:"channel"`
		Data    json.RawMessage `json:"data"`
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return ClientMessage{}, errNotJSONObject
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&raw); err != nil {
		return ClientMessage{}, fmt.Errorf("invalid JSON: %w", err)
	}
	if dec.More() {
		return ClientMessage{}, errors.New("trailing data after the JSON object")
	}
	if raw.Event == nil || *raw.Event == "" {
		return ClientMessage{}, errNoEvent
	}
	m := ClientMessage{Event: *raw.Event, Data: raw.Data}
	if raw.Channel != nil {
		m.Channel = *raw.Channel
	}
	if bytes.Equal(m.Data, []byte("null")) {
		m.Data = nil
	}
	return m, nil
}

// subscribeData is the data of pusher:subscribe / pusher:unsubscribe.
type subscribeData struct {
	Channel     string `json:"channel"`
	Auth        string `json:"auth"`
	ChannelData string `json:"channel_data"`
}

// parseSubscribeData accepts the data as an object (pusher-js) or as a string
// holding the object (some other clients).
func parseSubscribeData(raw json.RawMessage) (subscribeData, error) {
	var d subscribeData
	if len(raw) == 0 {
		return d, errors.New("no data")
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return d, fmt.Errorf("data: %w", err)
		}
		raw = json.RawMessage(s)
	}
	var loose struct {
		Channel     string          `json:"channel"`
		Auth        string          `json:"auth"`
		ChannelData json.RawMessage `json:"channel_data"`
	}
	if err := json.Unmarshal(raw, &loose); err != nil {
		return d, fmt.Errorf("data: %w", err)
	}
	d.Channel, d.Auth = loose.Channel, loose.Auth
	if len(loose.ChannelData) > 0 && loose.ChannelData[0] == '"' {
		if err := json.Unmarshal(loose.ChannelData, &d.ChannelData); err != nil {
			return d, fmt.Errorf("channel_data: %w", err)
		}
	} else if len(loose.ChannelData) > 0 && string(loose.ChannelData) != "null" {
		// The signature covers the exact string, so an object can only be
		// verified if the client signed its compact form; keep it as sent.
		d.ChannelData = string(loose.ChannelData)
	}
	if d.Channel == "" {
		return d, errors.New("no channel")
	}
	return d, nil
}

// presenceData is the decoded channel_data of a presence subscription.
type presenceData struct {
	UserID   string
	UserInfo json.RawMessage
}

// parsePresenceData reads {"user_id": string or number, "user_info": any}.
func parsePresenceData(s string) (presenceData, error) {
	var raw struct {
		UserID   json.RawMessage `json:"user_id"`
		UserInfo json.RawMessage `json:"user_info"`
	}
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return presenceData{}, fmt.Errorf("channel_data: %w", err)
	}
	var p presenceData
	switch {
	case len(raw.UserID) == 0 || string(raw.UserID) == "null":
		return p, errors.New("channel_data has no user_id")
	case raw.UserID[0] == '"':
		if err := json.Unmarshal(raw.UserID, &p.UserID); err != nil {
			return p, fmt.Errorf("channel_data user_id: %w", err)
		}
	default:
		var n json.Number
		if err := json.Unmarshal(raw.UserID, &n); err != nil {
			return p, errors.New("channel_data user_id is neither a string nor a number")
		}
		p.UserID = n.String()
	}
	if p.UserID == "" || strings.ContainsAny(p.UserID, "\x00\n") {
		return p, errors.New("channel_data user_id is empty or has control characters")
	}
	p.UserInfo = raw.UserInfo
	if len(p.UserInfo) == 0 {
		p.UserInfo = json.RawMessage("null")
	}
	return p, nil
}

// serverFrame is a message to a client. Data is already the final JSON
// value: a JSON string for events (the protocol double-encodes), or an
// object for pusher:error.
type serverFrame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
	UserID  string          `json:"user_id,omitempty"`
}

func encodeFrame(f serverFrame) []byte {
	b, err := json.Marshal(f)
	if err != nil {
		// Only invalid RawMessage can fail; callers build Data with
		// jsonString or json.Marshal, so this is a programming error.
		panic(fmt.Sprintf("realtime: encode frame %q: %v", f.Event, err))
	}
	return b
}

// jsonString encodes s as a JSON string value.
func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// jsonStringOf encodes v and wraps the result as a JSON string, the form of
// "data" in pusher: and pusher_internal: events.
func jsonStringOf(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("realtime: encode data: %v", err))
	}
	return jsonString(string(b))
}

// eventFrame is a channel event as the HTTP API publishes it.
func eventFrame(channel, event, data string) []byte {
	return encodeFrame(serverFrame{Event: event, Channel: channel, Data: jsonString(data)})
}

// errorFrame is pusher:error. code 0 is sent as null.
func errorFrame(code int, msg string) []byte {
	type errData struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	}
	d := errData{Message: msg}
	if code != 0 {
		d.Code = &code
	}
	b, _ := json.Marshal(d)
	return encodeFrame(serverFrame{Event: "pusher:error", Data: b})
}

// subscriptionErrorFrame is the channel-scoped refusal laravel-echo's
// .error() callback listens to (pusher:subscription_error), shaped like the
// one pusher-js raises itself when its auth request fails.
func subscriptionErrorFrame(channel string, status int, msg string) []byte {
	b, _ := json.Marshal(struct {
		Type   string `json:"type"`
		Error  string `json:"error"`
		Status int    `json:"status"`
	}{"AuthError", msg, status})
	return encodeFrame(serverFrame{Event: "pusher:subscription_error", Channel: channel, Data: b})
}
