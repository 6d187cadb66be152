package jobs_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/jobs"
)

type batchPayload struct {
	Items []string `json:"items"`
}

var batchJob = jobs.Define[batchPayload]("test.batch", jobs.Options{Queue: jobs.QueueDefault, MaxAttempts: 3, Backoff: jobs.Backoff{Base: 100 * time.Millisecond, Max: 200 * time.Millisecond}})

func mergeBatch(ps []batchPayload) batchPayload {
	var all batchPayload
	for _, p := range ps {
		all.Items = append(all.Items, p.Items...)
	}
	return all
}

// TestBatchedJobsMergeAndRetry: jobs enqueued Batched run as one merged
// job, which is retried as a whole after a failure.
func TestBatchedJobsMergeAndRetry(t *testing.T) {
	h := newHarness(t)
	var (
		mu   sync.Mutex
		runs []batchPayload
	)
	jobs.HandleBatched(h.reg, batchJob, mergeBatch, func(_ context.Context, p batchPayload) error {
		mu.Lock()
		defer mu.Unlock()
		runs = append(runs, p)
		if len(runs) == 1 {
			return errors.New("receiver busy")
		}
		return nil
	})
	h.startWorker(t)
	sent := []string{"a", "b", "c"}
	for _, it := range sent {
		if _, err := batchJob.Enqueue(context.Background(), h.client, batchPayload{Items: []string{it}}, jobs.Batched()); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the batch to succeed", func() bool { mu.Lock(); defer mu.Unlock(); return len(runs) >= 2 })
	mu.Lock()
	defer mu.Unlock()
	for i, r := range runs {
		got := slices.Clone(r.Items)
		slices.Sort(got)
		if !slices.Equal(got, sent) {
			t.Fatalf("run %d got %v, want one batch of %v", i+1, r.Items, sent)
		}
	}
	if len(runs) != 2 {
		t.Fatalf("%d runs, want 2 (one failure, one retry)", len(runs))
	}
	if n := h.counter(t, "palisade_jobs_retried_total", batchJob.Name); n != 1 {
		t.Fatalf("retried %v times, want 1", n)
	}
}

// TestMergeBatchDropsMalformed: a payload that does not decode is left out
// of the batch; the others keep their order.
func TestMergeBatchDropsMalformed(t *testing.T) {
	reg := jobs.NewRegistry()
	jobs.HandleBatched(reg, batchJob, mergeBatch, func(context.Context, batchPayload) error { return nil })
	got, err := reg.MergeBatch(batchJob.Name, []byte(`{"items":["x"]}`), []byte(`not json`), []byte(`{"items":["y","z"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"items":["x","y","z"]}` {
		t.Fatalf("merged %s", got)
	}
	if _, err := reg.MergeBatch("test.nobody"); err == nil {
		t.Fatal("MergeBatch of an unbatched job succeeded")
	}
}
