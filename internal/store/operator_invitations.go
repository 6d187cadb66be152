package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
)

// OperatorInvitation is an e-mailed link to become an HQ operator. As a
// tenant invitation, it is kept by its token's hash only, is used once and
// expires; the invited operator chooses their own password on accepting.
type OperatorInvitation struct {
	ID         int64      `json:"id"`
	Email      string     `json:"email"`
	Name       string     `json:"name"`
	InvitedBy  int64      `json:"invited_by"`
	ExpiresAt  time.Time  `json:"expires_at"`
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

const operatorInvitationColumns = `id, email, name, invited_by, expires_at, accepted_at, created_at`

func scanOperatorInvitation(row interface{ Scan(...any) error }) (OperatorInvitation, error) {
	var (
		inv              OperatorInvitation
		expires, created int64
		accepted         sql.NullInt64
	)
	err := row.Scan(&inv.ID, &inv.Email, &inv.Name, &inv.InvitedBy, &expires, &accepted, &created)
	inv.ExpiresAt, inv.AcceptedAt, inv.CreatedAt = fromMillis(expires), nullMillis(accepted), fromMillis(created)
	return inv, err
}

// CreateOperatorInvitation stores an invitation by its token hash, on the
// platform trail. An email that already belongs to an operator is refused.
// also runs in the same transaction (the invitation mail's outbox row).
func (s *Store) CreateOperatorInvitation(ctx context.Context, email, name string, invitedBy int64, tokenHash string, expires time.Time, ev core.AuditEvent, also ...TxFunc) (OperatorInvitation, error) {
	var inv OperatorInvitation
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM operators WHERE email = ?`, email).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return &core.Error{Kind: core.KindConflict, Field: "email", Message: "an operator with this email exists"}
		}
		now := s.now()
		res, err := tx.ExecContext(ctx, `INSERT INTO operator_invitations (email, name, token_hash, invited_by, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			email, name, tokenHash, invitedBy, expires.UnixMilli(), now)
		if err != nil {
			return fmt.Errorf("insert operator invitation: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		inv = OperatorInvitation{ID: id, Email: email, Name: name, InvitedBy: invitedBy, ExpiresAt: expires.UTC(), CreatedAt: fromMillis(now)}
		ev.TenantID, ev.Target = nil, fmt.Sprintf("operator_invitation:%d", id)
		if err := s.audit(ctx, tx, ev); err != nil {
			return err
		}
		return runAlso(ctx, tx, also)
	})
	return inv, err
}

// PendingOperatorInvitations lists open, unexpired invitations.
func (s *Store) PendingOperatorInvitations(ctx context.Context) ([]OperatorInvitation, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+operatorInvitationColumns+` FROM operator_invitations WHERE accepted_at IS NULL AND expires_at > ? ORDER BY id DESC LIMIT 200`, s.now())
	if err != nil {
		return nil, fmt.Errorf("list operator invitations: %w", err)
	}
	defer rows.Close()
	out := []OperatorInvitation{}
	for rows.Next() {
		inv, err := scanOperatorInvitation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, rows.Err()
}

// OperatorInvitationByToken finds an invitation by its token hash and says
// why it cannot be used, if it cannot (the same answers as a tenant's).
func (s *Store) OperatorInvitationByToken(ctx context.Context, tokenHash string) (OperatorInvitation, error) {
	inv, err := scanOperatorInvitation(s.db.QueryRowContext(ctx, `SELECT `+operatorInvitationColumns+` FROM operator_invitations WHERE token_hash = ?`, tokenHash))
	if err = notFound(err); err == core.ErrNotFound {
		return inv, &core.Error{Kind: core.KindNotFound, Field: "token", Message: "this invitation link is not valid; check that you opened the whole link, or ask for a new one"}
	}
	if err != nil {
		return inv, err
	}
	switch {
	case inv.AcceptedAt != nil:
		return inv, core.Errorf(core.KindConflict, "this invitation was already used; log in instead")
	case !s.Now().Before(inv.ExpiresAt):
		return inv, core.Errorf(core.KindInvalid, "this invitation has expired; ask an operator for a new one")
	}
	return inv, nil
}

// AcceptOperatorInvitation marks the invitation used and creates the
// operator with the password hash they chose, in one transaction: a second
// use of the link (even concurrent) finds it used and changes nothing.
func (s *Store) AcceptOperatorInvitation(ctx context.Context, inv OperatorInvitation, passwordHash string, ev core.AuditEvent) (core.Operator, error) {
	var o core.Operator
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		res, err := tx.ExecContext(ctx, `UPDATE operator_invitations SET accepted_at = ? WHERE id = ? AND accepted_at IS NULL AND expires_at > ?`, now, inv.ID, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return core.Errorf(core.KindConflict, "this invitation is no longer valid")
		}
		res, err = tx.ExecContext(ctx, insertOperator, inv.Email, inv.Name, passwordHash, now)
		if isUniqueViolation(err) {
			return &core.Error{Kind: core.KindConflict, Field: "email", Message: "an operator with this email exists; log in instead"}
		}
		if err != nil {
			return fmt.Errorf("insert operator: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		o = core.Operator{ID: id, Email: inv.Email, Name: inv.Name, Status: OperatorActive, PasswordHash: passwordHash, CreatedAt: fromMillis(now)}
		ev.TenantID, ev.ActorType, ev.ActorID = nil, "operator", &id
		ev.Target = fmt.Sprintf("operator_invitation:%d", inv.ID)
		return s.audit(ctx, tx, ev)
	})
	return o, err
}
