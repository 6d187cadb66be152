package realtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/jobs/jobstest"
	"github.com/palisade-hq/palisade/internal/realtime"
)

// hookReceiver records signed deliveries, as a customer's endpoint checks them.
type hookReceiver struct {
	mu     sync.Mutex
	bodies []realtime.WebhookBody
	badSig int
	srv    *httptest.Server
}

func newHookReceiver(t testing.TB) *hookReceiver {
	hr := &hookReceiver{}
	hr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hr.mu.Lock()
		defer hr.mu.Unlock()
		if !realtime.VerifyWebhook("hook-key", "hook-secret", r.Header, b) {
			hr.badSig++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var body realtime.WebhookBody
		if err := json.Unmarshal(b, &body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		hr.bodies = append(hr.bodies, body)
	}))
	t.Cleanup(hr.srv.Close)
	return hr
}

func (hr *hookReceiver) take() ([]realtime.WebhookBody, int) {
	hr.mu.Lock()
	defer hr.mu.Unlock()
	b, n := hr.bodies, hr.badSig
	hr.bodies, hr.badSig = nil, 0
	return b, n
}

func (hr *hookReceiver) target() realtime.WebhookTarget {
	return realtime.WebhookTarget{URL: hr.srv.URL, Key: "hook-key", Secret: "hook-secret"}
}

// TestQueueSinkDeliversOneBatch: events given to the sink reach the
// receiver as one signed batch, through the queue and a worker.
func TestQueueSinkDeliversOneBatch(t *testing.T) {
	rdb, _ := jobstest.Redis(t)
	recv := newHookReceiver(t)
	reg := jobs.NewRegistry()
	realtime.RegisterWebhookJob(reg, recv.target(), recv.srv.Client())
	w := jobs.NewWorker(rdb, reg, jobs.WorkerConfig{Concurrency: 2, Drain: 5 * time.Second, PollInterval: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	c := jobs.NewClient(rdb)
	t.Cleanup(func() { c.Close() })

	sink := realtime.QueueSink{Client: c}
	sent := map[string]bool{}
	for _, ch := range []string{"private-tenant.1.a", "private-tenant.1.b", "presence-tenant.1.c"} {
		if err := sink.Enqueue(context.Background(), realtime.WebhookEvent{Name: realtime.HookChannelOccupied, Channel: ch}); err != nil {
			t.Fatal(err)
		}
		sent[ch] = true
	}
	var got []realtime.WebhookBody
	for deadline := time.Now().Add(60 * time.Second); len(got) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("gave up waiting for the batch")
		}
		b, bad := recv.take()
		if bad != 0 {
			t.Fatalf("%d deliveries with a bad signature", bad)
		}
		got = b
	}
	if len(got) != 1 || len(got[0].Events) != 3 {
		t.Fatalf("want one batch of 3 events, got %+v", got)
	}
	for _, ev := range got[0].Events {
		delete(sent, ev.Channel)
	}
	if len(sent) != 0 {
		t.Fatalf("events lost: %v (got %+v)", sent, got)
	}
}

// TestWebhookJobNeedsURL: a worker without PALISADE_REALTIME_WEBHOOK_URL
// fails the job for good rather than retrying it.
func TestWebhookJobNeedsURL(t *testing.T) {
	reg := jobs.NewRegistry()
	realtime.RegisterWebhookJob(reg, realtime.WebhookTarget{}, nil)
	err := reg.Run(context.Background(), realtime.WebhookJob.Name, []byte(`{"events":[{"name":"channel_occupied","channel":"private-tenant.1.x"}]}`))
	if err == nil || !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("without a URL: %v, want a permanent failure", err)
	}
}

// FuzzWebhookJob: the worker's side of realtime webhooks. Two queued
// payloads (whatever bytes they hold) are merged as the worker merges a
// batch, then the job handler posts each payload and the merge to a
// receiver that checks the signature the way a customer's endpoint would
// (realtime.VerifyWebhook) and decodes the body. Properties: a malformed
// payload is dropped from the batch and is a permanent failure for the
// handler, never a panic; the batch holds exactly the events of the
// well-formed payloads, in order; and what the receiver gets is signed,
// decodes as a Pusher webhook body and carries those events unchanged. A
// repeated delivery carries the same events (receivers dedupe on them).
func FuzzWebhookJob(f *testing.F) {
	one := func(evs ...realtime.WebhookEvent) []byte {
		b, _ := json.Marshal(realtime.WebhookJobPayload{Events: evs})
		return b
	}
	f.Add(one(realtime.WebhookEvent{Name: realtime.HookChannelOccupied, Channel: "private-tenant.1.files"}),
		one(realtime.WebhookEvent{Name: realtime.HookMemberAdded, Channel: "presence-tenant.1.room", UserID: "42"}))
	f.Add(one(realtime.WebhookEvent{Name: realtime.HookClientEvent, Channel: "private-tenant.1.x", Event: "client-typing", Data: "{\"a\":\"\\u2028\"}", SocketID: "1.2"}), []byte(`{"events":[]}`))
	f.Add([]byte(`{"events":[{"name":"x","channel":"\ud800"}]}`), []byte(`not json`))
	f.Add([]byte(`{"events":null}`), []byte(`{"events":[{"name":1}]}`))
	f.Add([]byte(`{"events":[{"name":"a","user_id":"<script>"}]} trailing`), []byte(``))

	recv := newHookReceiver(f)
	reg := jobs.NewRegistry()
	realtime.RegisterWebhookJob(reg, recv.target(), recv.srv.Client())

	f.Fuzz(func(t *testing.T, p1, p2 []byte) {
		var want []realtime.WebhookEvent
		for _, p := range [][]byte{p1, p2} {
			var dec realtime.WebhookJobPayload
			if json.Unmarshal(p, &dec) == nil {
				want = append(want, dec.Events...)
			}
		}
		merged, err := reg.MergeBatch(realtime.WebhookJob.Name, p1, p2)
		if err != nil {
			t.Fatal(err)
		}
		var got realtime.WebhookJobPayload
		if err := json.Unmarshal(merged, &got); err != nil {
			t.Fatalf("merged payload %q does not decode: %v", merged, err)
		}
		if len(got.Events) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got.Events, want)) {
			t.Fatalf("merged %d events %+v, want %+v", len(got.Events), got.Events, want)
		}

		// Each raw payload through the handler: malformed is permanent.
		for _, p := range [][]byte{p1, p2, merged, merged} {
			var dec realtime.WebhookJobPayload
			decErr := json.Unmarshal(p, &dec)
			recv.take()
			err := reg.Run(context.Background(), realtime.WebhookJob.Name, p)
			bodies, bad := recv.take()
			if decErr != nil {
				if err == nil || !errors.Is(err, asynq.SkipRetry) {
					t.Fatalf("malformed payload %q: err %v, want a permanent failure", p, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("payload %q: %v", p, err)
			}
			if bad != 0 {
				t.Fatalf("payload %q: receiver saw a bad signature", p)
			}
			if len(dec.Events) == 0 {
				if len(bodies) != 0 {
					t.Fatalf("empty batch %q was posted", p)
				}
				continue
			}
			if len(bodies) != 1 || bodies[0].TimeMS <= 0 || !reflect.DeepEqual(bodies[0].Events, dec.Events) {
				t.Fatalf("payload %q: receiver got %+v, want one body with %+v", p, bodies, dec.Events)
			}
		}
	})
}
