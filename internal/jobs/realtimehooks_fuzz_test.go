package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/palisade-hq/palisade/internal/realtime"
)

// FuzzRealtimeWebhook: the worker's side of realtime webhooks. Two queued
// payloads (whatever bytes they hold) go through the group aggregator, then
// the job handler posts the result to a receiver that checks the signature
// the way a customer's endpoint would (realtime.VerifyWebhook) and decodes
// the body. Properties: a malformed payload is dropped by the aggregator and
// is a permanent failure for the handler, never a panic; the aggregated
// batch holds exactly the events of the well-formed payloads, in order; and
// what the receiver gets is signed, decodes as a Pusher webhook body and
// carries those events unchanged.
func FuzzRealtimeWebhook(f *testing.F) {
	one := func(evs ...realtime.WebhookEvent) []byte {
		b, _ := json.Marshal(RealtimeWebhookPayload{Events: evs})
		return b
	}
	f.Add(one(realtime.WebhookEvent{Name: realtime.HookChannelOccupied, Channel: "private-tenant.1.files"}),
		one(realtime.WebhookEvent{Name: realtime.HookMemberAdded, Channel: "presence-tenant.1.room", UserID: "42"}))
	f.Add(one(realtime.WebhookEvent{Name: realtime.HookClientEvent, Channel: "private-tenant.1.x", Event: "client-typing", Data: "{\"a\":\"\\u2028\"}", SocketID: "1.2"}), []byte(`{"events":[]}`))
	f.Add([]byte(`{"events":[{"name":"x","channel":"\ud800"}]}`), []byte(`not json`))
	f.Add([]byte(`{"events":null}`), []byte(`{"events":[{"name":1}]}`))
	f.Add([]byte(`{"events":[{"name":"a","user_id":"<script>"}]} trailing`), []byte(``))

	var (
		mu       sync.Mutex
		received []realtime.WebhookBody
		badSig   int
	)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if !realtime.VerifyWebhook("hook-key", "hook-secret", r.Header, body) {
			badSig++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var b realtime.WebhookBody
		if err := json.Unmarshal(body, &b); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		received = append(received, b)
	}))
	f.Cleanup(recv.Close)
	reg := NewRegistry()
	registerRealtime(reg, Deps{
		Log:     slog.New(slog.DiscardHandler),
		HTTP:    recv.Client(),
		Webhook: WebhookTarget{URL: recv.URL, Key: "hook-key", Secret: "hook-secret"},
	})
	aggregate := reg.aggregator[realtimeWebhookGroup]
	run := reg.entries[RealtimeWebhook.Name].run

	f.Fuzz(func(t *testing.T, p1, p2 []byte) {
		var want []realtime.WebhookEvent
		wantDue := "0" // the earliest due time of the payloads kept
		for i, p := range [][]byte{p1, p2} {
			var dec RealtimeWebhookPayload
			if json.Unmarshal(p, &dec) == nil {
				want = append(want, dec.Events...)
				wantDue = [...]string{"200", "100"}[i]
			}
		}
		tasks := []*asynq.Task{
			asynq.NewTaskWithHeaders(RealtimeWebhook.Name, p1, map[string]string{headerDueAt: "200"}),
			asynq.NewTaskWithHeaders(RealtimeWebhook.Name, p2, map[string]string{headerDueAt: "100"}),
		}
		agg := aggregate(tasks)
		if agg.Type() != RealtimeWebhook.Name {
			t.Fatalf("aggregated task type %q", agg.Type())
		}
		if agg.Headers()[headerDueAt] != wantDue {
			t.Fatalf("aggregated due-at %q, want the earliest of the kept payloads (%s)", agg.Headers()[headerDueAt], wantDue)
		}
		var got RealtimeWebhookPayload
		if err := json.Unmarshal(agg.Payload(), &got); err != nil {
			t.Fatalf("aggregated payload %q does not decode: %v", agg.Payload(), err)
		}
		if len(got.Events) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got.Events, want)) {
			t.Fatalf("aggregated %d events %+v, want %+v", len(got.Events), got.Events, want)
		}

		// Each raw payload through the handler: malformed is permanent.
		for _, p := range [][]byte{p1, p2, agg.Payload()} {
			var dec RealtimeWebhookPayload
			decErr := json.Unmarshal(p, &dec)
			mu.Lock()
			received, badSig = received[:0], 0
			mu.Unlock()
			err := run(context.Background(), p)
			mu.Lock()
			gotBodies, bad := append([]realtime.WebhookBody(nil), received...), badSig
			mu.Unlock()
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
				if len(gotBodies) != 0 {
					t.Fatalf("empty batch %q was posted", p)
				}
				continue
			}
			if len(gotBodies) != 1 || gotBodies[0].TimeMS <= 0 || !reflect.DeepEqual(gotBodies[0].Events, dec.Events) {
				t.Fatalf("payload %q: receiver got %+v, want one body with %+v", p, gotBodies, dec.Events)
			}
		}
	})
}
