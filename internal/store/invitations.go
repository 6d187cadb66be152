package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
)

const invitationColumns = `id, tenant_id, email, role, invited_by, expires_at, accepted_at, created_at`

func scanInvitation(row interface{ Scan(...any) error }) (core.Invitation, error) {
	var (
		inv              core.Invitation
		role             string
		expires, created int64
		accepted         sql.NullInt64
	)
	err := row.Scan(&inv.ID, &inv.TenantID, &inv.Email, &role, &inv.InvitedBy, &expires, &accepted, &created)
	inv.Role, inv.ExpiresAt, inv.AcceptedAt, inv.CreatedAt = core.Role(role), fromMillis(expires), nullMillis(accepted), fromMillis(created)
	return inv, err
}

const insertInvitation = `INSERT INTO invitations (tenant_id, email, role, token_hash, invited_by, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`

// An address's open invitations to this tenant (but the one given, when
// accepting it) are found with a plain read and deleted by primary key: a
// DELETE by email would take InnoDB gap locks even when nothing matches,
// and two invitations created at once then deadlock on their INSERTs.
const selectPendingInvitationsOf = `SELECT id FROM invitations WHERE tenant_id = ? AND email = ? AND accepted_at IS NULL AND id <> ?`

// deletePendingInvitationsOf removes those invitations and counts them.
func (ts *TenantStore) deletePendingInvitationsOf(ctx context.Context, tx *sql.Tx, email string, except int64) (int, error) {
	rows, err := tx.QueryContext(ctx, selectPendingInvitationsOf, ts.tenantID, email, except)
	if err != nil {
		return 0, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			_ = rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, deleteInvitation, ts.tenantID, id); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// CreateInvitation stores an invitation by its token hash, audited with it.
// An address has at most one open invitation per tenant: a new one
// replaces (and voids the link of) any earlier one still pending, so a
// re-sent invitation never leaves a second link that works. also runs in
// the same transaction (the invitation mail's outbox row).
func (ts *TenantStore) CreateInvitation(ctx context.Context, email string, role core.Role, invitedBy int64, tokenHash string, expires time.Time, ev core.AuditEvent, also ...TxFunc) (core.Invitation, error) {
	if !role.Valid() || role == core.RoleOwner {
		return core.Invitation{}, core.Invalid("role", "must be admin or member")
	}
	return ts.createInvitation(ctx, email, role, invitedBy, tokenHash, expires, ev, also)
}

// InvitedByHQ is the invited_by of an invitation Palisade HQ sent (an
// operator, not a member of the tenant; the operator is in the audit row).
const InvitedByHQ = 0

// CreateOwnerInvitation invites an owner to this tenant; only HQ does, for
// a tenant it created (which has no member to invite anyone).
func (ts *TenantStore) CreateOwnerInvitation(ctx context.Context, email, tokenHash string, expires time.Time, ev core.AuditEvent, also ...TxFunc) (core.Invitation, error) {
	return ts.createInvitation(ctx, email, core.RoleOwner, InvitedByHQ, tokenHash, expires, ev, also)
}

func (ts *TenantStore) createInvitation(ctx context.Context, email string, role core.Role, invitedBy int64, tokenHash string, expires time.Time, ev core.AuditEvent, also []TxFunc) (core.Invitation, error) {
	var inv core.Invitation
	err := ts.s.InTx(ctx, func(tx *sql.Tx) error {
		var exists int
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.tenant_id = ? AND u.email = ?`, ts.tenantID, email).Scan(&exists)
		if err != nil {
			return err
		}
		if exists > 0 {
			return &core.Error{Kind: core.KindConflict, Field: "email", Message: email + " is already a member"}
		}
		n, err := ts.deletePendingInvitationsOf(ctx, tx, email, 0)
		if err != nil {
			return fmt.Errorf("replace invitations: %w", err)
		}
		if n > 0 {
			ev.Detail = fmt.Sprintf("replaces %d pending invitation(s) to the same address", n)
		}
		now := ts.s.now()
		res, err := tx.ExecContext(ctx, insertInvitation, ts.tenantID, email, string(role), tokenHash, invitedBy, expires.UnixMilli(), now)
		if err != nil {
			return fmt.Errorf("insert invitation: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		inv = core.Invitation{ID: id, TenantID: ts.tenantID, Email: email, Role: role, InvitedBy: invitedBy, ExpiresAt: expires.UTC(), CreatedAt: fromMillis(now)}
		ev.TenantID = &ts.tenantID
		ev.Target = fmt.Sprintf("invitation:%d", id)
		if err := ts.s.audit(ctx, tx, ev); err != nil {
			return err
		}
		return runAlso(ctx, tx, also)
	})
	return inv, err
}

const selectPendingInvitations = `SELECT ` + invitationColumns + ` FROM invitations WHERE tenant_id = ? AND accepted_at IS NULL AND expires_at > ? ORDER BY id DESC LIMIT 200`

// PendingInvitations lists open, unexpired invitations.
func (ts *TenantStore) PendingInvitations(ctx context.Context) ([]core.Invitation, error) {
	rows, err := ts.s.db.QueryContext(ctx, selectPendingInvitations, ts.tenantID, ts.s.now())
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	defer rows.Close()
	out := []core.Invitation{}
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, rows.Err()
}

const selectInvitation = `SELECT ` + invitationColumns + ` FROM invitations WHERE tenant_id = ? AND id = ?`

// Invitation returns one invitation of this tenant.
func (ts *TenantStore) Invitation(ctx context.Context, id int64) (core.Invitation, error) {
	inv, err := scanInvitation(ts.s.db.QueryRowContext(ctx, selectInvitation, ts.tenantID, id))
	return inv, notFound(err)
}

const selectInvitationByToken = `SELECT ` + invitationColumns + ` FROM invitations WHERE tenant_id = ? AND token_hash = ?`

// InvitationByToken finds an invitation of this tenant by its token hash and
// says why it cannot be used, if it cannot.
func (ts *TenantStore) InvitationByToken(ctx context.Context, tokenHash string) (core.Invitation, error) {
	inv, err := scanInvitation(ts.s.db.QueryRowContext(ctx, selectInvitationByToken, ts.tenantID, tokenHash))
	if err != nil {
		return inv, notFound(err)
	}
	switch {
	case inv.AcceptedAt != nil:
		return inv, core.Errorf(core.KindConflict, "this invitation was already accepted; log in instead")
	case !ts.s.Now().Before(inv.ExpiresAt):
		return inv, core.Errorf(core.KindInvalid, "this invitation has expired; ask for a new one")
	}
	return inv, nil
}

const deleteInvitation = `DELETE FROM invitations WHERE tenant_id = ? AND id = ? AND accepted_at IS NULL`

// RevokeInvitation deletes a pending invitation.
func (ts *TenantStore) RevokeInvitation(ctx context.Context, id int64, ev core.AuditEvent) error {
	return ts.s.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, deleteInvitation, ts.tenantID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return core.ErrNotFound
		}
		ev.TenantID = &ts.tenantID
		ev.Target = fmt.Sprintf("invitation:%d", id)
		return ts.s.audit(ctx, tx, ev)
	})
}

const acceptInvitation = `UPDATE invitations SET accepted_at = ? WHERE tenant_id = ? AND id = ? AND accepted_at IS NULL AND expires_at > ?`

// AcceptInvitation marks the invitation used and adds the membership; when
// existingUserID is zero it creates the account from newUser first. All in
// one transaction, so a half-accepted invitation cannot exist.
func (ts *TenantStore) AcceptInvitation(ctx context.Context, inv core.Invitation, existingUserID int64, newUser NewUser, ev core.AuditEvent) (core.User, error) {
	var u core.User
	err := ts.s.InTx(ctx, func(tx *sql.Tx) error {
		now := ts.s.now()
		res, err := tx.ExecContext(ctx, acceptInvitation, now, ts.tenantID, inv.ID, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return core.Errorf(core.KindConflict, "this invitation is no longer valid")
		}
		// No stale invitation to the same address survives the acceptance.
		if _, err := ts.deletePendingInvitationsOf(ctx, tx, inv.Email, inv.ID); err != nil {
			return fmt.Errorf("remove stale invitations: %w", err)
		}
		if existingUserID != 0 {
			if u, err = scanUser(tx.QueryRowContext(ctx, selectUserByID, existingUserID)); err != nil {
				return notFound(err)
			}
		} else if u, err = ts.s.insertUser(ctx, tx, newUser); err != nil {
			return err
		}
		if err := ts.s.insertMembership(ctx, tx, ts.tenantID, u.ID, inv.Role); err != nil {
			return err
		}
		ev.TenantID, ev.ActorID = &ts.tenantID, &u.ID
		ev.Target = fmt.Sprintf("invitation:%d", inv.ID)
		return ts.s.audit(ctx, tx, ev)
	})
	return u, err
}
