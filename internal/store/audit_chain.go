package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"log/slog"
	"sort"
	"strconv"

	"github.com/palisade-hq/palisade/internal/core"
)

// ChainLink is an event's place in its tenant's (or the platform's) chain.
type ChainLink struct {
	Seq      int64  `json:"seq"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// ChainedEvent is an audit event with its link, as exported and verified.
type ChainedEvent struct {
	core.AuditEvent
	ChainLink
}

// HashAuditEvent is the SHA-256 of an event's content, its sequence number
// and its predecessor's hash. Every field is length-prefixed, so no two
// different events can encode to the same bytes. The row id is left out: it
// is assigned by the database after the hash is computed, and the per-chain
// sequence number pins the order instead.
func HashAuditEvent(ev core.AuditEvent, seq int64, prevHash string) string {
	h := sha256.New()
	writeField(h, "palisade-audit-v1")
	writeInt(h, seq)
	writeField(h, prevHash)
	writeOptInt(h, ev.TenantID)
	writeField(h, ev.ActorType)
	writeOptInt(h, ev.ActorID)
	writeField(h, ev.Action)
	writeField(h, ev.Target)
	writeField(h, ev.Outcome)
	writeField(h, ev.IP)
	writeField(h, ev.UserAgent)
	writeField(h, ev.RequestID)
	writeField(h, ev.Detail)
	writeInt(h, ev.CreatedAt.UnixMilli())
	return hex.EncodeToString(h.Sum(nil))
}

func writeField(h hash.Hash, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}

func writeInt(h hash.Hash, v int64) { writeField(h, strconv.FormatInt(v, 10)) }

func writeOptInt(h hash.Hash, v *int64) {
	if v == nil {
		writeField(h, "null")
		return
	}
	writeInt(h, *v)
}

// SetAuditLog sends every audit event, as it is appended, to log as well
// (JSON on stdout in production, which CloudWatch keeps for 90 days). A
// copy outside the database means an attacker with database access cannot
// rewrite history without the two disagreeing.
func (s *Store) SetAuditLog(log *slog.Logger) { s.auditLog = log }

// logAudit writes the event to the audit log. It runs before the
// transaction commits, so in the rare case of a failed commit the log holds
// an event the table does not; the reverse never happens.
func (s *Store) logAudit(ev ChainedEvent) {
	if s.auditLog == nil {
		return
	}
	attrs := []any{
		"audit_id", ev.ID, "action", ev.Action, "outcome", ev.Outcome, "actor_type", ev.ActorType,
		"target", ev.Target, "ip", ev.IP, "user_agent", ev.UserAgent, "audit_request_id", ev.RequestID,
		"detail", ev.Detail, "at", ev.CreatedAt, "chain_seq", ev.Seq, "prev_hash", ev.PrevHash, "hash", ev.Hash,
	}
	if ev.TenantID != nil {
		attrs = append(attrs, "audit_tenant_id", *ev.TenantID)
	}
	if ev.ActorID != nil {
		attrs = append(attrs, "actor_id", *ev.ActorID)
	}
	s.auditLog.Info("audit", attrs...)
}

// AuditBreak is the first broken link found in one chain.
type AuditBreak struct {
	// TenantID is nil for the platform chain.
	TenantID *int64 `json:"tenant_id"`
	// EventID is the row at which the chain breaks: the edited row, or the
	// row after a deletion. It is 0 when the newest events were deleted.
	EventID int64 `json:"event_id"`
	// Seq is the sequence number the verifier expected at that point.
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

// AuditReport is the result of VerifyAuditChains.
type AuditReport struct {
	Chains int          `json:"chains"`
	Events int64        `json:"events"`
	Breaks []AuditBreak `json:"breaks"`
}

// OK reports whether every chain verified.
func (r AuditReport) OK() bool { return len(r.Breaks) == 0 }

func (r AuditReport) String() string {
	if r.OK() {
		return fmt.Sprintf("audit trail intact: %d events in %d chains", r.Events, r.Chains)
	}
	s := fmt.Sprintf("audit trail BROKEN in %d of %d chains (%d events):", len(r.Breaks), r.Chains, r.Events)
	for _, b := range r.Breaks {
		chain := "platform"
		if b.TenantID != nil {
			chain = "tenant " + strconv.FormatInt(*b.TenantID, 10)
		}
		s += fmt.Sprintf("\n  %s: event %d (seq %d): %s", chain, b.EventID, b.Seq, b.Reason)
	}
	return s
}

type chainState struct {
	tenantID *int64
	seq      int64
	hash     string
	broken   bool
}

const selectChained = `SELECT ` + auditColumns + `, chain_seq, prev_hash, hash FROM audit_events WHERE id > ? ORDER BY id LIMIT ?`

// VerifyAuditChains recomputes every chain from its first event and reports
// the first broken link of each: a row whose content no longer matches its
// hash (edited), a row whose predecessor is missing (deleted), or a chain
// whose head is ahead of its last row (newest rows deleted). It reads in
// pages, so memory stays bounded by the number of chains. The scheduler
// runs it daily; `palisade audit verify` runs it on demand.
func (s *Store) VerifyAuditChains(ctx context.Context) (AuditReport, error) {
	chains := map[int64]*chainState{}
	var rep AuditReport
	fail := func(c *chainState, id, seq int64, reason string) {
		c.broken = true
		rep.Breaks = append(rep.Breaks, AuditBreak{TenantID: c.tenantID, EventID: id, Seq: seq, Reason: reason})
	}
	// One transaction, so the events and the heads are read from one
	// snapshot (InnoDB's repeatable read): read apart, an event appended
	// between the two reads looks like a deleted one.
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return rep, fmt.Errorf("read audit trail: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	const page = 1000
	var after int64
	for {
		rows, err := tx.QueryContext(ctx, selectChained, after, page)
		if err != nil {
			return rep, fmt.Errorf("read audit trail: %w", err)
		}
		n := 0
		for rows.Next() {
			var (
				ev       core.AuditEvent
				tid, aid sql.NullInt64
				created  int64
				link     ChainLink
			)
			if err := rows.Scan(&ev.ID, &tid, &ev.ActorType, &aid, &ev.Action, &ev.Target, &ev.Outcome, &ev.IP, &ev.UserAgent,
				&ev.RequestID, &ev.Detail, &created, &link.Seq, &link.PrevHash, &link.Hash); err != nil {
				_ = rows.Close() // the scan error is the one to report
				return rep, err
			}
			n++
			after = ev.ID
			rep.Events++
			if tid.Valid {
				ev.TenantID = &tid.Int64
			}
			if aid.Valid {
				ev.ActorID = &aid.Int64
			}
			ev.CreatedAt = fromMillis(created)
			cid := chainID(ev.TenantID)
			c := chains[cid]
			if c == nil {
				c = &chainState{tenantID: ev.TenantID}
				chains[cid] = c
			}
			if c.broken {
				continue
			}
			switch {
			case link.Hash == "" && c.seq == 0:
				// Written before the chain existed (migration 00010): such
				// rows may only precede the chain's first link.
				continue
			case link.Seq != c.seq+1:
				fail(c, ev.ID, c.seq+1, fmt.Sprintf("sequence jumps from %d to %d: events were deleted before this one", c.seq, link.Seq))
			case link.PrevHash != c.hash:
				fail(c, ev.ID, link.Seq, "previous-hash link does not match the preceding event: an event before this one was deleted or replaced")
			case HashAuditEvent(ev, link.Seq, link.PrevHash) != link.Hash:
				fail(c, ev.ID, link.Seq, "content does not match its hash: this event was edited")
			default:
				c.seq, c.hash = link.Seq, link.Hash
			}
		}
		if err := rows.Close(); err != nil {
			return rep, err
		}
		if err := rows.Err(); err != nil {
			return rep, err
		}
		if n < page {
			break
		}
	}
	heads, err := tx.QueryContext(ctx, `SELECT chain_id, last_seq, last_hash FROM audit_heads`)
	if err != nil {
		return rep, fmt.Errorf("read audit heads: %w", err)
	}
	defer heads.Close()
	for heads.Next() {
		var (
			cid, seq int64
			hash     string
		)
		if err := heads.Scan(&cid, &seq, &hash); err != nil {
			return rep, err
		}
		c := chains[cid]
		if c == nil {
			var tid *int64
			if cid != 0 {
				tid = &cid
			}
			c = &chainState{tenantID: tid}
			chains[cid] = c
		}
		if !c.broken && (c.seq != seq || c.hash != hash) {
			fail(c, 0, c.seq+1, fmt.Sprintf("the chain's head is at event %d but its last event is %d: the newest events were deleted", seq, c.seq))
		}
	}
	if err := heads.Err(); err != nil {
		return rep, err
	}
	rep.Chains = len(chains)
	sort.Slice(rep.Breaks, func(i, j int) bool { return chainID(rep.Breaks[i].TenantID) < chainID(rep.Breaks[j].TenantID) })
	return rep, nil
}

// RecordAuditVerification appends the outcome of a verification to the
// platform chain, where HQ's audit page shows it; a break is recorded as a
// failure so it stands out there and in the log alerts.
func (s *Store) RecordAuditVerification(ctx context.Context, rep AuditReport, actorType string) error {
	ev := core.AuditEvent{ActorType: actorType, Action: "audit.verify", Target: "audit_trail", Outcome: OutcomeSuccess, Detail: rep.String()}
	if !rep.OK() {
		ev.Outcome = OutcomeFailure
	}
	return s.Audit(ctx, ev)
}

const selectTenantAuditRange = `SELECT ` + auditColumns + `, chain_seq, prev_hash, hash FROM audit_events WHERE tenant_id = ? AND id > ? AND created_at >= ? AND created_at < ? ORDER BY id LIMIT ?`

// ExportAudit streams this tenant's trail, oldest first, with the chain
// links, so an exported file can be checked on its own. fn is called once
// per event; the read goes in pages of limit rows.
func (ts *TenantStore) ExportAudit(ctx context.Context, fromMs, toMs int64, fn func(ChainedEvent) error) error {
	var after int64
	const page = 500
	for {
		rows, err := ts.s.db.QueryContext(ctx, selectTenantAuditRange, ts.tenantID, after, fromMs, toMs, page)
		if err != nil {
			return fmt.Errorf("export audit: %w", err)
		}
		var batch []ChainedEvent
		for rows.Next() {
			var (
				ce       ChainedEvent
				tid, aid sql.NullInt64
				created  int64
			)
			if err := rows.Scan(&ce.ID, &tid, &ce.ActorType, &aid, &ce.Action, &ce.Target, &ce.Outcome, &ce.IP, &ce.UserAgent,
				&ce.RequestID, &ce.Detail, &created, &ce.Seq, &ce.PrevHash, &ce.Hash); err != nil {
				_ = rows.Close() // the scan error is the one to report
				return err
			}
			if tid.Valid {
				ce.TenantID = &tid.Int64
			}
			if aid.Valid {
				ce.ActorID = &aid.Int64
			}
			ce.CreatedAt = fromMillis(created)
			batch = append(batch, ce)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		// Rows are handed over after the page is closed, so a slow writer
		// (a CSV download) never holds a connection open mid-read.
		for _, ce := range batch {
			if err := fn(ce); err != nil {
				return err
			}
		}
		if len(batch) < page {
			return nil
		}
		after = batch[len(batch)-1].ID
	}
}
