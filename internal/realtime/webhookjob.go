package realtime

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/palisade-hq/palisade/internal/jobs"
)

// WebhookJobPayload is a batch of Pusher webhook events.
type WebhookJobPayload struct {
	Events []WebhookEvent `json:"events"`
}

// WebhookJob posts a batch to the configured webhook URL. The receiver
// sees at-least-once delivery (each event carries its own name, channel and
// time), which is what Pusher promises too. Single events are batched by
// the worker for a few seconds into one delivery, as Pusher batches its
// webhooks. Its name and options are persisted with queued jobs: never
// change them once deployed.
var WebhookJob = jobs.Define[WebhookJobPayload]("realtime.webhook", jobs.Options{
	Queue: jobs.QueueDefault, MaxAttempts: 10, Timeout: 30 * time.Second,
	Backoff: jobs.Backoff{Base: 2 * time.Second, Max: 5 * time.Minute},
})

// QueueSink is the server's WebhookSink in production: each event becomes
// a job, and the worker posts them in batches.
type QueueSink struct{ Client *jobs.Client }

var _ WebhookSink = QueueSink{}

// Enqueue queues ev for delivery.
func (s QueueSink) Enqueue(ctx context.Context, ev WebhookEvent) error {
	_, err := WebhookJob.Enqueue(ctx, s.Client, WebhookJobPayload{Events: []WebhookEvent{ev}}, jobs.Batched())
	return err
}

// WebhookTarget is where realtime webhooks go.
type WebhookTarget struct {
	URL, Key, Secret string
}

// RegisterWebhookJob wires the webhook job's handler: it posts to t with
// httpClient (the worker's guarded client: receivers are tenants' servers).
func RegisterWebhookJob(r *jobs.Registry, t WebhookTarget, httpClient *http.Client) {
	jobs.HandleBatched(r, WebhookJob, mergeWebhookBatch, func(ctx context.Context, p WebhookJobPayload) error {
		if t.URL == "" {
			return jobs.Permanent(fmt.Errorf("PALISADE_REALTIME_WEBHOOK_URL is not set on this worker"))
		}
		return DeliverWebhook(ctx, httpClient, t.URL, t.Key, t.Secret, p.Events)
	})
}

func mergeWebhookBatch(ps []WebhookJobPayload) WebhookJobPayload {
	var all WebhookJobPayload
	for _, p := range ps {
		all.Events = append(all.Events, p.Events...)
	}
	return all
}
