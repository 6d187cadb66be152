package realtime

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/palisade-hq/palisade/internal/realtime/sign"
)

// Webhook event names of the Pusher protocol.
const (
	HookChannelOccupied = "channel_occupied"
	HookChannelVacated  = "channel_vacated"
	HookMemberAdded     = "member_added"
	HookMemberRemoved   = "member_removed"
	HookClientEvent     = "client_event"
	HookCacheMiss       = "cache_miss"
)

// WebhookEvent is one event of a webhook body, in the protocol's JSON form.
type WebhookEvent struct {
	Name     string `json:"name"`
	Channel  string `json:"channel"`
	UserID   string `json:"user_id,omitempty"`
	Event    string `json:"event,omitempty"`
	Data     string `json:"data,omitempty"`
	SocketID string `json:"socket_id,omitempty"`
}

// WebhookSink takes webhook events off the socket loop: the jobs queue in
// production, which batches them and calls DeliverWebhook with retries.
// Enqueue may block briefly; the server calls it from its own goroutine.
type WebhookSink interface {
	Enqueue(ctx context.Context, ev WebhookEvent) error
}

// webhookEmitter hands events to the sink from one goroutine through a
// bounded buffer; when the buffer is full the event is dropped and counted,
// because a socket must never wait for a webhook.
type webhookEmitter struct {
	sink WebhookSink
	ch   chan WebhookEvent
	log  *slog.Logger
	m    *metrics
}

func newWebhookEmitter(sink WebhookSink, buffer int, log *slog.Logger, m *metrics) *webhookEmitter {
	return &webhookEmitter{sink: sink, ch: make(chan WebhookEvent, buffer), log: log, m: m}
}

// emit never blocks. A nil emitter (webhooks off) ignores the event.
func (e *webhookEmitter) emit(ev WebhookEvent) {
	if e == nil {
		return
	}
	select {
	case e.ch <- ev:
	default:
		e.m.webhooksDrop.Inc()
	}
}

func (e *webhookEmitter) run(ctx context.Context) {
	for {
		select {
		case ev := <-e.ch:
			e.deliver(ev)
		case <-ctx.Done():
			// Hand over what is already buffered, within a bound.
			deadline := time.After(5 * time.Second)
			for {
				select {
				case ev := <-e.ch:
					e.deliver(ev)
				case <-deadline:
					return
				default:
					return
				}
			}
		}
	}
}

func (e *webhookEmitter) deliver(ev WebhookEvent) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.sink.Enqueue(ctx, ev); err != nil {
		e.log.Error("realtime webhook enqueue", "webhook", ev.Name, "channel", ev.Channel, "err", err)
	}
}

// WebhookBody is the JSON a webhook posts.
type WebhookBody struct {
	TimeMS int64          `json:"time_ms"`
	Events []WebhookEvent `json:"events"`
}

// DeliverWebhook posts batch to url as one Pusher webhook, signed with
// X-Pusher-Key and X-Pusher-Signature (hex HMAC-SHA256 of the body with
// secret). Any status but 2xx is an error, so the caller's queue retries it
// with back-off. A nil httpClient uses one with a 10 s timeout.
func DeliverWebhook(ctx context.Context, httpClient *http.Client, url, key, secret string, batch []WebhookEvent) error {
	if len(batch) == 0 {
		return nil
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 10 * time.Second}
	}
	body, err := json.Marshal(WebhookBody{TimeMS: time.Now().UnixMilli(), Events: batch})
	if err != nil {
		return fmt.Errorf("realtime webhook: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("realtime webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Pusher-Key", key)
	req.Header.Set("X-Pusher-Signature", sign.Webhook(secret, body))
	resp, err := httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("realtime webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("realtime webhook: %s answered %d", url, resp.StatusCode)
	}
	return nil
}

// VerifyWebhook checks a received webhook's signature; receivers (and tests)
// use it.
func VerifyWebhook(key, secret string, h http.Header, body []byte) bool {
	return h.Get("X-Pusher-Key") == key && sign.Equal(h.Get("X-Pusher-Signature"), sign.Webhook(secret, body))
}
