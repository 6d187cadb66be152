// Package outbox is Palisade's transactional outbox. A change and the side
// effects it causes (a mail, a job to enqueue, a realtime event) are written
// in ONE database transaction: the change's rows and an outbox row per
// effect. After the commit a Deliverer carries each effect out; a message
// is marked delivered only once its effect succeeded, so a failure (SMTP
// down, a crash between sending and marking) means it is tried again:
// delivery is at least once. Every message carries a stable idempotency key
// (Key) for receivers that dedupe.
//
// The API nudges delivery right after its commit (Deliverer.Deliver), so
// mail goes out promptly; the worker's periodic outbox.deliver job sweeps
// whatever the nudge could not deliver, with back-off.
package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/jobs"
)

// Kind is what a message does when delivered.
type Kind string

// Message kinds; each has its payload type.
const (
	// KindMail sends a MailPayload through the mailer.
	KindMail Kind = "mail"
	// KindJob enqueues a JobPayload on the job queue.
	KindJob Kind = "job"
	// KindRealtime triggers a RealtimePayload event on the realtime server.
	KindRealtime Kind = "realtime"
)

// Message is one side effect, its payload JSON of the kind's type.
type Message struct {
	Kind    Kind
	Payload json.RawMessage
}

// MailPayload is a mail to send.
type MailPayload struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// JobPayload is a job to enqueue: its registered name and JSON payload.
type JobPayload struct {
	Job     string          `json:"job"`
	Payload json.RawMessage `json:"payload"`
}

// RealtimePayload is an event to trigger on channels; Data is sent as the
// event's data.
type RealtimePayload struct {
	Channels []string        `json:"channels"`
	Event    string          `json:"event"`
	Data     json.RawMessage `json:"data"`
}

// maxPayload bounds a message; a mail body of an invitation is well under.
const maxPayload = 64 << 10

// Mail is the message that sends m.
func Mail(m core.Mail) Message {
	return encode(KindMail, MailPayload{To: m.To, Subject: m.Subject, Body: m.Body})
}

// Job is the message that enqueues job d with payload p.
func Job[P any](d jobs.Def[P], p P) (Message, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return Message{}, fmt.Errorf("outbox: encode %s payload: %w", d.Name, err)
	}
	return encode(KindJob, JobPayload{Job: d.Name, Payload: raw}), nil
}

// Realtime is the message that triggers event with data on channels.
func Realtime(channels []string, event string, data any) (Message, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Message{}, fmt.Errorf("outbox: encode realtime %s data: %w", event, err)
	}
	return encode(KindRealtime, RealtimePayload{Channels: channels, Event: event, Data: raw}), nil
}

func encode(k Kind, v any) Message {
	raw, err := json.Marshal(v)
	if err != nil {
		// The payload types hold only strings and raw JSON already encoded.
		panic(fmt.Sprintf("outbox: encode %s: %v", k, err))
	}
	return Message{Kind: k, Payload: raw}
}

// Validate checks that the payload is its kind's, with what delivery
// needs; Add refuses a message that fails, so a producer's mistake fails
// its own transaction instead of a delivery later.
func (m Message) Validate() error {
	if len(m.Payload) > maxPayload {
		return fmt.Errorf("outbox: %s payload is %d bytes, at most %d", m.Kind, len(m.Payload), maxPayload)
	}
	switch m.Kind {
	case KindMail:
		var p MailPayload
		if err := decode(m.Payload, &p); err != nil {
			return err
		}
		if _, err := mail.ParseAddress(p.To); err != nil || strings.ContainsAny(p.To, "\r\n") {
			return fmt.Errorf("outbox: mail to %q: not an address", p.To)
		}
		if strings.TrimSpace(p.Subject) == "" || strings.ContainsAny(p.Subject, "\r\n") {
			return errors.New("outbox: mail needs a one-line subject")
		}
	case KindJob:
		var p JobPayload
		if err := decode(m.Payload, &p); err != nil {
			return err
		}
		if p.Job == "" || !json.Valid(p.Payload) {
			return errors.New("outbox: job needs a name and a JSON payload")
		}
	case KindRealtime:
		var p RealtimePayload
		if err := decode(m.Payload, &p); err != nil {
			return err
		}
		if len(p.Channels) == 0 || p.Event == "" || !json.Valid(p.Data) {
			return errors.New("outbox: realtime event needs channels, a name and JSON data")
		}
	default:
		return fmt.Errorf("outbox: unknown message kind %q", m.Kind)
	}
	return nil
}

// decode reads a payload strictly: an unknown field is a mistake.
func decode(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("outbox: payload: %w", err)
	}
	return nil
}

// Message states.
const (
	statusPending   = "pending"
	statusDelivered = "delivered"
	// statusDead is a message no attempt can deliver (a payload a newer
	// release wrote, attempts exhausted): kept, with its last error, for an
	// operator.
	statusDead = "dead"
)

// Add writes m in tx, due at once, and returns its id.
func Add(ctx context.Context, tx *sql.Tx, now time.Time, m Message) (int64, error) {
	if err := m.Validate(); err != nil {
		return 0, err
	}
	ms := now.UnixMilli()
	res, err := tx.ExecContext(ctx, `INSERT INTO outbox (kind, payload, status, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, 0, ?, ?)`,
		string(m.Kind), string(m.Payload), statusPending, ms, ms)
	if err != nil {
		return 0, fmt.Errorf("outbox: insert %s: %w", m.Kind, err)
	}
	return res.LastInsertId()
}

// Pending is the messages of one change. Its Write is a store.TxFunc: pass
// it to the store method making the change, then, after the commit, give
// IDs to Deliverer.Deliver.
type Pending struct {
	// Now is the clock (the store's); nil is time.Now.
	Now  func() time.Time
	Msgs []Message
	// IDs are the written messages' ids, once Write ran in a committed
	// transaction.
	IDs []int64
}

// With is the messages msgs, stamped by now.
func With(now func() time.Time, msgs ...Message) *Pending {
	return &Pending{Now: now, Msgs: msgs}
}

// Write adds every message in tx.
func (p *Pending) Write(ctx context.Context, tx *sql.Tx) error {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	p.IDs = p.IDs[:0]
	for _, m := range p.Msgs {
		id, err := Add(ctx, tx, now(), m)
		if err != nil {
			return err
		}
		p.IDs = append(p.IDs, id)
	}
	return nil
}

// Key is message id's idempotency key, the same on every delivery: the
// job ID of an enqueue, the dev outbox's dedupe key and the SMTP
// Message-ID's local part of a mail. created (ms) keeps it unique across
// databases (two environments both have a message 1).
func Key(id, createdMillis int64) string {
	return fmt.Sprintf("outbox-%d.%d", id, createdMillis)
}
