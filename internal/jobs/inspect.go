package jobs

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/core"
)

// QueueStats is one queue's state for HQ.
type QueueStats struct {
	Name           string  `json:"name"`
	Weight         int     `json:"weight"`
	Pending        int     `json:"pending"`
	Active         int     `json:"active"`
	Scheduled      int     `json:"scheduled"`
	Retry          int     `json:"retry"`
	Dead           int     `json:"dead"`
	Completed      int     `json:"completed"`
	ProcessedToday int     `json:"processed_today"`
	FailedToday    int     `json:"failed_today"`
	ProcessedTotal int     `json:"processed_total"`
	FailedTotal    int     `json:"failed_total"`
	Paused         bool    `json:"paused"`
	LatencySeconds float64 `json:"latency_seconds"`
}

// Job is a queued job as HQ shows it.
type Job struct {
	ID    string `json:"id"`
	Queue string `json:"queue"`
	Type  string `json:"type"`
	// State is pending, active, scheduled, retry, dead or completed.
	State string `json:"state"`
	// Payload is the JSON payload, cut at 512 bytes.
	Payload      string     `json:"payload"`
	Attempts     int        `json:"attempts"`
	MaxAttempts  int        `json:"max_attempts"`
	LastError    string     `json:"last_error,omitempty"`
	LastFailedAt *time.Time `json:"last_failed_at,omitempty"`
	NextRunAt    *time.Time `json:"next_run_at,omitempty"`
}

// Inspector reads and changes queue state for HQ.
type Inspector struct{ insp *asynq.Inspector }

// NewInspector works on rdb; it is cheap, so callers may make one per request.
func NewInspector(rdb redis.UniversalClient) *Inspector {
	return &Inspector{insp: asynq.NewInspectorFromRedisClient(rdb)}
}

// ValidQueue checks a queue name from a request.
func ValidQueue(q string) error {
	if _, ok := QueueWeights[q]; !ok {
		return core.Invalid("queue", "queue must be one of critical, default, low")
	}
	return nil
}

// Job IDs are asynq's UUIDs or our own "periodic:<job>:<tick>".
var jobIDRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,200}$`)

// ValidJobID checks a job ID from a request.
func ValidJobID(id string) error {
	if !jobIDRE.MatchString(id) {
		return core.Invalid("id", "job id must be 1 to 200 letters, digits, dots, colons, hyphens or underscores")
	}
	return nil
}

// queueStats reads one queue. A queue nothing was ever enqueued on does
// not exist in Redis yet; it reads as empty.
func queueStats(_ context.Context, insp *asynq.Inspector, q string) (QueueStats, error) {
	st := QueueStats{Name: q, Weight: QueueWeights[q]}
	known, err := insp.Queues()
	if err != nil {
		return st, err
	}
	if !slices.Contains(known, q) {
		return st, nil
	}
	info, err := insp.GetQueueInfo(q)
	if err != nil {
		return st, err
	}
	st.Pending, st.Active, st.Scheduled, st.Retry, st.Dead, st.Completed = info.Pending, info.Active, info.Scheduled, info.Retry, info.Archived, info.Completed
	st.ProcessedToday, st.FailedToday, st.ProcessedTotal, st.FailedTotal = info.Processed, info.Failed, info.ProcessedTotal, info.FailedTotal
	st.Paused, st.LatencySeconds = info.Paused, info.Latency.Seconds()
	return st, nil
}

// Overview is every queue's counts and the latest failures (jobs waiting
// to retry and dead ones), newest first.
func (i *Inspector) Overview(ctx context.Context, failures int) ([]QueueStats, []Job, error) {
	var qs []QueueStats
	var fails []Job
	for _, q := range QueueNames {
		st, err := queueStats(ctx, i.insp, q)
		if err != nil {
			return nil, nil, err
		}
		qs = append(qs, st)
		retry, err := i.insp.ListRetryTasks(q, asynq.PageSize(failures))
		if err != nil && !errors.Is(err, asynq.ErrQueueNotFound) {
			return nil, nil, err
		}
		dead, err := newestFirst(func(o ...asynq.ListOption) ([]*asynq.TaskInfo, error) { return i.insp.ListArchivedTasks(q, o...) }, st.Dead, 1, failures)
		if err != nil {
			return nil, nil, err
		}
		for _, t := range append(retry, dead...) {
			fails = append(fails, toJob(t))
		}
	}
	sort.SliceStable(fails, func(a, b int) bool { return after(fails[a].LastFailedAt, fails[b].LastFailedAt) })
	if len(fails) > failures {
		fails = fails[:failures]
	}
	return qs, fails, nil
}

func after(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a != nil
	}
	return a.After(*b)
}

// Dead lists a queue's dead jobs, newest first, and how many there are.
func (i *Inspector) Dead(ctx context.Context, queue string, page, perPage int) ([]Job, int, error) {
	if err := ValidQueue(queue); err != nil {
		return nil, 0, err
	}
	st, err := queueStats(ctx, i.insp, queue)
	if err != nil {
		return nil, 0, err
	}
	ts, err := newestFirst(func(o ...asynq.ListOption) ([]*asynq.TaskInfo, error) { return i.insp.ListArchivedTasks(queue, o...) }, st.Dead, page, perPage)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Job, 0, len(ts))
	for _, t := range ts {
		out = append(out, toJob(t))
	}
	return out, st.Dead, nil
}

// errNotDead refuses an action meant for dead jobs on a live one.
var errNotDead = &core.Error{Kind: core.KindConflict, Message: "the job is not dead (it is pending, running or retrying); only dead jobs can be retried or deleted here"}

func (i *Inspector) deadJob(queue, id string) (Job, error) {
	if err := ValidQueue(queue); err != nil {
		return Job{}, err
	}
	if err := ValidJobID(id); err != nil {
		return Job{}, err
	}
	t, err := i.insp.GetTaskInfo(queue, id)
	if errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound) {
		return Job{}, core.ErrNotFound
	}
	if err != nil {
		return Job{}, err
	}
	if t.State != asynq.TaskStateArchived {
		return toJob(t), errNotDead
	}
	return toJob(t), nil
}

// RetryDead puts a dead job back on its queue for one more attempt; if
// that fails too the job is dead again.
func (i *Inspector) RetryDead(ctx context.Context, queue, id string) (Job, error) {
	j, err := i.deadJob(queue, id)
	if err != nil {
		return j, err
	}
	if err := i.insp.RunTask(queue, id); err != nil {
		if errors.Is(err, asynq.ErrTaskNotFound) {
			return j, core.ErrNotFound
		}
		return j, err
	}
	j.State = "pending"
	return j, nil
}

// DeleteDead removes a dead job for good.
func (i *Inspector) DeleteDead(ctx context.Context, queue, id string) (Job, error) {
	j, err := i.deadJob(queue, id)
	if err != nil {
		return j, err
	}
	if err := i.insp.DeleteTask(queue, id); err != nil {
		if errors.Is(err, asynq.ErrTaskNotFound) {
			return j, core.ErrNotFound
		}
		return j, err
	}
	return j, nil
}

// Get returns any job by queue and ID (tests and tools).
func (i *Inspector) Get(queue, id string) (Job, error) {
	t, err := i.insp.GetTaskInfo(queue, id)
	if errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound) {
		return Job{}, core.ErrNotFound
	}
	if err != nil {
		return Job{}, err
	}
	return toJob(t), nil
}

// List returns up to n jobs of a queue in one state (pending, scheduled,
// retry, dead, completed), for tests and tools.
func (i *Inspector) List(queue, state string, n int) ([]Job, error) {
	fns := map[string]func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){
		"pending": i.insp.ListPendingTasks, "scheduled": i.insp.ListScheduledTasks, "retry": i.insp.ListRetryTasks,
		"dead": i.insp.ListArchivedTasks, "completed": i.insp.ListCompletedTasks, "active": i.insp.ListActiveTasks,
	}
	fn, ok := fns[state]
	if !ok {
		return nil, core.Invalid("state", "unknown state %q", state)
	}
	ts, err := fn(queue, asynq.PageSize(n))
	if errors.Is(err, asynq.ErrQueueNotFound) {
		return nil, nil
	}
	out := make([]Job, 0, len(ts))
	for _, t := range ts {
		out = append(out, toJob(t))
	}
	return out, err
}

// newestFirst pages a set that asynq lists oldest first.
func newestFirst(list func(...asynq.ListOption) ([]*asynq.TaskInfo, error), total, page, size int) ([]*asynq.TaskInfo, error) {
	hi := total - (page-1)*size
	lo := max(hi-size, 0)
	if hi <= 0 || size <= 0 {
		return nil, nil
	}
	var out []*asynq.TaskInfo
	for p := lo / size; p*size < hi; p++ {
		ts, err := list(asynq.PageSize(size), asynq.Page(p+1))
		if errors.Is(err, asynq.ErrQueueNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		for j, t := range ts {
			if idx := p*size + j; idx >= lo && idx < hi {
				out = append(out, t)
			}
		}
	}
	slices.Reverse(out)
	return out, nil
}

func toJob(t *asynq.TaskInfo) Job {
	j := Job{ID: t.ID, Queue: t.Queue, Type: t.Type, State: t.State.String(), Payload: clipPayload(t.Payload),
		Attempts: t.Retried, MaxAttempts: t.MaxRetry + 1, LastError: t.LastErr}
	// asynq counts retries, bumped when a failed attempt is scheduled
	// again; the attempt that made a job dead is not counted there.
	if t.State == asynq.TaskStateArchived {
		j.State = "dead"
		j.Attempts = t.Retried + 1
	}
	if !t.LastFailedAt.IsZero() {
		at := t.LastFailedAt.UTC()
		j.LastFailedAt = &at
	}
	if !t.NextProcessAt.IsZero() {
		at := t.NextProcessAt.UTC()
		j.NextRunAt = &at
	}
	return j
}

func clipPayload(b []byte) string {
	if len(b) > 512 {
		b = b[:512]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
		return string(b) + "…"
	}
	if !utf8.Valid(b) {
		return "(binary payload)"
	}
	return string(b)
}
