package hq

import (
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

// The tenant page's break-glass file viewer (shown only while the operator
// holds an active grant; the API checks the grant on every request) and its
// audit list, filtered and paged on the server.

// breakGlassRow is a grant in the tenant page's history.
type breakGlassRow struct {
	breakGlass
	Active bool
}

// hqFileRow is a file as the break-glass viewer lists it.
type hqFileRow struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	TypeName   string     `json:"type_name"`
	Size       int64      `json:"size"`
	Status     string     `json:"status"`
	UploadedAt *time.Time `json:"uploaded_at"`
	CreatedAt  time.Time  `json:"created_at"`
}

// Badge is the words a scan status shows as, as on the tenant's own page.
func (f hqFileRow) Badge() string {
	switch f.Status {
	case "clean":
		return "Clean"
	case "infected":
		return "Blocked: malware found"
	case "error":
		return "Blocked: could not be scanned"
	default:
		return "Pending scan"
	}
}

// auditKeys are the audit list's filters and cursors, in the page's query
// string under the same names as the API's.
var auditKeys = []string{"action", "actor_type", "outcome", "from", "to", "before", "after"}

type tenantContent struct {
	Files     []hqFileRow
	FilesPage int
	FilesPrev string
	FilesNext string
	// FilesError says why the list is not shown although a grant was.
	FilesError string

	Audit       []core.AuditRow
	AuditFilter map[string]string
	AuditOlder  string
	AuditNewer  string
	ActorTypes  []string
	Outcomes    []string
	Filtered    bool
}

// tenantLink is the tenant page with the audit filters of f and the given
// extra parameters (empty values are left out).
func tenantLink(id int64, f map[string]string, extra ...string) string {
	q := url.Values{}
	for _, k := range []string{"action", "actor_type", "outcome", "from", "to"} {
		if f[k] != "" {
			q.Set(k, f[k])
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] != "" {
			q.Set(extra[i], extra[i+1])
		}
	}
	if len(q) == 0 {
		return fmt.Sprintf("/tenants/%d", id)
	}
	return fmt.Sprintf("/tenants/%d?%s", id, q.Encode())
}

// loadTenantContent fills d.Content. A filter the API refuses (422) comes
// back as a message for the page, which then shows the filters as typed and
// no events.
func (s *Server) loadTenantContent(w http.ResponseWriter, r *http.Request, path string, d *tenantView) (ui.Problem, error) {
	now := time.Now()
	for i := range d.BreakGlass {
		d.BreakGlass[i].Active = d.BreakGlass[i].ExpiresAt.After(now)
	}
	c := &d.Content
	c.ActorTypes, c.Outcomes = []string{"user", "operator", "system", "anonymous"}, []string{"success", "failure", "denied"}
	q := r.URL.Query()
	tid := d.Overview.Tenant.ID

	if d.MyBreakGlass != nil {
		fp, err := strconv.Atoi(q.Get("files_page"))
		if err != nil || fp < 1 {
			fp = 1
		}
		var list struct {
			Files []hqFileRow `json:"files"`
			More  bool        `json:"more"`
		}
		err = s.API.Call(w, r, http.MethodGet, fmt.Sprintf("%s/files?page=%d", path, fp), nil, &list)
		if e, ok := bff.AsAPIError(err); ok && (e.Kind == wire.KindForbidden || e.Kind == wire.KindValidation) {
			c.FilesError = e.Message // the grant ended between the two calls
		} else if err != nil {
			return ui.Problem{}, err
		}
		c.Files, c.FilesPage = list.Files, fp
		if fp > 1 {
			c.FilesPrev = fmt.Sprintf("/tenants/%d?files_page=%d#files", tid, fp-1)
		}
		if list.More {
			c.FilesNext = fmt.Sprintf("/tenants/%d?files_page=%d#files", tid, fp+1)
		}
	}

	c.AuditFilter = map[string]string{}
	v := url.Values{}
	for _, k := range auditKeys {
		if x := strings.TrimSpace(q.Get(k)); x != "" {
			c.AuditFilter[k] = x
			v.Set(k, x)
			if k != "before" && k != "after" {
				c.Filtered = true
			}
		}
	}
	var page struct {
		Events []core.AuditRow `json:"events"`
		Older  int64           `json:"older_before"`
		Newer  int64           `json:"newer_after"`
	}
	err := s.API.Call(w, r, http.MethodGet, path+"/audit?"+v.Encode(), nil, &page)
	if e, ok := bff.AsAPIError(err); ok && e.Status == http.StatusUnprocessableEntity {
		return ui.Problem{Field: e.Field, Message: e.Message}.In("audit"), nil
	}
	if err != nil {
		return ui.Problem{}, err
	}
	c.Audit = page.Events
	if page.Older > 0 {
		c.AuditOlder = tenantLink(tid, c.AuditFilter, "before", strconv.FormatInt(page.Older, 10)) + "#audit"
	}
	if page.Newer > 0 {
		c.AuditNewer = tenantLink(tid, c.AuditFilter, "after", strconv.FormatInt(page.Newer, 10)) + "#audit"
	}
	return ui.Problem{}, nil
}

// consoleFileDownload sends the operator's browser to a short-lived
// presigned URL through their break-glass grant, or says why not.
func (s *Server) consoleFileDownload(w http.ResponseWriter, r *http.Request, o core.Operator) {
	path, ok := tenantPath(r)
	fid, err := strconv.ParseInt(r.PathValue("file"), 10, 64)
	if !ok || err != nil || fid <= 0 {
		s.Views.Render(w, http.StatusNotFound, "message", ui.Page{Title: "Not found", Site: "hq", Data: "No such file."})
		return
	}
	var out struct {
		URL string `json:"url"`
	}
	err = s.API.Call(w, r, http.MethodGet, fmt.Sprintf("%s/files/%d/download-url", path, fid), nil, &out)
	if e, ok := bff.AsAPIError(err); ok && (e.Kind == wire.KindConflict || e.Kind == wire.KindForbidden) {
		title := "Not available yet"
		if e.Status == http.StatusForbidden {
			title = "Download refused"
		}
		p := s.page(r, o, title)
		p.Data = e.Message
		s.Views.Render(w, e.Status, "message", p)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// No-store: a cached redirect would outlive the URL and its audit record.
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, out.URL, http.StatusSeeOther)
}

func (s *Server) consoleRevokeBreakGlass(w http.ResponseWriter, r *http.Request, o core.Operator) {
	gid, err := strconv.ParseInt(r.PathValue("grant"), 10, 64)
	if err != nil || gid <= 0 {
		s.Views.Render(w, http.StatusNotFound, "message", ui.Page{Title: "Not found", Site: "hq", Data: "No such grant."})
		return
	}
	s.tenantAction(w, r, o, http.MethodPost, fmt.Sprintf("/break-glass/%d/revoke", gid), func(url.Values) any { return map[string]string{} }, "break_glass_revoked")
}

func (s *Server) tenantContentRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /tenants/{id}/files/{file}/download", s.authed(s.consoleFileDownload))
	m.HandleFunc("POST /tenants/{id}/break-glass/{grant}/revoke", s.authed(s.consoleRevokeBreakGlass))
}
