package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/mail"
	"github.com/palisade-hq/palisade/internal/store"
)

// Publisher triggers realtime events (publish.Client implements it).
type Publisher interface {
	Trigger(ctx context.Context, channels []string, event string, data any, excludeSocketID string) error
}

// Enqueuer enqueues one job message under id (JobQueue implements it).
type Enqueuer interface {
	EnqueueRaw(ctx context.Context, job string, payload json.RawMessage, id string) error
}

// Deliverer carries out due messages. A kind whose sender is nil is left
// for a deliverer that has one (the API nudges mail only; the worker has
// every sender). Safe for concurrent use, also across processes: a message
// is claimed by a lease before it is delivered.
type Deliverer struct {
	Store    *store.Store
	Mailer   mail.Mailer
	Jobs     Enqueuer
	Realtime Publisher
	Log      *slog.Logger
	// Backoff spaces a failed message's attempts; zero is 30 s doubling
	// to an hour.
	Backoff jobs.Backoff
	// Lease is how long a claimed message is not claimed again: longer
	// than one delivery may take. A deliverer that dies after the effect
	// but before marking it leaves the message to be delivered again when
	// the lease ends (at least once). Zero is two minutes.
	Lease time.Duration
	// MaxAttempts, when reached, makes a message dead; zero is 30 (about
	// a day with the default back-off).
	MaxAttempts int
}

func (d *Deliverer) backoff() jobs.Backoff {
	if d.Backoff.Base <= 0 {
		return jobs.Backoff{Base: 30 * time.Second, Max: time.Hour}
	}
	return d.Backoff
}

func (d *Deliverer) lease() time.Duration {
	if d.Lease <= 0 {
		return 2 * time.Minute
	}
	return d.Lease
}

func (d *Deliverer) maxAttempts() int {
	if d.MaxAttempts <= 0 {
		return 30
	}
	return d.MaxAttempts
}

func (d *Deliverer) log() *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}

// kinds are what this deliverer can deliver.
func (d *Deliverer) kinds() []any {
	var out []any
	if d.Mailer != nil {
		out = append(out, string(KindMail))
	}
	if d.Jobs != nil {
		out = append(out, string(KindJob))
	}
	if d.Realtime != nil {
		out = append(out, string(KindRealtime))
	}
	return out
}

func (d *Deliverer) now() int64 { return d.Store.Now().UnixMilli() }

// sweepBatch is how many due messages one query of a sweep takes.
const sweepBatch = 50

// DeliverDue delivers every due message it can, oldest first, and says
// how many were delivered. A failed message is rescheduled, not returned
// as an error: only a failure to read the outbox is.
func (d *Deliverer) DeliverDue(ctx context.Context) (int, error) {
	kinds := d.kinds()
	if len(kinds) == 0 {
		return 0, nil
	}
	in := "?" + strings.Repeat(", ?", len(kinds)-1)
	delivered := 0
	after := int64(0)
	for ctx.Err() == nil {
		args := append([]any{statusPending, d.now(), after}, kinds...)
		rows, err := d.Store.DB().QueryContext(ctx, `SELECT id FROM outbox WHERE status = ? AND next_attempt_at <= ? AND id > ? AND kind IN (`+in+`) ORDER BY id LIMIT `+fmt.Sprint(sweepBatch), args...)
		if err != nil {
			return delivered, fmt.Errorf("outbox: due messages: %w", err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				_ = rows.Close()
				return delivered, err
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return delivered, err
		}
		if err := rows.Err(); err != nil {
			return delivered, err
		}
		for _, id := range ids {
			ok, err := d.deliverOne(ctx, id)
			var failed *deliveryError
			if err != nil && !errors.As(err, &failed) {
				return delivered, err
			}
			// A message whose effect failed is rescheduled (and logged);
			// the ones after it still go.
			if ok {
				delivered++
			}
			after = id
		}
		if len(ids) < sweepBatch {
			break
		}
	}
	return delivered, nil
}

// Deliver tries the messages ids now: the nudge after a commit. A message
// not due, already delivered, claimed by another deliverer or of a kind
// this one cannot send is left alone; a failed one is rescheduled for the
// worker's sweep. The error is the first failure, for the caller's log:
// the change is committed and its messages are safe either way.
func (d *Deliverer) Deliver(ctx context.Context, ids ...int64) error {
	var first error
	for _, id := range ids {
		if _, err := d.deliverOne(ctx, id); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// errClaimed means another deliverer holds the message, or it is not due.
var errClaimed = errors.New("outbox: message not claimable")

// deliverOne claims, delivers and marks one message. It reports whether
// it delivered; its error is a database failure or the effect's failure
// (the message is then rescheduled, if the database allows).
func (d *Deliverer) deliverOne(ctx context.Context, id int64) (bool, error) {
	m, attempts, created, err := d.claim(ctx, id)
	if errors.Is(err, errClaimed) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	sendErr := d.send(ctx, id, created, m)
	if sendErr == nil {
		// Should this fail, the lease ends and the message is sent again
		// with the same key: at least once.
		if err := d.mark(ctx, id, statusDelivered, 0, ""); err != nil {
			return false, fmt.Errorf("outbox: mark %d delivered: %w", id, err)
		}
		return true, nil
	}
	status, next := statusPending, d.Store.Now().Add(d.backoff().Delay(attempts, rand.Float64)).UnixMilli()
	if errors.Is(sendErr, errPermanent) || attempts >= d.maxAttempts() {
		status, next = statusDead, 0
		d.log().ErrorContext(ctx, "outbox message dead", "outbox_id", id, "kind", m.Kind, "attempts", attempts, "err", sendErr)
	} else {
		d.log().WarnContext(ctx, "outbox delivery failed; will retry", "outbox_id", id, "kind", m.Kind, "attempts", attempts, "err", sendErr)
	}
	if err := d.mark(ctx, id, status, next, sendErr.Error()); err != nil {
		return false, fmt.Errorf("outbox: reschedule %d: %w (after %v)", id, err, sendErr)
	}
	return false, &deliveryError{fmt.Errorf("outbox: deliver %d (%s): %w", id, m.Kind, sendErr)}
}

// deliveryError is a message's effect failing (the message rescheduled or
// dead), as against the outbox's database failing.
type deliveryError struct{ err error }

func (e *deliveryError) Error() string { return e.err.Error() }
func (e *deliveryError) Unwrap() error { return e.err }

// claim takes the lease on a due message: its next attempt moves past the
// lease, so no other deliverer takes it meanwhile, and its attempt is
// counted before the effect, so one that always crashes its deliverer
// still dies in the end.
func (d *Deliverer) claim(ctx context.Context, id int64) (Message, int, int64, error) {
	now := d.now()
	kinds := d.kinds()
	if len(kinds) == 0 {
		return Message{}, 0, 0, errClaimed
	}
	in := "?" + strings.Repeat(", ?", len(kinds)-1)
	args := append([]any{now + d.lease().Milliseconds(), id, statusPending, now}, kinds...)
	res, err := d.Store.DB().ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ? AND status = ? AND next_attempt_at <= ? AND kind IN (`+in+`)`, args...)
	if err != nil {
		return Message{}, 0, 0, fmt.Errorf("outbox: claim %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return Message{}, 0, 0, err
	} else if n != 1 {
		return Message{}, 0, 0, errClaimed
	}
	var (
		m        Message
		kind     string
		payload  string
		attempts int
		created  int64
	)
	if err := d.Store.DB().QueryRowContext(ctx, `SELECT kind, payload, attempts, created_at FROM outbox WHERE id = ?`, id).Scan(&kind, &payload, &attempts, &created); err != nil {
		return Message{}, 0, 0, fmt.Errorf("outbox: read %d: %w", id, err)
	}
	m.Kind, m.Payload = Kind(kind), json.RawMessage(payload)
	return m, attempts, created, nil
}

func (d *Deliverer) mark(ctx context.Context, id int64, status string, next int64, lastErr string) error {
	// The mark must land even when the caller's context just ended: the
	// effect happened.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if status == statusDelivered {
		// The payload goes with the delivery: a mail may carry a link's
		// token, which the database otherwise keeps only as a hash. A
		// delivered message is never sent again, so nothing needs it.
		_, err := d.Store.DB().ExecContext(ctx, `UPDATE outbox SET status = ?, delivered_at = ?, last_error = NULL, payload = '{}' WHERE id = ?`, status, d.now(), id)
		return err
	}
	_, err := d.Store.DB().ExecContext(ctx, `UPDATE outbox SET status = ?, next_attempt_at = ?, last_error = ? WHERE id = ?`, status, next, clip(lastErr, 1000), id)
	return err
}

// errPermanent marks a failure no retry fixes.
var errPermanent = errors.New("permanent")

func permanent(err error) error { return fmt.Errorf("%w (%w)", err, errPermanent) }

// send carries out one message's effect, keyed by its idempotency key.
func (d *Deliverer) send(ctx context.Context, id, created int64, m Message) error {
	if err := m.Validate(); err != nil {
		return permanent(err)
	}
	key := Key(id, created)
	switch m.Kind {
	case KindMail:
		var p MailPayload
		_ = json.Unmarshal(m.Payload, &p) // validated
		return d.Mailer.Send(ctx, core.Mail{To: p.To, Subject: p.Subject, Body: p.Body, IdempotencyKey: key})
	case KindJob:
		var p JobPayload
		_ = json.Unmarshal(m.Payload, &p)
		return d.Jobs.EnqueueRaw(ctx, p.Job, p.Payload, key)
	case KindRealtime:
		var p RealtimePayload
		_ = json.Unmarshal(m.Payload, &p)
		return d.Realtime.Trigger(ctx, p.Channels, p.Event, p.Data, "")
	}
	return permanent(fmt.Errorf("unknown kind %q", m.Kind))
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// JobQueue enqueues the job messages of the jobs allowed on it, each with
// the message's key as its job ID: a second delivery while the job is
// queued, running or retained is refused by the queue, which counts as
// delivered. Handlers are idempotent anyway (package jobs).
type JobQueue struct {
	Client *jobs.Client
	defs   map[string]func(ctx context.Context, c *jobs.Client, raw json.RawMessage, id string) error
}

// AllowJob lets q enqueue job d.
func AllowJob[P any](q *JobQueue, d jobs.Def[P]) {
	if q.defs == nil {
		q.defs = map[string]func(context.Context, *jobs.Client, json.RawMessage, string) error{}
	}
	q.defs[d.Name] = func(ctx context.Context, c *jobs.Client, raw json.RawMessage, id string) error {
		var p P
		if err := json.Unmarshal(raw, &p); err != nil {
			return permanent(fmt.Errorf("job %s payload: %w", d.Name, err))
		}
		_, err := d.Enqueue(ctx, c, p, jobs.ID(id))
		if errors.Is(err, jobs.ErrDuplicate) {
			return nil
		}
		return err
	}
}

// EnqueueRaw enqueues job with payload under id.
func (q *JobQueue) EnqueueRaw(ctx context.Context, job string, payload json.RawMessage, id string) error {
	f, ok := q.defs[job]
	if !ok {
		return permanent(fmt.Errorf("job %q may not be enqueued from the outbox", job))
	}
	return f(ctx, q.Client, payload, id)
}
