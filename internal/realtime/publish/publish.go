// Package publish triggers events on the realtime server through the Pusher
// HTTP API (POST /apps/<id>/events and /batch_events). The api and worker
// roles use it; it is equally able to talk to Pusher or Reverb.
package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/palisade-hq/palisade/internal/realtime/sign"
)

// MaxChannels is the protocol's limit of channels in one trigger.
const MaxChannels = 100

// Client signs and sends events. It is safe for concurrent use.
type Client struct {
	baseURL string
	appID   string
	key     string
	secret  string
	hc      *http.Client
	// Now is the clock used for auth_timestamp; tests may replace it.
	Now func() time.Time
}

// New returns a client for the server at baseURL (e.g. "http://realtime:8080").
// A nil httpClient uses one with a 10 s timeout.
func New(baseURL, appID, key, secret string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{
		baseURL: strings.TrimRight(baseURL, "/"),
		appID:   appID, key: key, secret: secret,
		hc:  httpClient,
		Now: time.Now,
	}
}

// Event is one event of a batch.
type Event struct {
	Channel  string `json:"channel"`
	Name     string `json:"name"`
	Data     string `json:"data"`
	SocketID string `json:"socket_id,omitempty"`
}

type triggerBody struct {
	Name     string   `json:"name"`
	Data     string   `json:"data"`
	Channels []string `json:"channels"`
	SocketID string   `json:"socket_id,omitempty"`
}

// APIError is a refusal by the server, with its status and message.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("realtime api: status %d: %s", e.Status, e.Message)
}

// Trigger sends event with data to channels. data is sent as is when it is a
// string or []byte and JSON-encoded otherwise, as the Pusher libraries do.
// excludeSocketID, when not empty, is the socket that must not receive it
// (the sender's own, so a browser that caused a change is not told twice).
func (c *Client) Trigger(ctx context.Context, channels []string, event string, data any, excludeSocketID string) error {
	if len(channels) == 0 {
		return errors.New("realtime trigger: no channels")
	}
	if len(channels) > MaxChannels {
		return fmt.Errorf("realtime trigger: %d channels, at most %d in one call", len(channels), MaxChannels)
	}
	s, err := encodeData(data)
	if err != nil {
		return fmt.Errorf("realtime trigger %q: %w", event, err)
	}
	body, err := json.Marshal(triggerBody{Name: event, Data: s, Channels: channels, SocketID: excludeSocketID})
	if err != nil {
		return fmt.Errorf("realtime trigger %q: %w", event, err)
	}
	return c.post(ctx, "/apps/"+c.appID+"/events", body)
}

// TriggerBatch sends several events in one request (at most 10 by protocol).
func (c *Client) TriggerBatch(ctx context.Context, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	body, err := json.Marshal(struct {
		Batch []Event `json:"batch"`
	}{events})
	if err != nil {
		return fmt.Errorf("realtime batch: %w", err)
	}
	return c.post(ctx, "/apps/"+c.appID+"/batch_events", body)
}

// TerminateUserConnections closes every socket of user userID on every
// replica (the Pusher API's terminate_connections): those signed in as the
// user, presence members as the user, and subscribers of the user's tenant
// user channel. They reconnect at once and must authorise again, which a
// removed member or a revoked session cannot.
func (c *Client) TerminateUserConnections(ctx context.Context, userID string) error {
	if userID == "" || strings.ContainsAny(userID, "/?#% ") {
		return fmt.Errorf("realtime terminate: invalid user id %q", userID)
	}
	return c.post(ctx, "/apps/"+c.appID+"/users/"+userID+"/terminate_connections", []byte("{}"))
}

// TerminateTenantConnections closes every socket subscribed to a channel of
// the tenant (Palisade's own endpoint; Pusher has none).
func (c *Client) TerminateTenantConnections(ctx context.Context, tenantID int64) error {
	if tenantID <= 0 {
		return fmt.Errorf("realtime terminate: invalid tenant id %d", tenantID)
	}
	return c.post(ctx, "/apps/"+c.appID+"/tenants/"+strconv.FormatInt(tenantID, 10)+"/terminate_connections", []byte("{}"))
}

func encodeData(data any) (string, error) {
	switch v := data.(type) {
	case string:
		return v, nil
	case []byte:
		return string(v), nil
	case json.RawMessage:
		return string(v), nil
	}
	b, err := json.Marshal(data)
	if err != nil {
		return "", fmt.Errorf("encode data: %w", err)
	}
	return string(b), nil
}

// SignedQuery returns the auth query parameters for a request; exported so
// tests and tools can build signed requests by hand.
func SignedQuery(key, secret, method, path string, body []byte, now time.Time) url.Values {
	q := url.Values{}
	q.Set("auth_key", key)
	q.Set("auth_timestamp", strconv.FormatInt(now.Unix(), 10))
	q.Set("auth_version", "1.0")
	if len(body) > 0 {
		q.Set("body_md5", sign.BodyMD5(body))
	}
	q.Set("auth_signature", sign.Request(secret, method, path, q))
	return q
}

func (c *Client) post(ctx context.Context, path string, body []byte) error {
	q := SignedQuery(c.key, c.secret, http.MethodPost, path, body, c.Now())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+path+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("realtime api: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("realtime api: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		m := strings.TrimSpace(string(msg))
		if json.Unmarshal(msg, &e) == nil && e.Error != "" {
			m = e.Error
		}
		return &APIError{Status: resp.StatusCode, Message: m}
	}
	return nil
}
