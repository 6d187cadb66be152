package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/outbox"
	"github.com/palisade-hq/palisade/internal/session"
	"github.com/palisade-hq/palisade/internal/store"
)

// HQ routes: the operators' realm, with its own cookie and its own throttle.

func (s *Server) hqLogin(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	email, err := core.NormalizeEmail(req.Email)
	if err != nil {
		return err
	}
	if req.Password == "" || len(req.Password) > core.MaxPasswordLen {
		return core.Invalid("password", "is required")
	}
	ip := s.clientIP(r)
	if wait, err := s.Throttle.Check(r.Context(), "hq", email, ip); err != nil {
		return err
	} else if wait > 0 {
		s.auditDenied(r, "hq.login.throttled", email)
		return throttled(wait)
	}
	o, err := s.Store.OperatorByEmail(r.Context(), email)
	ok := false
	switch {
	case core.IsNotFound(err):
		s.Hasher.VerifyDummy(req.Password)
	case err != nil:
		return err
	default:
		if ok, err = s.Hasher.Verify(req.Password, o.PasswordHash); err != nil {
			return err
		}
		ok = ok && o.Status == store.OperatorActive
	}
	if !ok {
		if err := s.Throttle.Fail(r.Context(), "hq", email, ip); err != nil {
			return err
		}
		ev := s.event(r, "hq.login")
		ev.Outcome, ev.Detail = store.OutcomeFailure, email
		if err := s.Store.Audit(r.Context(), ev); err != nil {
			return err
		}
		return errBadCredentials
	}
	if err := s.Throttle.Succeed(r.Context(), "hq", email); err != nil {
		return err
	}
	if err := s.startOperatorSession(r, o.ID); err != nil {
		return err
	}
	reqCtx(r).operator = &o
	if err := s.Store.Audit(r.Context(), s.event(r, "hq.login")); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"operator": o})
	return nil
}

func (s *Server) hqLogout(w http.ResponseWriter, r *http.Request) error {
	if oid := s.OperatorSessions.GetInt64(r.Context(), session.KeyOperatorID); oid != 0 {
		ev := s.event(r, "hq.logout")
		ev.ActorType, ev.ActorID = "operator", &oid
		if err := s.Store.Audit(r.Context(), ev); err != nil {
			return err
		}
	}
	if tok := s.OperatorSessions.Token(r.Context()); tok != "" {
		if err := s.Store.ForgetOperatorSession(r.Context(), auth.HashToken(tok)); err != nil {
			return err
		}
	}
	if err := s.OperatorSessions.Destroy(r.Context()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// hqMe is called by every HQ page, so it also carries the alarms every
// operator must see wherever they are in the console.
func (s *Server) hqMe(w http.ResponseWriter, r *http.Request) error {
	alerts := []string{}
	switch ev, err := s.Store.LastAuditVerification(r.Context()); {
	case err == nil && ev.Outcome != store.OutcomeSuccess:
		alerts = append(alerts, "The audit trail is broken (verified "+ev.CreatedAt.UTC().Format(time.RFC3339)+"): "+ev.Detail+
			" Treat this as a security incident; see the Health page and run `palisade audit verify`.")
	case err != nil && !core.IsNotFound(err):
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"operator": reqCtx(r).operator, "alerts": alerts})
	return nil
}

const hqPageSize = 25

type createTenantRequest struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
	// OwnerEmail, when set, is invited as the tenant's owner: a tenant HQ
	// creates has no member who could invite anyone.
	OwnerEmail string `json:"owner_email"`
}

func (s *Server) hqCreateTenant(w http.ResponseWriter, r *http.Request) error {
	var req createTenantRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	slug := strings.ToLower(strings.TrimSpace(req.Slug))
	if err := core.ValidateSlug(slug); err != nil {
		return err
	}
	name, err := core.ValidateName("name", req.Name)
	if err != nil {
		return err
	}
	var owner string
	if strings.TrimSpace(req.OwnerEmail) != "" {
		if owner, err = core.NormalizeEmail(req.OwnerEmail); err != nil {
			return &core.Error{Kind: core.KindInvalid, Field: "owner_email", Message: "the owner's e-mail address is not valid"}
		}
	}
	t, err := s.Store.CreateTenant(r.Context(), slug, name, s.event(r, "hq.tenant.created"))
	if err != nil {
		return err
	}
	s.provisionBucket(r, t.ID)
	out := map[string]any{"tenant": t}
	if owner != "" {
		inv, err := s.inviteOwner(r, t, owner)
		if err != nil {
			return fmt.Errorf("tenant %s created, owner invitation failed (send it again from the tenant page): %w", t.Slug, err)
		}
		out["invitation"] = inv
	}
	httpx.WriteJSON(w, http.StatusCreated, out)
	return nil
}

type ownerInvitationRequest struct {
	Email string `json:"email"`
}

// hqInviteOwner (re)invites an owner to a tenant: the way into a tenant HQ
// created, or one whose owners have all left. A new invitation replaces a
// pending one to the same address.
func (s *Server) hqInviteOwner(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req ownerInvitationRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	email, err := core.NormalizeEmail(req.Email)
	if err != nil {
		return err
	}
	t, err := s.Store.TenantByID(r.Context(), id)
	if err != nil {
		return err
	}
	inv, err := s.inviteOwner(r, t, email)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"invitation": inv})
	return nil
}

// inviteOwner stores an owner invitation to t and mails its link.
func (s *Server) inviteOwner(r *http.Request, t core.Tenant, email string) (core.Invitation, error) {
	token, hash := auth.NewToken()
	link := s.Hosts.TenantURL(t.Slug) + "/invitations/" + token
	body := fmt.Sprintf("Hello,\n\nPalisade has set up %s for you, with you as its owner.\nAccept within %s by opening:\n\n%s\n\nIf you did not expect this, ignore this mail.\n",
		t.Name, core.HumanDuration(s.InvitationTTL), link)
	// The mail is written with the invitation, in its transaction.
	fx := s.effects(outbox.Mail(core.Mail{To: email, Subject: "Your organisation " + t.Name + " on Palisade", Body: body}))
	inv, err := s.Store.Tenant(t.ID).CreateOwnerInvitation(r.Context(), email, hash, s.Store.Now().Add(s.InvitationTTL), s.event(r, "hq.tenant.owner_invited"), fx.Write)
	if err != nil {
		return core.Invitation{}, err
	}
	s.nudge(r, fx)
	return inv, nil
}

func (s *Server) hqGetTenant(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := s.Store.TenantByID(r.Context(), id)
	if err != nil {
		return err
	}
	ms, err := s.Store.Tenant(t.ID).Members(r.Context(), 200, 0)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"tenant": t, "members": ms})
	return nil
}

type suspendRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) hqSuspendTenant(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req suspendRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	reason := strings.TrimSpace(req.Reason)
	if reason == "" {
		return core.Invalid("reason", "say why; the tenant's users will see it")
	}
	if utf8.RuneCountInString(reason) > core.MaxReasonLen {
		return core.Invalid("reason", "must be at most %d characters", core.MaxReasonLen)
	}
	ev := s.event(r, "hq.tenant.suspended")
	ev.Detail = reason
	t, err := s.Store.SetTenantStatus(r.Context(), id, core.TenantSuspended, reason, ev)
	if err != nil {
		return err
	}
	s.endRealtimeTenant(r, id)
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"tenant": t})
	return nil
}

func (s *Server) hqReactivateTenant(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := s.Store.SetTenantStatus(r.Context(), id, core.TenantActive, "", s.event(r, "hq.tenant.reactivated"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"tenant": t})
	return nil
}

func (s *Server) hqAudit(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit", 50, 1, 200)
	if err != nil {
		return err
	}
	before, err := queryInt(r, "before", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	evs, err := s.Store.AllAuditEvents(r.Context(), int64(before), limit)
	if err != nil {
		return err
	}
	return s.writeEvents(w, r, evs, limit)
}

// hqOutbox shows dev mail; it does not exist where real mail is sent.
func (s *Server) hqOutbox(w http.ResponseWriter, r *http.Request) error {
	if !s.OutboxEnabled {
		return &core.Error{Kind: core.KindNotFound, Message: "the outbox exists only when PALISADE_MAIL_DRIVER=outbox"}
	}
	ms, err := s.Store.Outbox(r.Context(), 50)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"messages": ms})
	return nil
}
