package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/hibiken/asynq"
)

// Batched queues the job to be merged with others of its type waiting in
// the worker (see HandleBatched) instead of running alone.
func Batched() EnqueueOption { return func(o *enqueueOpts) { o.batch = true } }

// HandleBatched is Handle for a job whose queued runs are merged: jobs of
// d enqueued with Batched wait a few seconds (at most 100 of them) and run
// as one job whose payload is merge of theirs, in queue order. A payload
// that does not decode is dropped from the batch and logged. The batch is
// keyed by d's name, so it too must never change once deployed.
func HandleBatched[P any](r *Registry, d Def[P], merge func([]P) P, fn func(ctx context.Context, p P) error) {
	Handle(r, d, fn)
	r.aggregator[d.Name] = func(log *slog.Logger, tasks []*asynq.Task) *asynq.Task {
		var ps []P
		due := int64(0)
		for _, t := range tasks {
			var p P
			if err := json.Unmarshal(t.Payload(), &p); err != nil {
				log.Error("batched job dropped: malformed payload", "job", d.Name, "err", err)
				continue
			}
			ps = append(ps, p)
			if v, err := strconv.ParseInt(t.Headers()[headerDueAt], 10, 64); err == nil && (due == 0 || v < due) {
				due = v
			}
		}
		body, _ := json.Marshal(merge(ps))
		h := map[string]string{headerDueAt: strconv.FormatInt(due, 10), headerEnqueuedAt: strconv.FormatInt(due, 10)}
		return asynq.NewTaskWithHeaders(d.Name, body, h, asyncOptions(d.Opts)...)
	}
}

// MergeBatch merges payloads as the worker merges a batch of name, outside
// any queue: tests use it to check a feature's merge with Run.
func (r *Registry) MergeBatch(name string, payloads ...[]byte) ([]byte, error) {
	agg, ok := r.aggregator[name]
	if !ok {
		return nil, fmt.Errorf("jobs: %q is not a batched job", name)
	}
	tasks := make([]*asynq.Task, len(payloads))
	for i, p := range payloads {
		tasks[i] = asynq.NewTask(name, p)
	}
	return agg(slog.New(slog.DiscardHandler), tasks).Payload(), nil
}
