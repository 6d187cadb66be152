package jobs

import (
	"encoding/json"
	"log/slog"
	"reflect"
	"testing"

	"github.com/hibiken/asynq"
)

type fuzzBatch struct {
	Events []map[string]string `json:"events"`
}

// FuzzBatchAggregator: the worker's merge of a batch of two queued
// payloads, whatever bytes they hold. Properties: never a panic; the merged
// task keeps the job's type; its due time is the earliest of the payloads
// kept; and it holds exactly the well-formed payloads' items, in order.
func FuzzBatchAggregator(f *testing.F) {
	f.Add([]byte(`{"events":[{"name":"channel_occupied"}]}`), []byte(`{"events":[{"name":"member_added","user_id":"42"}]}`))
	f.Add([]byte(`{"events":[{"data":"{\"a\":\"\\u2028\"}"}]}`), []byte(`{"events":[]}`))
	f.Add([]byte(`{"events":[{"name":"x","channel":"\ud800"}]}`), []byte(`not json`))
	f.Add([]byte(`{"events":null}`), []byte(`{"events":[{"name":1}]}`))
	f.Add([]byte(`{"events":[{"user_id":"<script>"}]} trailing`), []byte(``))
	def := Define[fuzzBatch]("test.fuzz_batch", Options{})
	reg := NewRegistry()
	HandleBatched(reg, def, func(ps []fuzzBatch) fuzzBatch {
		var all fuzzBatch
		for _, p := range ps {
			all.Events = append(all.Events, p.Events...)
		}
		return all
	}, nil)
	aggregate := reg.aggregator[def.Name]
	log := slog.New(slog.DiscardHandler)

	f.Fuzz(func(t *testing.T, p1, p2 []byte) {
		var want []map[string]string
		wantDue := "0" // the earliest due time of the payloads kept
		for i, p := range [][]byte{p1, p2} {
			var dec fuzzBatch
			if json.Unmarshal(p, &dec) == nil {
				want = append(want, dec.Events...)
				wantDue = [...]string{"200", "100"}[i]
			}
		}
		agg := aggregate(log, []*asynq.Task{
			asynq.NewTaskWithHeaders(def.Name, p1, map[string]string{headerDueAt: "200"}),
			asynq.NewTaskWithHeaders(def.Name, p2, map[string]string{headerDueAt: "100"}),
		})
		if agg.Type() != def.Name {
			t.Fatalf("aggregated task type %q", agg.Type())
		}
		if agg.Headers()[headerDueAt] != wantDue {
			t.Fatalf("aggregated due-at %q, want the earliest of the kept payloads (%s)", agg.Headers()[headerDueAt], wantDue)
		}
		var got fuzzBatch
		if err := json.Unmarshal(agg.Payload(), &got); err != nil {
			t.Fatalf("aggregated payload %q does not decode: %v", agg.Payload(), err)
		}
		if len(got.Events) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got.Events, want)) {
			t.Fatalf("aggregated %d events %+v, want %+v", len(got.Events), got.Events, want)
		}
	})
}
