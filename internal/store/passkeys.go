package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
)

// Passkey is a stored WebAuthn credential. Credential is the WebAuthn
// library's JSON record (public key, sign count, flags); the store does
// not interpret it.
type Passkey struct {
	ID           int64      `json:"id"`
	CredentialID string     `json:"credential_id"`
	Credential   []byte     `json:"-"`
	Name         string     `json:"name"`
	CreatedAt    time.Time  `json:"created_at"`
	LastUsedAt   *time.Time `json:"last_used_at,omitempty"`
}

// #nosec G101 -- column names, not a credential.
const passkeyColumns = `id, credential_id, credential, name, created_at, last_used_at`

func scanPasskey(row interface{ Scan(...any) error }) (Passkey, error) {
	var (
		p       Passkey
		created int64
		used    sql.NullInt64
	)
	err := row.Scan(&p.ID, &p.CredentialID, &p.Credential, &p.Name, &created, &used)
	p.CreatedAt, p.LastUsedAt = fromMillis(created), nullMillis(used)
	return p, err
}

// AddPasskey stores a newly registered credential, audited.
func (s *Store) AddPasskey(ctx context.Context, subj Subject, credentialID string, credential []byte, name string, ev core.AuditEvent) (Passkey, error) {
	var p Passkey
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		res, err := tx.ExecContext(ctx, `INSERT INTO webauthn_credentials (subject_type, subject_id, credential_id, credential, name, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			subj.Type, subj.ID, credentialID, credential, name, now)
		if isUniqueViolation(err) {
			return core.Errorf(core.KindConflict, "this passkey is already registered")
		}
		if err != nil {
			return fmt.Errorf("insert passkey: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		p = Passkey{ID: id, CredentialID: credentialID, Credential: credential, Name: name, CreatedAt: fromMillis(now)}
		ev.Target = fmt.Sprintf("%s passkey:%d", subj, id)
		return s.audit(ctx, tx, ev)
	})
	return p, err
}

// Passkeys lists a subject's credentials.
func (s *Store) Passkeys(ctx context.Context, subj Subject) ([]Passkey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+passkeyColumns+` FROM webauthn_credentials WHERE subject_type = ? AND subject_id = ? ORDER BY id`, subj.Type, subj.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Passkey{}
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PasskeyOwner finds whose credential this is, for passwordless login.
func (s *Store) PasskeyOwner(ctx context.Context, credentialID string) (Subject, error) {
	var subj Subject
	err := s.db.QueryRowContext(ctx, `SELECT subject_type, subject_id FROM webauthn_credentials WHERE credential_id = ?`, credentialID).Scan(&subj.Type, &subj.ID)
	return subj, notFound(err)
}

// UsePasskey records a login with a credential and its new state (the
// signature counter, which reveals a cloned authenticator).
func (s *Store) UsePasskey(ctx context.Context, subj Subject, credentialID string, credential []byte) error {
	_, err := s.db.ExecContext(ctx, `UPDATE webauthn_credentials SET credential = ?, last_used_at = ? WHERE subject_type = ? AND subject_id = ? AND credential_id = ?`,
		credential, s.now(), subj.Type, subj.ID, credentialID)
	return err
}

// RemovePasskey deletes one of the subject's credentials, audited. Another
// subject's id is not found, so ids reveal nothing.
func (s *Store) RemovePasskey(ctx context.Context, subj Subject, id int64, ev core.AuditEvent) error {
	return s.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webauthn_credentials WHERE id = ? AND subject_type = ? AND subject_id = ?`, id, subj.Type, subj.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return core.ErrNotFound
		}
		ev.Target = fmt.Sprintf("%s passkey:%d", subj, id)
		return s.audit(ctx, tx, ev)
	})
}
