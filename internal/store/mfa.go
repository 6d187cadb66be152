package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/palisade-hq/palisade/internal/core"
)

// Subject is whose second factors these are: a user (across all their
// tenants) or an HQ operator.
type Subject struct {
	Type string // "user" or "operator"
	ID   int64
}

// UserSubject and OperatorSubject build subjects.
func UserSubject(id int64) Subject     { return Subject{"user", id} }
func OperatorSubject(id int64) Subject { return Subject{"operator", id} }

func (s Subject) String() string { return fmt.Sprintf("%s:%d", s.Type, s.ID) }

// TOTP is a subject's authenticator-app secret.
type TOTP struct {
	Secret    string
	Confirmed bool
	LastStep  int64
}

// TOTPOf returns the subject's TOTP enrolment, or ErrNotFound.
func (s *Store) TOTPOf(ctx context.Context, subj Subject) (TOTP, error) {
	var (
		t         TOTP
		confirmed sql.NullInt64
	)
	err := s.db.QueryRowContext(ctx, `SELECT secret, confirmed_at, last_step FROM mfa_totp WHERE subject_type = ? AND subject_id = ?`, subj.Type, subj.ID).
		Scan(&t.Secret, &confirmed, &t.LastStep)
	t.Confirmed = confirmed.Valid
	return t, notFound(err)
}

// StartTOTP begins enrolment with secret, unless one is already pending:
// then that one is kept (it may already be in the user's app; a wrong
// code must not replace it) and returned. Only confirming or cancelling
// (RemoveTOTP) ends a pending enrolment.
func (s *Store) StartTOTP(ctx context.Context, subj Subject, secret string) (string, error) {
	var inEffect string
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		var (
			confirmed sql.NullInt64
			pending   string
		)
		err := tx.QueryRowContext(ctx, `SELECT secret, confirmed_at FROM mfa_totp WHERE subject_type = ? AND subject_id = ?`, subj.Type, subj.ID).Scan(&pending, &confirmed)
		switch {
		case err == nil && confirmed.Valid:
			return core.Errorf(core.KindConflict, "an authenticator app is already set up; remove it before adding another")
		case err == nil:
			inEffect = pending
			return nil
		case notFound(err) == core.ErrNotFound:
			inEffect = secret
			_, err = tx.ExecContext(ctx, `INSERT INTO mfa_totp (subject_type, subject_id, secret, created_at) VALUES (?, ?, ?, ?)`, subj.Type, subj.ID, secret, s.now())
			if isUniqueViolation(err) {
				return core.Errorf(core.KindConflict, "enrolment was started twice at once; reload the page")
			}
			return err
		default:
			return err
		}
	})
	return inEffect, err
}

// UseTOTPStep accepts a verified code's time step once: it moves last_step
// forward only if step is newer, in one statement, so the same code (or an
// older one) replayed, even concurrently, is refused.
func (s *Store) UseTOTPStep(ctx context.Context, subj Subject, step int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE mfa_totp SET last_step = ? WHERE subject_type = ? AND subject_id = ? AND last_step < ?`, step, subj.Type, subj.ID, step)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ConfirmTOTP marks the enrolment confirmed (after its first good code) and
// stores fresh recovery codes, in one transaction.
func (s *Store) ConfirmTOTP(ctx context.Context, subj Subject, recoveryHashes []string, ev core.AuditEvent) error {
	return s.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE mfa_totp SET confirmed_at = ? WHERE subject_type = ? AND subject_id = ?`, s.now(), subj.Type, subj.ID); err != nil {
			return err
		}
		if err := s.replaceRecoveryCodes(ctx, tx, subj, recoveryHashes); err != nil {
			return err
		}
		ev.Target = subj.String()
		return s.audit(ctx, tx, ev)
	})
}

// RemoveTOTP deletes the authenticator-app enrolment.
func (s *Store) RemoveTOTP(ctx context.Context, subj Subject, ev core.AuditEvent) error {
	return s.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM mfa_totp WHERE subject_type = ? AND subject_id = ?`, subj.Type, subj.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return core.ErrNotFound
		}
		ev.Target = subj.String()
		return s.audit(ctx, tx, ev)
	})
}

func (s *Store) replaceRecoveryCodes(ctx context.Context, tx *sql.Tx, subj Subject, hashes []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM mfa_recovery_codes WHERE subject_type = ? AND subject_id = ?`, subj.Type, subj.ID); err != nil {
		return err
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO mfa_recovery_codes (subject_type, subject_id, code_hash, created_at) VALUES (?, ?, ?, ?)`, subj.Type, subj.ID, h, s.now()); err != nil {
			return fmt.Errorf("store recovery code: %w", err)
		}
	}
	return nil
}

// ReplaceRecoveryCodes regenerates the codes; the old ones stop working.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, subj Subject, hashes []string, ev core.AuditEvent) error {
	return s.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.replaceRecoveryCodes(ctx, tx, subj, hashes); err != nil {
			return err
		}
		ev.Target = subj.String()
		return s.audit(ctx, tx, ev)
	})
}

// UseRecoveryCode spends a code once; false if it is unknown or spent.
func (s *Store) UseRecoveryCode(ctx context.Context, subj Subject, hash string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE mfa_recovery_codes SET used_at = ? WHERE subject_type = ? AND subject_id = ? AND code_hash = ? AND used_at IS NULL`, s.now(), subj.Type, subj.ID, hash)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RecoveryCodesLeft counts unused codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, subj Subject) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM mfa_recovery_codes WHERE subject_type = ? AND subject_id = ? AND used_at IS NULL`, subj.Type, subj.ID).Scan(&n)
	return n, err
}

// MFAStatus says which second factors a subject has.
type MFAStatus struct {
	TOTP          bool `json:"totp"`
	Passkeys      int  `json:"passkeys"`
	RecoveryCodes int  `json:"recovery_codes_left"`
}

// Enrolled reports whether any second factor is set up.
func (m MFAStatus) Enrolled() bool { return m.TOTP || m.Passkeys > 0 }

// MFAStatusOf reads a subject's second factors.
func (s *Store) MFAStatusOf(ctx context.Context, subj Subject) (MFAStatus, error) {
	var st MFAStatus
	t, err := s.TOTPOf(ctx, subj)
	if err != nil && !core.IsNotFound(err) {
		return st, err
	}
	st.TOTP = err == nil && t.Confirmed
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM webauthn_credentials WHERE subject_type = ? AND subject_id = ?`, subj.Type, subj.ID).Scan(&st.Passkeys); err != nil {
		return st, err
	}
	if st.RecoveryCodes, err = s.RecoveryCodesLeft(ctx, subj); err != nil {
		return st, err
	}
	return st, nil
}

// RequiresMFA reports whether the tenant's owner requires a second factor
// of every member.
func (ts *TenantStore) RequiresMFA(ctx context.Context) (bool, error) {
	var v bool
	err := ts.s.db.QueryRowContext(ctx, `SELECT require_mfa FROM tenants WHERE id = ?`, ts.tenantID).Scan(&v)
	return v, notFound(err)
}

// SetRequireMFA turns the tenant's MFA requirement on or off, audited.
func (ts *TenantStore) SetRequireMFA(ctx context.Context, on bool, ev core.AuditEvent) error {
	return ts.s.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE tenants SET require_mfa = ? WHERE id = ?`, on, ts.tenantID); err != nil {
			return err
		}
		ev.TenantID = &ts.tenantID
		ev.Target = fmt.Sprintf("tenant:%d", ts.tenantID)
		ev.Detail = fmt.Sprintf("require_mfa=%t", on)
		return ts.s.audit(ctx, tx, ev)
	})
}
