package store

import (
	"context"
	"database/sql"

	"github.com/palisade-hq/palisade/internal/core"
)

// Replacing a confirmed authenticator app: the new secret waits in
// pending_secret while the confirmed one keeps working, so a wrong code,
// an abandoned attempt or a lost phone mid-way never locks the subject
// out. A code of the new secret swaps it in.

// StartTOTPReplacement sets secret as the pending replacement of subj's
// confirmed TOTP, unless one is pending already: that one is kept (it may
// be in the app already) and returned.
func (s *Store) StartTOTPReplacement(ctx context.Context, subj Subject, secret string) (string, error) {
	var inEffect string
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		var (
			confirmed sql.NullInt64
			pending   sql.NullString
		)
		err := tx.QueryRowContext(ctx, `SELECT confirmed_at, pending_secret FROM mfa_totp WHERE subject_type = ? AND subject_id = ?`+lockSuffix(s.driver), subj.Type, subj.ID).Scan(&confirmed, &pending)
		switch {
		case notFound(err) == core.ErrNotFound || err == nil && !confirmed.Valid:
			return core.Errorf(core.KindConflict, "no authenticator app is set up yet; set one up instead of replacing it")
		case err != nil:
			return err
		case pending.Valid && pending.String != "":
			inEffect = pending.String
			return nil
		}
		inEffect = secret
		_, err = tx.ExecContext(ctx, `UPDATE mfa_totp SET pending_secret = ? WHERE subject_type = ? AND subject_id = ?`, secret, subj.Type, subj.ID)
		return err
	})
	return inEffect, err
}

// PendingTOTP returns the pending replacement secret, or ErrNotFound.
func (s *Store) PendingTOTP(ctx context.Context, subj Subject) (string, error) {
	var pending sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT pending_secret FROM mfa_totp WHERE subject_type = ? AND subject_id = ?`, subj.Type, subj.ID).Scan(&pending)
	if err != nil {
		return "", notFound(err)
	}
	if !pending.Valid || pending.String == "" {
		return "", core.ErrNotFound
	}
	return pending.String, nil
}

// ConfirmTOTPReplacement swaps the pending secret in (it must still be
// pending, so two confirmations cannot both win), records step as used
// and replaces the recovery codes, in one transaction.
func (s *Store) ConfirmTOTPReplacement(ctx context.Context, subj Subject, pending string, step int64, recoveryHashes []string, ev core.AuditEvent) error {
	return s.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE mfa_totp SET secret = pending_secret, pending_secret = NULL, confirmed_at = ?,
last_step = CASE WHEN last_step > ? THEN last_step ELSE ? END WHERE subject_type = ? AND subject_id = ? AND pending_secret = ?`,
			s.now(), step, step, subj.Type, subj.ID, pending)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return core.Errorf(core.KindConflict, "this replacement is no longer pending; start again")
		}
		if err := s.replaceRecoveryCodes(ctx, tx, subj, recoveryHashes); err != nil {
			return err
		}
		ev.Target = subj.String()
		return s.audit(ctx, tx, ev)
	})
}

// CancelTOTPReplacement drops a pending replacement; the confirmed app
// stays.
func (s *Store) CancelTOTPReplacement(ctx context.Context, subj Subject, ev core.AuditEvent) error {
	return s.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE mfa_totp SET pending_secret = NULL WHERE subject_type = ? AND subject_id = ? AND pending_secret IS NOT NULL`, subj.Type, subj.ID)
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
