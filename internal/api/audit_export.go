package api

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/store"
)

// exportAudit streams the tenant's whole trail (or a time range of it) as
// CSV or JSON, oldest first, with each event's chain link so the file can
// be checked on its own. Owners and admins only; the export is audited.
func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	format := q.Get("format")
	if format != "csv" && format != "json" {
		return core.Invalid("format", "must be csv or json")
	}
	from, err := queryTime(r, "from", time.Unix(0, 0))
	if err != nil {
		return err
	}
	to, err := queryTime(r, "to", s.Store.Now().Add(time.Minute))
	if err != nil {
		return err
	}
	if !to.After(from) {
		return core.Invalid("to", "must be after from")
	}
	ev := s.event(r, "audit.exported")
	ev.Detail = fmt.Sprintf("format=%s from=%s to=%s", format, from.Format(time.RFC3339), to.Format(time.RFC3339))
	if err := s.Store.Audit(r.Context(), ev); err != nil {
		return err
	}
	rc := reqCtx(r)
	name := fmt.Sprintf("audit-%s-%s.%s", rc.tenant.Slug, s.Store.Now().UTC().Format("20060102T150405Z"), format)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	ts := s.tenantStore(r)
	// Once the first byte is out an error can only end the stream; it is
	// logged so a truncated download is explained.
	if format == "json" {
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		fmt.Fprintf(w, `{"tenant_id":%d,"events":[`, rc.tenant.ID)
		first := true
		err := ts.ExportAudit(r.Context(), from.UnixMilli(), to.UnixMilli(), func(ce store.ChainedEvent) error {
			if !first {
				if _, err := w.Write([]byte(",")); err != nil {
					return err
				}
			}
			first = false
			b, err := json.Marshal(exportedEvent(ce))
			if err != nil {
				return err
			}
			_, err = w.Write(b)
			return err
		})
		if err != nil {
			s.Log.ErrorContext(r.Context(), "audit export cut short", "err", err)
			return nil
		}
		_, _ = w.Write([]byte("]}\n"))
		return nil
	}
	h.Set("Content-Type", "text/csv; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "created_at", "actor_type", "actor_id", "action", "target", "outcome", "ip", "user_agent", "request_id", "detail", "chain_seq", "prev_hash", "hash"})
	err = ts.ExportAudit(r.Context(), from.UnixMilli(), to.UnixMilli(), func(ce store.ChainedEvent) error {
		actor := ""
		if ce.ActorID != nil {
			actor = strconv.FormatInt(*ce.ActorID, 10)
		}
		return cw.Write([]string{strconv.FormatInt(ce.ID, 10), ce.CreatedAt.Format(time.RFC3339Nano), ce.ActorType, actor,
			cell(ce.Action), cell(ce.Target), ce.Outcome, cell(ce.IP), cell(ce.UserAgent), cell(ce.RequestID), cell(ce.Detail),
			strconv.FormatInt(ce.Seq, 10), ce.PrevHash, ce.Hash})
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if err != nil {
		s.Log.ErrorContext(r.Context(), "audit export cut short", "err", err)
	}
	return nil
}

// exportedEvent flattens a chained event for JSON: the chain link sits
// beside the event's own fields, as in the CSV.
func exportedEvent(ce store.ChainedEvent) map[string]any {
	b, _ := json.Marshal(ce.AuditEvent)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["chain_seq"], m["prev_hash"], m["hash"] = ce.Seq, ce.PrevHash, ce.Hash
	return m
}

// cell defuses spreadsheet formulas: a user agent or detail starting with
// = + - @ would otherwise run as a formula when the CSV is opened. The JSON
// export keeps values byte-exact, for recomputing the hashes.
func cell(v string) string {
	if v != "" && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r') {
		return "'" + v
	}
	return v
}

// queryTime reads an optional RFC 3339 time or YYYY-MM-DD date.
func queryTime(r *http.Request, name string, def time.Time) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, core.Invalid(name, "%s must be a date (2026-01-31) or an RFC 3339 time (2026-01-31T12:00:00Z)", name)
}

// hqVerifyAudit recomputes every chain on demand and records the result on
// the platform trail, as the daily job does.
func (s *Server) hqVerifyAudit(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.Store.VerifyAuditChains(r.Context())
	if err != nil {
		return err
	}
	if err := s.Store.RecordAuditVerification(r.Context(), rep, "operator"); err != nil {
		return err
	}
	if !rep.OK() {
		s.Log.ErrorContext(r.Context(), "audit trail broken", "breaks", len(rep.Breaks), "report", rep.String())
	}
	if rep.Breaks == nil {
		rep.Breaks = []store.AuditBreak{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"ok": rep.OK(), "report": rep})
	return nil
}
