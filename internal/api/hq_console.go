package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/store"
)

// HQ's tenant lifecycle: search, rename and plan, the metadata overview,
// export, four-eyes deletion and break-glass content access. Operators see
// metadata freely; content needs a break-glass grant, which the tenant's
// owner sees on their own audit trail.

// HQPolicy holds the operator-facing limits from configuration.
type HQPolicy struct {
	// DeletionGrace is how long an approved deletion waits before the
	// worker deletes the tenant's rows and bucket.
	DeletionGrace time.Duration
	// BreakGlassMax bounds the time limit an operator may ask for.
	BreakGlassMax time.Duration
}

func (p HQPolicy) grace() time.Duration {
	if p.DeletionGrace < 0 {
		return 0
	}
	if p.DeletionGrace == 0 {
		return 72 * time.Hour
	}
	return p.DeletionGrace
}

func (p HQPolicy) breakGlassMax() time.Duration {
	if p.BreakGlassMax <= 0 {
		return 4 * time.Hour
	}
	return p.BreakGlassMax
}

func (s *Server) operatorID(r *http.Request) int64 { return reqCtx(r).operator.ID }

func (s *Server) hqSearchTenants(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := store.HQTenantFilter{Status: q.Get("status"), Plan: q.Get("plan"), Query: strings.TrimSpace(q.Get("q")), Sort: q.Get("sort"), Desc: q.Get("dir") != "asc"}
	if f.Status != "" && f.Status != core.TenantActive && f.Status != core.TenantSuspended {
		return core.Invalid("status", "must be active or suspended")
	}
	if f.Plan != "" && !store.ValidPlan(f.Plan) {
		return core.Invalid("plan", "must be one of %s", strings.Join(store.Plans, ", "))
	}
	if utf8.RuneCountInString(f.Query) > 100 {
		return core.Invalid("q", "must be at most 100 characters")
	}
	if f.Sort == "" {
		f.Sort = "created"
	} else if !store.ValidTenantSort(f.Sort) {
		return core.Invalid("sort", "must be one of created, name, slug, status, plan")
	}
	if d := q.Get("dir"); d != "" && d != "asc" && d != "desc" {
		return core.Invalid("dir", "must be asc or desc")
	}
	var err error
	if f.CreatedFrom, err = queryDate(r, "created_from"); err != nil {
		return err
	}
	if f.CreatedTo, err = queryDate(r, "created_to"); err != nil {
		return err
	}
	if !f.CreatedTo.IsZero() {
		f.CreatedTo = f.CreatedTo.Add(24 * time.Hour) // the whole day is included
	}
	if !f.CreatedFrom.IsZero() && !f.CreatedTo.IsZero() && !f.CreatedFrom.Before(f.CreatedTo) {
		return core.Invalid("created_to", "must not be before created_from")
	}
	page, err := queryInt(r, "page", 1, 1, 100_000)
	if err != nil {
		return err
	}
	f.Limit, f.Offset = hqPageSize, (page-1)*hqPageSize
	ts, total, err := s.Store.SearchTenants(r.Context(), f)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"tenants": ts, "total": total, "page": page, "per_page": hqPageSize})
	return nil
}

// queryDate reads an optional YYYY-MM-DD query parameter as UTC midnight.
func queryDate(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, core.Invalid(name, "%s must be a date like 2026-01-31", name)
	}
	return t, nil
}

type updateTenantRequest struct {
	Name string `json:"name"`
	Plan string `json:"plan"`
}

func (s *Server) hqUpdateTenant(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req updateTenantRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	name, err := core.ValidateName("name", req.Name)
	if err != nil {
		return err
	}
	if !store.ValidPlan(req.Plan) {
		return core.Invalid("plan", "must be one of %s", strings.Join(store.Plans, ", "))
	}
	t, err := s.Store.UpdateTenant(r.Context(), id, name, req.Plan, s.event(r, "hq.tenant.updated"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"tenant": t})
	return nil
}

// hqTenantOverview is the tenant page's data: metadata only.
func (s *Server) hqTenantOverview(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ts := s.Store.Tenant(id)
	ov, err := ts.Overview(r.Context(), 200)
	if err != nil {
		return err
	}
	before, err := queryInt(r, "audit_before", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	evs, err := ts.AuditEvents(r.Context(), int64(before), 50)
	if err != nil {
		return err
	}
	out := map[string]any{"overview": ov, "audit": evs, "deletion": nil, "grace_seconds": int64(s.HQ.grace().Seconds())}
	switch d, err := s.Store.OpenTenantDeletion(r.Context(), id); {
	case err == nil:
		out["deletion"] = d
	case !core.IsNotFound(err):
		return err
	}
	if out["break_glass"], err = ts.BreakGlassHistory(r.Context(), 20); err != nil {
		return err
	}
	if bg, err := ts.ActiveBreakGlass(r.Context(), s.operatorID(r)); err == nil {
		out["my_break_glass"] = bg
	} else if !core.IsNotFound(err) {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// hqExportTenant hands out the tenant's archive as a download; producing
// it is audited on the tenant's trail, since it contains their data.
func (s *Server) hqExportTenant(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := s.Store.TenantByID(r.Context(), id)
	if err != nil {
		return err
	}
	ev := s.event(r, "hq.tenant.exported")
	ev.TenantID, ev.Target = &t.ID, "tenant:"+t.Slug
	if err := s.Store.Audit(r.Context(), ev); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="palisade-%s-export.json"`, t.Slug))
	w.Header().Set("Cache-Control", "no-store")
	if err := s.Store.Tenant(t.ID).Export(r.Context(), w); err != nil {
		// Headers are gone; the truncated body is all the client gets.
		s.Log.ErrorContext(r.Context(), "tenant export failed", "tenant_id", t.ID, "err", err)
	}
	return nil
}

type deletionRequest struct {
	Confirm string `json:"confirm"`
	Reason  string `json:"reason"`
}

func (s *Server) hqRequestDeletion(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req deletionRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	t, err := s.Store.TenantByID(r.Context(), id)
	if err != nil {
		return err
	}
	if req.Confirm != t.Slug {
		return core.Invalid("confirm", "type the tenant's slug, %s, to confirm", t.Slug)
	}
	reason := strings.TrimSpace(req.Reason)
	if reason == "" {
		return core.Invalid("reason", "say why the tenant is deleted")
	}
	if utf8.RuneCountInString(reason) > core.MaxReasonLen {
		return core.Invalid("reason", "must be at most %d characters", core.MaxReasonLen)
	}
	d, err := s.Store.RequestTenantDeletion(r.Context(), id, s.operatorID(r), reason, s.event(r, "hq.tenant.deletion_requested"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"deletion": d})
	return nil
}

func (s *Server) hqApproveDeletion(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	d, err := s.Store.ApproveTenantDeletion(r.Context(), id, s.operatorID(r), s.HQ.grace(), s.event(r, "hq.tenant.deletion_approved"))
	var ce *core.Error
	if errors.As(err, &ce) && ce.Kind == core.KindForbidden {
		ev := s.event(r, "hq.tenant.deletion_approved")
		ev.TenantID, ev.Outcome, ev.Detail = &id, store.OutcomeDenied, ce.Message
		if aerr := s.Store.Audit(r.Context(), ev); aerr != nil {
			return aerr
		}
	}
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"deletion": d})
	return nil
}

func (s *Server) hqCancelDeletion(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.Store.CancelTenantDeletion(r.Context(), id, s.event(r, "hq.tenant.deletion_cancelled")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) hqListDeletions(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.Store.TenantDeletions(r.Context(), 100)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"deletions": ds})
	return nil
}

type breakGlassRequest struct {
	Reason  string `json:"reason"`
	Minutes int    `json:"minutes"`
}

func (s *Server) hqOpenBreakGlass(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req breakGlassRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	reason := strings.TrimSpace(req.Reason)
	if utf8.RuneCountInString(reason) < 10 {
		return core.Invalid("reason", "say why you need the tenant's content (at least 10 characters, e.g. a ticket number); the tenant's owner will see it")
	}
	if utf8.RuneCountInString(reason) > core.MaxReasonLen {
		return core.Invalid("reason", "must be at most %d characters", core.MaxReasonLen)
	}
	maxMin := int(s.HQ.breakGlassMax().Minutes())
	if req.Minutes < 1 || req.Minutes > maxMin {
		return core.Invalid("minutes", "minutes must be from 1 to %d", maxMin)
	}
	b, err := s.Store.Tenant(id).OpenBreakGlass(r.Context(), s.operatorID(r), reason, time.Duration(req.Minutes)*time.Minute, s.event(r, "hq.break_glass.opened"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"break_glass": b})
	return nil
}
