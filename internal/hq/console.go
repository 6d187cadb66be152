package hq

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/palisade-hq/palisade/internal/bff"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/ui"
	"github.com/palisade-hq/palisade/internal/wire"
)

// The tenant lifecycle pages: search, the tenant page (metadata, audit,
// rename, suspend, export, four-eyes deletion, break-glass) and operators.
// Every list sorts and pages on the server; every action is a plain form,
// so the console works without JavaScript.

// hqTenant mirrors the API's HQTenant.
type hqTenant struct {
	core.Tenant
	Plan string `json:"plan"`
}

var plans = []string{"free", "team", "business", "enterprise"}

// searchKeys are the query parameters the tenant list passes to the API.
var searchKeys = []string{"q", "status", "plan", "created_from", "created_to", "sort", "dir", "page"}

type sortLink struct {
	Label, Href, Mark string
}

type tenantsView struct {
	Tenants []hqTenant `json:"tenants"`
	Total   int        `json:"total"`
	Page    int        `json:"page"`
	PerPage int        `json:"per_page"`
	Filter  map[string]string
	Plans   []string
	Sorts   []sortLink
	Prev    string
	Next    string
}

// withParam returns the current filter as a query string with k set to v.
func withParam(filter map[string]string, k, v string) string {
	q := url.Values{}
	for _, key := range searchKeys {
		if filter[key] != "" {
			q.Set(key, filter[key])
		}
	}
	if v == "" {
		q.Del(k)
	} else {
		q.Set(k, v)
	}
	return "/tenants?" + q.Encode()
}

func (s *Server) consoleTenants(w http.ResponseWriter, r *http.Request, o core.Operator) {
	s.renderConsoleTenants(w, r, o, http.StatusOK, ui.Problem{}, nil)
}

func (s *Server) renderConsoleTenants(w http.ResponseWriter, r *http.Request, o core.Operator, status int, pr ui.Problem, form map[string]string) {
	q := r.URL.Query()
	filter := map[string]string{}
	v := url.Values{}
	for _, k := range searchKeys {
		if x := q.Get(k); x != "" {
			filter[k] = x
			v.Set(k, x)
		}
	}
	var d tenantsView
	if err := s.API.Call(w, r, http.MethodGet, "/api/hq/tenants?"+v.Encode(), nil, &d); err != nil {
		if e, ok := bff.AsAPIError(err); ok && e.Status == http.StatusUnprocessableEntity {
			// A bad filter: show the page without it and say why.
			p := s.page(r, o, "Tenants")
			p.Error = e.Message
			p.Data = tenantsView{Tenants: nil, Filter: filter, Plans: plans, Page: 1}
			s.Views.Render(w, http.StatusUnprocessableEntity, "hq_tenants", p)
			return
		}
		s.fail(w, r, err)
		return
	}
	d.Filter, d.Plans = filter, plans
	cur, dir := filter["sort"], filter["dir"]
	if cur == "" {
		cur = "created"
	}
	if dir == "" {
		dir = "desc"
	}
	for _, c := range []struct{ key, label string }{{"slug", "Slug"}, {"name", "Name"}, {"status", "Status"}, {"plan", "Plan"}, {"created", "Created"}} {
		l := sortLink{Label: c.label}
		next := "asc"
		if c.key == cur {
			if dir == "asc" {
				l.Mark, next = " ▲", "desc"
			} else {
				l.Mark = " ▼"
			}
		}
		f := map[string]string{}
		for k, x := range filter {
			f[k] = x
		}
		f["sort"], f["dir"], f["page"] = c.key, next, ""
		l.Href = withParam(f, "page", "")
		d.Sorts = append(d.Sorts, l)
	}
	if d.Page > 1 {
		d.Prev = withParam(filter, "page", strconv.Itoa(d.Page-1))
	}
	if d.Page*d.PerPage < d.Total {
		d.Next = withParam(filter, "page", strconv.Itoa(d.Page+1))
	}
	p := s.page(r, o, "Tenants")
	p.Data, p.Form = d, form
	p.Show(pr)
	s.Views.Render(w, status, "hq_tenants", p)
}

func (s *Server) consoleCreateTenant(w http.ResponseWriter, r *http.Request, o core.Operator) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.renderConsoleTenants(w, r, o, http.StatusBadRequest, ui.Banner("The form could not be read."), nil)
		return
	}
	body := map[string]string{"slug": r.PostForm.Get("slug"), "name": r.PostForm.Get("name"), "owner_email": r.PostForm.Get("owner_email")}
	var out struct {
		Tenant core.Tenant `json:"tenant"`
	}
	if err := s.API.Call(w, r, http.MethodPost, "/api/hq/tenants", body, &out); err != nil {
		if e, ok := bff.AsAPIError(err); ok && e.Status < 500 && e.Status != http.StatusUnauthorized && e.Status != http.StatusForbidden {
			s.renderConsoleTenants(w, r, o, e.Status, ui.Problem{Field: e.Field, Message: e.Message}, body)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/tenants/"+strconv.FormatInt(out.Tenant.ID, 10), http.StatusSeeOther)
}

type memberMFA struct {
	core.Member
	MFA bool `json:"mfa"`
}

type deletion struct {
	ID          int64      `json:"id"`
	TenantSlug  string     `json:"tenant_slug"`
	Reason      string     `json:"reason"`
	Status      string     `json:"status"`
	RequestedBy int64      `json:"requested_by"`
	RequestedAt time.Time  `json:"requested_at"`
	ApprovedBy  *int64     `json:"approved_by"`
	DeleteAfter *time.Time `json:"delete_after"`
}

type breakGlass struct {
	ID         int64     `json:"id"`
	OperatorID int64     `json:"operator_id"`
	Reason     string    `json:"reason"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

type tenantView struct {
	Overview struct {
		Tenant       hqTenant         `json:"tenant"`
		Members      []memberMFA      `json:"members"`
		MFACoverage  float64          `json:"mfa_coverage"`
		StorageBytes int64            `json:"storage_bytes"`
		FilesByScan  map[string]int64 `json:"files_by_scan"`
		LastActivity *time.Time       `json:"last_activity"`
	} `json:"overview"`
	Audit        []core.AuditEvent `json:"audit"`
	Deletion     *deletion         `json:"deletion"`
	GraceSeconds int64             `json:"grace_seconds"`
	BreakGlass   []breakGlassRow   `json:"break_glass"`
	// Operators names the operators the page mentions by id.
	Operators    map[int64]string `json:"-"`
	MyBreakGlass *breakGlass      `json:"my_break_glass"`
	// Derived for the template.
	Coverage     string
	Storage      string
	Grace        string
	Plans        []string
	Me           int64
	MineToVote   bool // the open request is this operator's own
	BreakGlassTo string
	// The break-glass file viewer and the filtered audit list.
	Content tenantContent
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func (s *Server) consoleTenant(w http.ResponseWriter, r *http.Request, o core.Operator) {
	s.renderConsoleTenant(w, r, o, http.StatusOK, flashes[r.URL.Query().Get("flash")], ui.Problem{}, nil)
}

// The tenant page has several forms; pr and form are qualified with the
// one that was sent (tenantForms).
func (s *Server) renderConsoleTenant(w http.ResponseWriter, r *http.Request, o core.Operator, status int, flash string, pr ui.Problem, form map[string]string) {
	path, ok := tenantPath(r)
	if !ok {
		s.Views.Render(w, http.StatusNotFound, "message", ui.Page{Title: "Not found", Site: "hq", Data: "No such tenant."})
		return
	}
	var d tenantView
	if err := s.API.Call(w, r, http.MethodGet, path+"/overview", nil, &d); err != nil {
		s.fail(w, r, err)
		return
	}
	if bad, err := s.loadTenantContent(w, r, path, &d); err != nil {
		s.fail(w, r, err)
		return
	} else if bad.Message != "" && pr.Message == "" {
		pr = bad
		if status == http.StatusOK {
			status = http.StatusUnprocessableEntity
		}
	}
	var ops operatorsView
	if err := s.API.Call(w, r, http.MethodGet, "/api/hq/operators", nil, &ops); err != nil {
		s.fail(w, r, err)
		return
	}
	d.Operators = map[int64]string{}
	for _, op := range ops.Operators {
		d.Operators[op.ID] = op.Name
	}
	d.Coverage = fmt.Sprintf("%.0f%%", d.Overview.MFACoverage*100)
	d.Storage = humanBytes(d.Overview.StorageBytes)
	d.Grace = core.HumanDuration(time.Duration(d.GraceSeconds) * time.Second)
	d.Plans, d.Me = plans, o.ID
	d.MineToVote = d.Deletion != nil && d.Deletion.RequestedBy == o.ID
	p := s.page(r, o, d.Overview.Tenant.Name)
	p.Data, p.Flash, p.Form = d, flash, form
	p.Show(pr)
	s.Views.Render(w, status, "hq_tenant", p)
}

// OperatorName is how the page names an operator id: their name, or "a
// former operator" for one no longer listed.
func (d tenantView) OperatorName(id int64) string {
	if n, ok := d.Operators[id]; ok && n != "" {
		return n
	}
	return "a former operator"
}

// tenantAction posts a form's fields to an API route under the tenant and
// comes back to the tenant page, showing the API's message on a 4xx.
func (s *Server) tenantAction(w http.ResponseWriter, r *http.Request, o core.Operator, method, suffix string, fields func(url.Values) any, flash string) {
	path, ok := tenantPath(r)
	if !ok {
		s.Views.Render(w, http.StatusNotFound, "message", ui.Page{Title: "Not found", Site: "hq", Data: "No such tenant."})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.renderConsoleTenant(w, r, o, http.StatusBadRequest, "", ui.Banner("The form could not be read."), nil)
		return
	}
	var body any
	if fields != nil {
		body = fields(r.PostForm)
	}
	if err := s.API.Call(w, r, method, path+suffix, body, nil); err != nil {
		if e, ok := bff.AsAPIError(err); ok && e.Status < 500 && !e.LoginNeeded() && e.Kind != wire.KindNotFound {
			// The form comes back as it was sent, its error at its field.
			name := tenantForms[suffix]
			form := map[string]string{}
			for k := range r.PostForm {
				form[name+"."+k] = r.PostForm.Get(k)
			}
			s.renderConsoleTenant(w, r, o, e.Status, "", ui.Problem{Field: e.Field, Message: e.Message}.In(name), form)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, strings.TrimPrefix(path, "/api/hq")+"?flash="+url.QueryEscape(flash), http.StatusSeeOther) // #nosec G710 -- tenantPath rebuilds the path from a parsed positive integer (/tenants/<n> on this host); flash is a constant of the caller
}

// tenantForms name the tenant page's forms by the route they post to.
var tenantForms = map[string]string{"": "rename", "/owner-invitation": "owner", "/deletion": "deletion", "/break-glass": "break_glass"}

func (s *Server) consoleRename(w http.ResponseWriter, r *http.Request, o core.Operator) {
	s.tenantAction(w, r, o, http.MethodPatch, "", func(f url.Values) any {
		return map[string]string{"name": f.Get("name"), "plan": f.Get("plan")}
	}, "saved")
}

func (s *Server) consoleInviteOwner(w http.ResponseWriter, r *http.Request, o core.Operator) {
	s.tenantAction(w, r, o, http.MethodPost, "/owner-invitation", func(f url.Values) any {
		return map[string]string{"email": f.Get("email")}
	}, "owner_invited")
}

func (s *Server) consoleRequestDeletion(w http.ResponseWriter, r *http.Request, o core.Operator) {
	s.tenantAction(w, r, o, http.MethodPost, "/deletion", func(f url.Values) any {
		return map[string]string{"confirm": f.Get("confirm"), "reason": f.Get("reason")}
	}, "deletion_requested")
}

func (s *Server) consoleApproveDeletion(w http.ResponseWriter, r *http.Request, o core.Operator) {
	s.tenantAction(w, r, o, http.MethodPost, "/deletion/approve", nil, "deletion_approved")
}

func (s *Server) consoleCancelDeletion(w http.ResponseWriter, r *http.Request, o core.Operator) {
	s.tenantAction(w, r, o, http.MethodDelete, "/deletion", nil, "deletion_cancelled")
}

func (s *Server) consoleBreakGlass(w http.ResponseWriter, r *http.Request, o core.Operator) {
	s.tenantAction(w, r, o, http.MethodPost, "/break-glass", func(f url.Values) any {
		m, _ := strconv.Atoi(f.Get("minutes"))
		return map[string]any{"reason": f.Get("reason"), "minutes": m}
	}, "break_glass_opened")
}

// consoleExport relays the API's archive as a download.
func (s *Server) consoleExport(w http.ResponseWriter, r *http.Request, o core.Operator) {
	path, ok := tenantPath(r)
	if !ok {
		s.Views.Render(w, http.StatusNotFound, "message", ui.Page{Title: "Not found", Site: "hq", Data: "No such tenant."})
		return
	}
	var archive json.RawMessage
	if err := s.API.Call(w, r, http.MethodGet, path+"/export", nil, &archive); err != nil {
		s.fail(w, r, err)
		return
	}
	var head struct {
		Tenant hqTenant `json:"tenant"`
	}
	_ = json.Unmarshal(archive, &head)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="palisade-%s-export.json"`, head.Tenant.Slug))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(archive)
}

var flashes = map[string]string{
	"saved":               "Saved.",
	"owner_invited":       "Invitation sent. The owner sets their password from the link in the mail.",
	"deletion_requested":  "Deletion requested. A second operator must approve it.",
	"deletion_approved":   "Deletion approved. It runs when the grace period ends unless cancelled.",
	"deletion_cancelled":  "Deletion cancelled.",
	"break_glass_opened":  "Break-glass access opened. The tenant's owner sees it in their audit trail.",
	"break_glass_revoked": "Break-glass access ended. The tenant's files are closed again.",
}

type operatorsView struct {
	Operators   []core.Operator `json:"operators"`
	Invitations []struct {
		Email     string    `json:"email"`
		Name      string    `json:"name"`
		ExpiresAt time.Time `json:"expires_at"`
	} `json:"invitations"`
	Me      int64
	Invited string
}

func (s *Server) consoleOperators(w http.ResponseWriter, r *http.Request, o core.Operator) {
	s.renderOperators(w, r, o, http.StatusOK, operatorsView{}, ui.Problem{}, nil)
}

func (s *Server) renderOperators(w http.ResponseWriter, r *http.Request, o core.Operator, status int, v operatorsView, pr ui.Problem, form map[string]string) {
	var d operatorsView
	if err := s.API.Call(w, r, http.MethodGet, "/api/hq/operators", nil, &d); err != nil {
		s.fail(w, r, err)
		return
	}
	d.Me, d.Invited = o.ID, v.Invited
	p := s.page(r, o, "Operators")
	p.Data, p.Form = d, form
	p.Show(pr)
	s.Views.Render(w, status, "hq_operators", p)
}

func (s *Server) consoleInviteOperator(w http.ResponseWriter, r *http.Request, o core.Operator) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.renderOperators(w, r, o, http.StatusBadRequest, operatorsView{}, ui.Banner("The form could not be read."), nil)
		return
	}
	body := map[string]string{"email": r.PostForm.Get("email"), "name": r.PostForm.Get("name")}
	var out struct {
		Invitation struct {
			Email string `json:"email"`
		} `json:"invitation"`
	}
	if err := s.API.Call(w, r, http.MethodPost, "/api/hq/operators", body, &out); err != nil {
		if e, ok := bff.AsAPIError(err); ok && (e.Status == http.StatusUnprocessableEntity || e.Status == http.StatusConflict) {
			s.renderOperators(w, r, o, e.Status, operatorsView{}, ui.Problem{Field: e.Field, Message: e.Message}, body)
			return
		}
		s.fail(w, r, err)
		return
	}
	// The newcomer gets a single-use link by mail and chooses their own
	// password; nothing secret reaches this page.
	s.renderOperators(w, r, o, http.StatusCreated, operatorsView{Invited: out.Invitation.Email}, ui.Problem{}, nil)
}

func (s *Server) consoleOperatorStatus(action string) operatorPage {
	return func(w http.ResponseWriter, r *http.Request, o core.Operator) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			s.Views.Render(w, http.StatusNotFound, "message", ui.Page{Title: "Not found", Site: "hq", Data: "No such operator."})
			return
		}
		if err := s.API.Call(w, r, http.MethodPost, fmt.Sprintf("/api/hq/operators/%d/%s", id, action), map[string]string{}, nil); err != nil {
			if e, ok := bff.AsAPIError(err); ok && (e.Status == http.StatusUnprocessableEntity || e.Status == http.StatusConflict) {
				s.renderOperators(w, r, o, e.Status, operatorsView{}, ui.Banner(e.Message), nil)
				return
			}
			s.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/operators", http.StatusSeeOther)
	}
}

// consoleRoutes adds the lifecycle pages to HQ's mux.
func (s *Server) consoleRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /tenants/{id}/rename", s.authed(s.consoleRename))
	m.HandleFunc("POST /tenants/{id}/owner-invitation", s.authed(s.consoleInviteOwner))
	m.HandleFunc("GET /tenants/{id}/export", s.authed(s.consoleExport))
	m.HandleFunc("POST /tenants/{id}/deletion", s.authed(s.consoleRequestDeletion))
	m.HandleFunc("POST /tenants/{id}/deletion/approve", s.authed(s.consoleApproveDeletion))
	m.HandleFunc("POST /tenants/{id}/deletion/cancel", s.authed(s.consoleCancelDeletion))
	m.HandleFunc("POST /tenants/{id}/break-glass", s.authed(s.consoleBreakGlass))
	s.tenantContentRoutes(m)
	m.HandleFunc("GET /operators", s.authed(s.consoleOperators))
	m.HandleFunc("POST /operators", s.authed(s.consoleInviteOperator))
	m.HandleFunc("POST /operators/{id}/disable", s.authed(s.consoleOperatorStatus("disable")))
	m.HandleFunc("POST /operators/{id}/enable", s.authed(s.consoleOperatorStatus("enable")))
}
