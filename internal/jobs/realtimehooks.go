package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"github.com/palisade-hq/palisade/internal/realtime"
)

// RealtimeWebhookPayload is a batch of Pusher webhook events.
type RealtimeWebhookPayload struct {
	Events []realtime.WebhookEvent `json:"events"`
}

// RealtimeWebhook posts a batch to the configured webhook URL. The
// receiver sees at-least-once delivery (each event carries its own name,
// channel and time), which is what Pusher promises too.
var RealtimeWebhook = Define[RealtimeWebhookPayload]("realtime.webhook", Options{
	Queue: QueueDefault, MaxAttempts: 10, Timeout: 30 * time.Second,
	Backoff: Backoff{Base: 2 * time.Second, Max: 5 * time.Minute},
})

// realtimeWebhookGroup collects single events for up to a few seconds
// into one delivery, as Pusher batches its webhooks.
const realtimeWebhookGroup = "realtime.webhook"

// WebhookSink is the realtime server's realtime.WebhookSink: each event
// becomes a job, and the worker posts them in batches.
type WebhookSink struct{ Client *Client }

var _ realtime.WebhookSink = WebhookSink{}

// Enqueue queues ev for delivery.
func (s WebhookSink) Enqueue(ctx context.Context, ev realtime.WebhookEvent) error {
	body, err := json.Marshal(RealtimeWebhookPayload{Events: []realtime.WebhookEvent{ev}})
	if err != nil {
		return fmt.Errorf("jobs: encode webhook event: %w", err)
	}
	_, err = s.Client.enqueue(ctx, RealtimeWebhook.Name, RealtimeWebhook.Opts, body, inGroup(realtimeWebhookGroup))
	return err
}

func registerRealtime(r *Registry, d Deps) {
	Handle(r, RealtimeWebhook, func(ctx context.Context, p RealtimeWebhookPayload) error {
		if d.Webhook.URL == "" {
			return Permanent(fmt.Errorf("PALISADE_REALTIME_WEBHOOK_URL is not set on this worker"))
		}
		return realtime.DeliverWebhook(ctx, d.HTTP, d.Webhook.URL, d.Webhook.Key, d.Webhook.Secret, p.Events)
	})
	r.aggregator[realtimeWebhookGroup] = func(tasks []*asynq.Task) *asynq.Task {
		var all RealtimeWebhookPayload
		due := int64(0)
		for _, t := range tasks {
			var p RealtimeWebhookPayload
			if err := json.Unmarshal(t.Payload(), &p); err != nil {
				d.Log.Error("realtime webhook event dropped: malformed payload", "err", err)
				continue
			}
			all.Events = append(all.Events, p.Events...)
			if v, err := strconv.ParseInt(t.Headers()[headerDueAt], 10, 64); err == nil && (due == 0 || v < due) {
				due = v
			}
		}
		body, _ := json.Marshal(all)
		h := map[string]string{headerDueAt: strconv.FormatInt(due, 10), headerEnqueuedAt: strconv.FormatInt(due, 10)}
		return asynq.NewTaskWithHeaders(RealtimeWebhook.Name, body, h, asyncOptions(RealtimeWebhook.Opts)...)
	}
}
