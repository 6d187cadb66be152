package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/outbox"
	"github.com/palisade-hq/palisade/internal/store"
)

// tenantStore is the request's tenant handle, which tenantScope made from
// the host: the one way a tenant-realm handler reaches tenant rows.
func (s *Server) tenantStore(r *http.Request) *store.TenantStore {
	if rc := reqCtx(r); rc != nil && rc.store != nil {
		return rc.store
	}
	panic("api: tenantStore outside tenantScope")
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	limit, offset, err := pageParams(r)
	if err != nil {
		return err
	}
	ms, err := s.tenantStore(r).Members(r.Context(), limit, offset)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"members": ms})
	return nil
}

func (s *Server) getMember(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	m, err := s.tenantStore(r).Member(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"member": m})
	return nil
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.tenantStore(r).RemoveMember(r.Context(), id, s.event(r, "member.removed")); err != nil {
		return err
	}
	s.endRealtimeUser(r, id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type invitationRequest struct {
	Email string    `json:"email"`
	Role  core.Role `json:"role"`
}

func (s *Server) createInvitation(w http.ResponseWriter, r *http.Request) error {
	var req invitationRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	email, err := core.NormalizeEmail(req.Email)
	if err != nil {
		return err
	}
	if req.Role == "" {
		req.Role = core.RoleMember
	}
	rc := reqCtx(r)
	if req.Role == core.RoleAdmin && rc.member.Role != core.RoleOwner {
		return &core.Error{Kind: core.KindForbidden, Field: "role", Message: "only owners may invite admins"}
	}
	token, hash := auth.NewToken()
	inviter, err := s.Store.UserByID(r.Context(), rc.member.UserID)
	if err != nil {
		return err
	}
	link := s.Hosts.TenantURL(rc.tenant.Slug) + "/invitations/" + token
	body := fmt.Sprintf("Hello,\n\n%s invited you to join %s on Palisade as %s.\nAccept within %s by opening:\n\n%s\n",
		inviter.Name, rc.tenant.Name, req.Role, core.HumanDuration(s.InvitationTTL), link)
	// The mail is written with the invitation, in its transaction.
	fx := s.effects(outbox.Mail(core.Mail{To: email, Subject: "You are invited to " + rc.tenant.Name + " on Palisade", Body: body}))
	inv, err := s.tenantStore(r).CreateInvitation(r.Context(), email, req.Role, rc.member.UserID, hash, s.Store.Now().Add(s.InvitationTTL), s.event(r, "invitation.created"), fx.Write)
	if err != nil {
		return err
	}
	s.nudge(r, fx)
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"invitation": inv})
	return nil
}

func (s *Server) listInvitations(w http.ResponseWriter, r *http.Request) error {
	invs, err := s.tenantStore(r).PendingInvitations(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"invitations": invs})
	return nil
}

func (s *Server) getInvitation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	inv, err := s.tenantStore(r).Invitation(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"invitation": inv})
	return nil
}

func (s *Server) revokeInvitation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.tenantStore(r).RevokeInvitation(r.Context(), id, s.event(r, "invitation.revoked")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func invitationToken(tok string) (string, error) {
	tok = strings.TrimSpace(tok)
	if tok == "" || len(tok) > 100 {
		return "", core.Invalid("token", "is required")
	}
	return auth.HashToken(tok), nil
}

// lookupInvitation tells the accept page whom the invitation is for and
// whether that person already has an account (then they give its password).
func (s *Server) lookupInvitation(w http.ResponseWriter, r *http.Request) error {
	hash, err := invitationToken(r.URL.Query().Get("token"))
	if err != nil {
		return err
	}
	inv, err := s.tenantStore(r).InvitationByToken(r.Context(), hash)
	if err != nil {
		return err
	}
	_, uerr := s.Store.UserByEmail(r.Context(), inv.Email)
	if uerr != nil && !core.IsNotFound(uerr) {
		return uerr
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"email": inv.Email, "role": inv.Role, "expires_at": inv.ExpiresAt,
		"tenant_name": reqCtx(r).tenant.Name, "account_exists": uerr == nil,
	})
	return nil
}

type acceptRequest struct {
	Token    string `json:"token"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

// acceptInvitation joins the tenant, creating the account if needed, and
// logs the new member in.
func (s *Server) acceptInvitation(w http.ResponseWriter, r *http.Request) error {
	var req acceptRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	hash, err := invitationToken(req.Token)
	if err != nil {
		return err
	}
	ts := s.tenantStore(r)
	inv, err := ts.InvitationByToken(r.Context(), hash)
	if err != nil {
		return err
	}
	var (
		existing int64
		newUser  store.NewUser
	)
	u, err := s.Store.UserByEmail(r.Context(), inv.Email)
	switch {
	case err == nil:
		if len(req.Password) > core.MaxPasswordLen {
			return core.Invalid("password", "is too long")
		}
		ok, verr := s.checkOwnPassword(r, u, req.Password, "invitation.accept")
		if verr != nil {
			return verr
		}
		if !ok {
			return &core.Error{Kind: core.KindUnauthenticated, Field: "password", Message: "you already have a Palisade account; enter its password to join"}
		}
		existing = u.ID
	case core.IsNotFound(err):
		name, verr := core.ValidateName("name", req.Name)
		if verr != nil {
			return verr
		}
		if verr := core.ValidatePassword(req.Password); verr != nil {
			return verr
		}
		ph, herr := s.Hasher.Hash(req.Password)
		if herr != nil {
			return herr
		}
		newUser = store.NewUser{Email: inv.Email, Name: name, PasswordHash: ph}
	default:
		return err
	}
	user, err := ts.AcceptInvitation(r.Context(), inv, existing, newUser, s.event(r, "invitation.accepted"))
	if err != nil {
		return err
	}
	m, err := ts.Member(r.Context(), user.ID)
	if err != nil {
		return err
	}
	if err := s.startTenantSession(r, user.ID, false); err != nil {
		return err
	}
	reqCtx(r).member = &m
	return s.writeMe(w, r, m)
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit", 50, 1, 200)
	if err != nil {
		return err
	}
	before, err := queryInt(r, "before", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	evs, err := s.tenantStore(r).AuditEvents(r.Context(), int64(before), limit)
	if err != nil {
		return err
	}
	return s.writeEvents(w, r, evs, limit)
}

// writeEvents answers a page of events with their actors' and tenants'
// names, so that no page shows "user #1" or a tenant's number.
func (s *Server) writeEvents(w http.ResponseWriter, r *http.Request, evs []core.AuditEvent, limit int) error {
	var next int64
	if len(evs) == limit {
		next = evs[len(evs)-1].ID
	}
	rows, err := s.Store.AuditNames(r.Context(), evs)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"events": rows, "next_before": next})
	return nil
}
