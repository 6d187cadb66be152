package api

import (
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
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
	sm := s.OperatorSessions
	if err := sm.RenewToken(r.Context()); err != nil {
		return err
	}
	sm.Put(r.Context(), session.KeyOperatorID, o.ID)
	sm.Put(r.Context(), session.KeyCreatedAt, time.Now().Unix())
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
	t, err := s.Store.CreateTenant(r.Context(), slug, name, s.event(r, "hq.tenant.created"))
	if err != nil {
		return err
	}
	s.provisionBucket(r, t.ID)
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"tenant": t})
	return nil
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
	writeEvents(w, evs, limit)
	return nil
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
