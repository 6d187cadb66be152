package api

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/files"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/wire"
)

// A tenant's content as HQ sees it: the file list and downloads under a
// break-glass grant (checked on every request), ending a grant early, and
// the tenant's audit trail with filters and paging.

// hqFile is a file as the break-glass viewer lists it.
type hqFile struct {
	store.File
	TypeName string `json:"type_name"`
}

// breakGlassFor returns the operator's active grant for the tenant. Without
// one, the refusal is recorded on the tenant's trail (outcome denied) and
// answered 403 with field break_glass.
func (s *Server) breakGlassFor(r *http.Request, tenantID int64, action, target string) (store.BreakGlass, error) {
	bg, err := s.Store.Tenant(tenantID).ActiveBreakGlass(r.Context(), s.operatorID(r))
	if core.IsNotFound(err) {
		ev := s.event(r, action)
		ev.TenantID, ev.Outcome, ev.Target, ev.Detail = &tenantID, store.OutcomeDenied, target, "no active break-glass grant"
		if aerr := s.Store.Audit(r.Context(), ev); aerr != nil {
			return bg, aerr
		}
		return bg, &core.Error{Kind: core.KindForbidden, Reason: wire.ReasonBreakGlassMissing, Message: "tenant content needs an active break-glass grant of your own: request one with a reason and a time limit"}
	}
	return bg, err
}

// hqTenantFiles lists a tenant's files (names, types, sizes, scan status)
// for an operator holding an active break-glass grant for it: file names
// are content too.
func (s *Server) hqTenantFiles(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.Store.TenantByID(r.Context(), id); err != nil {
		return err
	}
	page, err := queryInt(r, "page", 1, 1, 100_000)
	if err != nil {
		return err
	}
	bg, err := s.breakGlassFor(r, id, "hq.file.list", "files")
	if err != nil {
		return err
	}
	fs, err := s.Store.Tenant(id).Files(r.Context(), hqPageSize+1, (page-1)*hqPageSize)
	if err != nil {
		return err
	}
	more := len(fs) > hqPageSize
	if more {
		fs = fs[:hqPageSize]
	}
	out := make([]hqFile, 0, len(fs))
	for _, f := range fs {
		out = append(out, hqFile{File: f, TypeName: files.TypeName(f.ContentType)})
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"files": out, "page": page, "per_page": hqPageSize, "more": more, "break_glass": bg})
	return nil
}

// hqFileDownload is content access: only with the operator's own active
// break-glass grant for this tenant, only for a file scanned Clean, and
// audited on the tenant's trail with the grant's id, granted or refused.
func (s *Server) hqFileDownload(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	fid, err := pathID(r, "file")
	if err != nil {
		return err
	}
	if _, err := s.Store.TenantByID(r.Context(), id); err != nil {
		return err
	}
	target := "file:" + strconv.FormatInt(fid, 10)
	bg, err := s.breakGlassFor(r, id, "hq.file.download", target)
	if err != nil {
		return err
	}
	if s.Files == nil {
		return &core.Error{Kind: core.KindNotFound, Message: "no object store is configured"}
	}
	ev := s.event(r, "hq.file.download")
	ev.TenantID, ev.Detail = &id, fmt.Sprintf("under break-glass %d", bg.ID)
	d, err := s.Files.DownloadURL(r.Context(), s.Store.Tenant(id), fid, ev)
	var st *files.ScanState
	if errors.As(err, &st) {
		// Break-glass opens content, never an unscanned or refused file.
		ev.Outcome, ev.Target = store.OutcomeDenied, target
		ev.Detail = fmt.Sprintf("under break-glass %d; file is %s", bg.ID, st.Status)
		if aerr := s.Store.Audit(r.Context(), ev); aerr != nil {
			return aerr
		}
		kind, reason := core.KindConflict, wire.ReasonFileScanPending
		if st.Status != store.FilePending {
			kind, reason = core.KindForbidden, wire.ReasonFileRefused
		}
		return &core.Error{Kind: kind, Reason: reason, Message: st.Message}
	}
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, d)
	return nil
}

// hqRevokeBreakGlass ends a grant of the tenant before its time limit. Any
// operator may end any grant (a colleague's too); it is audited.
func (s *Server) hqRevokeBreakGlass(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	gid, err := pathID(r, "grant")
	if err != nil {
		return err
	}
	b, err := s.Store.Tenant(id).RevokeBreakGlass(r.Context(), gid, s.event(r, "hq.break_glass.revoked"))
	if core.IsNotFound(err) {
		return &core.Error{Kind: core.KindNotFound, Message: "no active break-glass grant with that id on this tenant (it may have ended already)"}
	}
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"break_glass": b})
	return nil
}

// hqAuditPerPage is the tenant audit list's page size.
const hqAuditPerPage = 50

var auditActionRE = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)*$`)

// auditActorTypes and auditOutcomes are the values the filters accept.
var (
	auditActorTypes = []string{"user", "operator", "system", "anonymous"}
	auditOutcomes   = []string{store.OutcomeSuccess, store.OutcomeFailure, store.OutcomeDenied}
)

func oneOf(v string, set []string) bool {
	for _, x := range set {
		if v == x {
			return true
		}
	}
	return false
}

// hqTenantAudit pages the tenant's audit trail, newest first, filtered by
// action (exact or dotted prefix), actor type, outcome and a date range,
// with keyset cursors: before=<id> for older events, after=<id> for newer.
func (s *Server) hqTenantAudit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.AuditFilter{Action: q.Get("action"), ActorType: q.Get("actor_type"), Outcome: q.Get("outcome"), Limit: hqAuditPerPage}
	if f.Action != "" && (len(f.Action) > 64 || !auditActionRE.MatchString(f.Action)) {
		return core.Invalid("action", "must be an action name or its start, like file.download or hq.break_glass (lower-case letters, digits, _ and dots)")
	}
	if f.ActorType != "" && !oneOf(f.ActorType, auditActorTypes) {
		return core.Invalid("actor_type", "must be one of user, operator, system, anonymous")
	}
	if f.Outcome != "" && !oneOf(f.Outcome, auditOutcomes) {
		return core.Invalid("outcome", "must be one of success, failure, denied")
	}
	if f.From, err = queryDate(r, "from"); err != nil {
		return err
	}
	if f.To, err = queryDate(r, "to"); err != nil {
		return err
	}
	if !f.To.IsZero() {
		f.To = f.To.Add(24 * time.Hour) // the whole day is included
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return core.Invalid("to", "must not be before from")
	}
	before, err := queryInt(r, "before", 0, 1, 1<<62)
	if err != nil {
		return err
	}
	after, err := queryInt(r, "after", 0, 1, 1<<62)
	if err != nil {
		return err
	}
	if before > 0 && after > 0 {
		return core.Invalid("after", "give before or after, not both")
	}
	f.Before, f.After = int64(before), int64(after)
	if _, err := s.Store.TenantByID(r.Context(), id); err != nil {
		return err
	}
	page, err := s.Store.Tenant(id).FilteredAuditEvents(r.Context(), f)
	if err != nil {
		return err
	}
	rows, err := s.Store.AuditNames(r.Context(), page.Events)
	if err != nil {
		return err
	}
	var older, newer int64
	n := len(page.Events)
	if page.Older {
		older = f.After + 1 // an empty page after a cursor: everything up to it
		if n > 0 {
			older = page.Events[n-1].ID
		}
	}
	if page.Newer {
		newer = f.Before - 1
		if n > 0 {
			newer = page.Events[0].ID
		}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"events": rows, "older_before": older, "newer_after": newer, "per_page": hqAuditPerPage})
	return nil
}
