package api

import (
	"context"
	"net/http"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/obs"
	"github.com/palisade-hq/palisade/internal/session"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/tenancy"
)

// requestContext is what middleware learned about a request.
type requestContext struct {
	tenant *core.Tenant
	// store is the tenant's store handle, made once by tenantScope: handlers
	// of the tenant realm reach tenant rows only through it (tenantStore).
	store    *store.TenantStore
	member   *core.Member
	operator *core.Operator
	// token is set when the request authenticated with a personal access
	// token instead of a session.
	token *store.APIToken
}

type ctxKey struct{}

func reqCtx(r *http.Request) *requestContext {
	rc, _ := r.Context().Value(ctxKey{}).(*requestContext)
	return rc
}

func withReqCtx(r *http.Request) (*http.Request, *requestContext) {
	if rc := reqCtx(r); rc != nil {
		return r, rc
	}
	rc := &requestContext{}
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, rc)), rc
}

// tenantScope is the tenant of the request's host. Suspended tenants are
// refused unless allowSuspended (the tenant info route, so the web app can
// show the suspended page).
func (s *Server) tenantScope(allowSuspended bool, next http.Handler) http.Handler {
	return s.h(func(w http.ResponseWriter, r *http.Request) error {
		kind, slug := s.Hosts.Classify(s.publicHost(r))
		if kind != tenancy.Tenant {
			return &core.Error{Kind: core.KindNotFound, Message: "no organisation lives at this address"}
		}
		t, err := s.Store.TenantBySlug(r.Context(), slug)
		if core.IsNotFound(err) {
			return &core.Error{Kind: core.KindNotFound, Message: "no organisation lives at this address"}
		}
		if err != nil {
			return err
		}
		if t.Status == core.TenantSuspended && !allowSuspended {
			msg := "this organisation is suspended"
			if t.SuspendReason != "" {
				msg += ": " + t.SuspendReason
			}
			return &core.Error{Kind: core.KindSuspended, Message: msg}
		}
		r, rc := withReqCtx(r)
		rc.tenant = &t
		rc.store = s.Store.Tenant(t.ID)
		r = r.WithContext(obs.WithTenantID(r.Context(), t.ID))
		next.ServeHTTP(w, r)
		return nil
	})
}

// requireUser needs a tenant session bound to this very tenant, for a user
// who is still a member. It runs inside tenantScope and the session loader.
func (s *Server) requireUser(next http.Handler) http.Handler {
	return s.h(func(w http.ResponseWriter, r *http.Request) error {
		rc := reqCtx(r)
		// A bearer token replaces the session entirely: a request that
		// carries one is judged by the token alone, whatever cookie it has.
		if raw, ok := bearerToken(r); ok {
			m, tok, err := s.tokenUser(r, raw)
			if err != nil {
				return err
			}
			rc.member, rc.token = m, tok
			next.ServeHTTP(w, r.WithContext(obs.WithUserID(r.Context(), m.UserID)))
			return nil
		}
		sm := s.TenantSessions
		uid := sm.GetInt64(r.Context(), session.KeyUserID)
		if uid == 0 {
			return &core.Error{Kind: core.KindUnauthenticated, Message: "log in to continue"}
		}
		if sm.GetString(r.Context(), session.KeyRealm) != string(session.RealmTenant) {
			// Cannot happen while realms have their own key spaces; a
			// session that does not say it is a tenant session is void.
			_ = s.endTenantSession(r)
			return &core.Error{Kind: core.KindUnauthenticated, Message: "log in to continue"}
		}
		if tid := sm.GetInt64(r.Context(), session.KeyTenantID); tid != rc.tenant.ID {
			s.auditDenied(r, "session.cross_tenant", "session of another organisation presented")
			return &core.Error{Kind: core.KindForbidden, Message: "this session belongs to another organisation; log in here"}
		}
		m, err := s.tenantStore(r).Member(r.Context(), uid)
		if core.IsNotFound(err) {
			// Removed since login: the session is void.
			_ = s.endTenantSession(r)
			return &core.Error{Kind: core.KindUnauthenticated, Message: "your access to this organisation has ended; log in again"}
		}
		if err != nil {
			return err
		}
		rc.member = &m
		if err := s.checkSession(r, sm, s.tenantStore(r), uid); err != nil {
			return err
		}
		required, err := s.tenantStore(r).RequiresMFA(r.Context())
		if err != nil {
			return err
		}
		if err := s.mfaGate(r, sm, store.UserSubject(uid), required); err != nil {
			return err
		}
		next.ServeHTTP(w, r.WithContext(obs.WithUserID(r.Context(), uid)))
		return nil
	})
}

// requireManager needs an owner or admin.
func (s *Server) requireManager(next http.Handler) http.Handler {
	return s.h(func(w http.ResponseWriter, r *http.Request) error {
		if !reqCtx(r).member.Role.CanManageMembers() {
			s.auditDenied(r, "authz.denied", r.Method+" "+r.URL.Path)
			return &core.Error{Kind: core.KindForbidden, Message: "only owners and admins may do this"}
		}
		next.ServeHTTP(w, r)
		return nil
	})
}

// adminHost refuses HQ routes on any host but admin.<base>, so a tenant
// site's proxy could never reach them even by mistake.
func (s *Server) adminHost(next http.Handler) http.Handler {
	return s.h(func(w http.ResponseWriter, r *http.Request) error {
		if kind, _ := s.Hosts.Classify(s.publicHost(r)); kind != tenancy.Admin {
			return core.ErrNotFound
		}
		r, _ = withReqCtx(r)
		next.ServeHTTP(w, r)
		return nil
	})
}

// requireOperator needs an HQ session of an active operator.
func (s *Server) requireOperator(next http.Handler) http.Handler {
	return s.h(func(w http.ResponseWriter, r *http.Request) error {
		oid := s.OperatorSessions.GetInt64(r.Context(), session.KeyOperatorID)
		if oid == 0 {
			return &core.Error{Kind: core.KindUnauthenticated, Message: "log in to HQ to continue"}
		}
		if s.OperatorSessions.GetString(r.Context(), session.KeyRealm) != string(session.RealmOperator) {
			// See requireUser: belt and braces to the realm's key space.
			_ = s.OperatorSessions.Destroy(r.Context())
			return &core.Error{Kind: core.KindUnauthenticated, Message: "log in to HQ to continue"}
		}
		o, err := s.Store.OperatorByID(r.Context(), oid)
		if core.IsNotFound(err) || err == nil && o.Status != store.OperatorActive {
			_ = s.OperatorSessions.Destroy(r.Context())
			return &core.Error{Kind: core.KindUnauthenticated, Message: "this operator account is disabled"}
		}
		if err != nil {
			return err
		}
		reqCtx(r).operator = &o
		if err := s.checkOperatorSession(r, oid); err != nil {
			return err
		}
		// Operators must always have a second factor: one without is sent
		// to enrolment, not locked out.
		if err := s.mfaGate(r, s.OperatorSessions, store.OperatorSubject(oid), true); err != nil {
			return err
		}
		next.ServeHTTP(w, r.WithContext(obs.WithUserID(r.Context(), oid)))
		return nil
	})
}
