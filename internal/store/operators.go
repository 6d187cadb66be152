package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
)

// Operator status values.
const (
	OperatorActive   = "active"
	OperatorDisabled = "disabled"
)

const operatorColumns = `id, email, name, password_hash, status, created_at`

func scanOperator(row interface{ Scan(...any) error }) (core.Operator, error) {
	var o core.Operator
	var created int64
	err := row.Scan(&o.ID, &o.Email, &o.Name, &o.PasswordHash, &o.Status, &created)
	o.CreatedAt = fromMillis(created)
	return o, err
}

const insertOperator = `INSERT INTO operators (email, name, password_hash, status, created_at) VALUES (?, ?, ?, 'active', ?)`

// CreateOperator adds an HQ operator, audited on the platform trail.
func (s *Store) CreateOperator(ctx context.Context, email, name, passwordHash string, ev core.AuditEvent) (core.Operator, error) {
	var o core.Operator
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		res, err := tx.ExecContext(ctx, insertOperator, email, name, passwordHash, now)
		if isUniqueViolation(err) {
			return &core.Error{Kind: core.KindConflict, Field: "email", Message: "an operator with this email exists"}
		}
		if err != nil {
			return fmt.Errorf("insert operator: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		o = core.Operator{ID: id, Email: email, Name: name, Status: OperatorActive, PasswordHash: passwordHash, CreatedAt: fromMillis(now)}
		ev.Target = fmt.Sprintf("operator:%d", id)
		return s.audit(ctx, tx, ev)
	})
	return o, err
}

// OperatorByEmail finds an operator by email.
func (s *Store) OperatorByEmail(ctx context.Context, email string) (core.Operator, error) {
	o, err := scanOperator(s.db.QueryRowContext(ctx, `SELECT `+operatorColumns+` FROM operators WHERE email = ?`, email))
	return o, notFound(err)
}

// OperatorByID finds an operator by id.
func (s *Store) OperatorByID(ctx context.Context, id int64) (core.Operator, error) {
	o, err := scanOperator(s.db.QueryRowContext(ctx, `SELECT `+operatorColumns+` FROM operators WHERE id = ?`, id))
	return o, notFound(err)
}

// AddMail appends a message to the outbox (the dev mailer). A message with
// an idempotency key already kept is not added again: the transactional
// outbox delivers at least once, and this receiver dedupes by its id.
func (s *Store) AddMail(ctx context.Context, m core.Mail) error {
	var key sql.NullString
	if m.IdempotencyKey != "" {
		key = sql.NullString{String: clip(m.IdempotencyKey, 100), Valid: true}
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO mail_outbox (to_addr, subject, body, created_at, idempotency_key) VALUES (?, ?, ?, ?, ?)`, m.To, clip(m.Subject, 255), m.Body, s.now(), key)
	if key.Valid && isUniqueViolation(err) {
		return nil
	}
	return err
}

// Outbox lists the newest mail first.
func (s *Store) Outbox(ctx context.Context, limit int) ([]core.Mail, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, to_addr, subject, body, created_at FROM mail_outbox ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []core.Mail{}
	for rows.Next() {
		var m core.Mail
		var created int64
		if err := rows.Scan(&m.ID, &m.To, &m.Subject, &m.Body, &created); err != nil {
			return nil, err
		}
		m.CreatedAt = fromMillis(created)
		out = append(out, m)
	}
	return out, rows.Err()
}

// PurgeExpired deletes expired sessions, invitations and reset tokens older
// than keep; the scheduler runs it.
func (s *Store) PurgeExpired(ctx context.Context, keep time.Duration) (int64, error) {
	now := s.now()
	cutoff := now - keep.Milliseconds()
	var total int64
	for _, q := range []struct {
		sql string
		arg int64
	}{
		{`DELETE FROM sessions WHERE expiry < ?`, now},
		{`DELETE FROM invitations WHERE expires_at < ?`, cutoff},
		{`DELETE FROM password_resets WHERE expires_at < ?`, cutoff},
		{`DELETE FROM operator_invitations WHERE expires_at < ?`, cutoff},
		// An HQ session unseen for longer than keep is long past its idle
		// timeout: its index entry only names a dead session.
		{`DELETE FROM operator_sessions WHERE last_seen_at < ?`, cutoff},
		// Outbox messages done with (delivered, or dead: their links have
		// expired by now); pending ones stay however old.
		{`DELETE FROM outbox WHERE status IN ('delivered', 'dead') AND created_at < ?`, cutoff},
	} {
		res, err := s.db.ExecContext(ctx, q.sql, q.arg)
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
