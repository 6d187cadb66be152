package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
	"github.com/palisade-hq/palisade/internal/wire"
)

func (r resp) errorField() string {
	var e httpx.ErrorBody
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Field
}

// errorReason is the reason of an error response.
func (r resp) errorReason() string {
	var e httpx.ErrorBody
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Reason
}

func operatorID(t *testing.T, op *browser) int64 {
	t.Helper()
	var me struct {
		Operator core.Operator `json:"operator"`
	}
	op.do("GET", "/api/hq/me", nil).json(t, &me)
	return me.Operator.ID
}

type hqFileList struct {
	Files []struct {
		ID       int64  `json:"id"`
		Name     string `json:"name"`
		TypeName string `json:"type_name"`
		Status   string `json:"status"`
	} `json:"files"`
	BreakGlass struct {
		ID int64 `json:"id"`
	} `json:"break_glass"`
}

// seedFile records a file's metadata as an upload and a scan would.
func seedFile(t *testing.T, st *store.Store, tenantID, uploader int64, name, ct, status string) store.File {
	t.Helper()
	ts := st.Tenant(tenantID)
	f, err := ts.CreateFile(context.Background(), store.File{UploaderID: uploader, Name: name, ContentType: ct, Size: 2048, Bucket: "b"},
		func(id int64) string { return fmt.Sprintf("t/%d/%d", tenantID, id) }, core.AuditEvent{Action: "file.upload_url_issued"})
	if err != nil {
		t.Fatal(err)
	}
	if status != store.FilePending {
		if f, _, err = ts.RecordScan(context.Background(), f.ID, "v1", status, "", core.AuditEvent{Action: "file.scanned"}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// TestHQBreakGlassFileViewer: the tenant's file list opens only with the
// operator's own active grant, checked on every request: no grant → 403;
// grant → the list; revoked → 403 again; expired → 403; a colleague's grant
// opens nothing. Refusals are on the tenant's trail.
func TestHQBreakGlassFileViewer(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		_, a := s.signUp("acme", "ada@acme.test")
		owner, err := s.st.UserByEmail(t.Context(), "ada@acme.test")
		if err != nil {
			t.Fatal(err)
		}
		seedFile(t, s.st, a.ID, owner.ID, "contract.pdf", "application/pdf", store.FileClean)
		seedFile(t, s.st, a.ID, owner.ID, "notes.txt", "text/plain", store.FilePending)
		seedFile(t, s.st, a.ID, owner.ID, "bad.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", store.FileInfected)
		op := s.operator("ops@palisade.test")
		colleague := s.operator("colleague@palisade.test")
		list := fmt.Sprintf("/api/hq/tenants/%d/files", a.ID)

		r := op.do("GET", list, nil)
		want(t, r, http.StatusForbidden)
		if r.errorReason() != wire.ReasonBreakGlassMissing || r.errorField() != "break_glass" {
			t.Fatalf("refusal without reason break_glass_missing: %s", r.body)
		}
		want(t, op.do("GET", "/api/hq/tenants/99999/files", nil), http.StatusNotFound)

		r = op.do("POST", fmt.Sprintf("/api/hq/tenants/%d/break-glass", a.ID), map[string]any{"reason": "ticket 4711: contract will not open", "minutes": 30})
		want(t, r, http.StatusCreated)
		var grant struct {
			BreakGlass struct {
				ID int64 `json:"id"`
			} `json:"break_glass"`
		}
		r.json(t, &grant)

		var fl hqFileList
		r = op.do("GET", list, nil)
		want(t, r, http.StatusOK)
		r.json(t, &fl)
		if len(fl.Files) != 3 || fl.BreakGlass.ID != grant.BreakGlass.ID {
			t.Fatalf("file list under the grant: %s", r.body)
		}
		types := map[string]string{}
		for _, f := range fl.Files {
			types[f.Name] = f.TypeName + "/" + f.Status
		}
		if types["contract.pdf"] != "PDF/clean" || !strings.HasSuffix(types["notes.txt"], "/pending") || !strings.HasSuffix(types["bad.docx"], "/infected") || strings.Contains(types["bad.docx"], "openxml") {
			t.Fatalf("types and statuses: %v", types)
		}
		// The grant is the operator's own: the colleague is still refused.
		want(t, colleague.do("GET", list, nil), http.StatusForbidden)

		// Revoking closes it at once; a second revoke finds nothing to end.
		revoke := fmt.Sprintf("/api/hq/tenants/%d/break-glass/%d/revoke", a.ID, grant.BreakGlass.ID)
		want(t, op.do("POST", revoke, nil), http.StatusOK)
		want(t, op.do("GET", list, nil), http.StatusForbidden)
		want(t, op.do("GET", fmt.Sprintf("/api/hq/tenants/%d/files/1/download-url", a.ID), nil), http.StatusForbidden)
		want(t, op.do("POST", revoke, nil), http.StatusNotFound)
		want(t, op.do("POST", fmt.Sprintf("/api/hq/tenants/%d/break-glass/abc/revoke", a.ID), nil), http.StatusUnprocessableEntity)

		// A grant that lapses by itself closes the list the same way.
		opID := operatorID(t, op)
		if _, err := s.st.Tenant(a.ID).OpenBreakGlass(t.Context(), opID, "ticket 4712: short look", time.Millisecond, core.AuditEvent{Action: "hq.break_glass.opened", ActorType: "operator", ActorID: &opID}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		want(t, op.do("GET", list, nil), http.StatusForbidden)

		evs, err := s.st.Tenant(a.ID).AuditEvents(t.Context(), 0, 200)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, ev := range evs {
			seen[ev.Action+"/"+ev.Outcome]++
			if ev.Action == "hq.break_glass.revoked" && (ev.ActorType != "operator" || ev.ActorID == nil || *ev.ActorID != opID || !strings.Contains(ev.Detail, fmt.Sprintf("break-glass %d", grant.BreakGlass.ID))) {
				t.Errorf("revocation event: %+v", ev)
			}
		}
		if seen["hq.break_glass.revoked/success"] != 1 || seen["hq.file.list/denied"] < 4 || seen["hq.file.download/denied"] != 1 {
			t.Fatalf("audit of the viewer: %v", seen)
		}
		// Without an object store, a download under a grant says so.
		want(t, op.do("POST", fmt.Sprintf("/api/hq/tenants/%d/break-glass", a.ID), map[string]any{"reason": "ticket 4713: once more", "minutes": 5}), http.StatusCreated)
		want(t, op.do("GET", fmt.Sprintf("/api/hq/tenants/%d/files/1/download-url", a.ID), nil), http.StatusNotFound)
	})
}

// TestHQBreakGlassDownloadOnlyClean: through a grant an operator downloads
// a Clean file (the bytes come back), is refused a pending (409) and an
// infected (403) one, each attempt audited with the grant's id; after the
// grant is revoked the download is refused.
func TestHQBreakGlassDownloadOnlyClean(t *testing.T) {
	s := newFilesStack(t, "sqlite", testenv.Clamd(t), nil)
	owner, tn := s.signUp("acme", "owner@acme.test")
	body := append([]byte("the signed contract\n"), randBytes(4096)...)
	clean := upload(t, owner, "contract.txt", "text/plain", body)
	if f := waitScanned(t, owner, clean.ID); f.Status != store.FileClean {
		t.Fatalf("clean file ended %s", f.Status)
	}
	bad := upload(t, owner, "eicar.txt", "text/plain", testenv.EICAR())
	if f := waitScanned(t, owner, bad.ID); f.Status != store.FileInfected {
		t.Fatalf("EICAR ended %s", f.Status)
	}
	pending := announce(t, owner, "later.txt", "text/plain", 10).File

	op := s.operator("ops@palisade.test")
	dl := func(id int64) resp {
		return op.do("GET", fmt.Sprintf("/api/hq/tenants/%d/files/%d/download-url", tn.ID, id), nil)
	}
	want(t, dl(clean.ID), http.StatusForbidden)
	r := op.do("POST", fmt.Sprintf("/api/hq/tenants/%d/break-glass", tn.ID), map[string]any{"reason": "ticket 99: customer asked us to check", "minutes": 30})
	want(t, r, http.StatusCreated)
	var grant struct {
		BreakGlass struct {
			ID int64 `json:"id"`
		} `json:"break_glass"`
	}
	r.json(t, &grant)

	r = dl(clean.ID)
	want(t, r, http.StatusOK)
	var d struct {
		URL string `json:"url"`
	}
	r.json(t, &d)
	res, err := http.Get(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(got) != string(body) {
		t.Fatalf("download through the grant: %d, %d bytes", res.StatusCode, len(got))
	}
	r = dl(pending.ID)
	if r.status != http.StatusConflict || r.errorReason() != wire.ReasonFileScanPending {
		t.Fatalf("pending file: %d %s", r.status, r.body)
	}
	r = dl(bad.ID)
	if r.status != http.StatusForbidden || r.errorReason() != wire.ReasonFileRefused {
		t.Fatalf("infected file: %d %s", r.status, r.body)
	}

	evs, err := s.st.Tenant(tn.ID).AuditEvents(t.Context(), 0, 200)
	if err != nil {
		t.Fatal(err)
	}
	mark := fmt.Sprintf("under break-glass %d", grant.BreakGlass.ID)
	outcomes := map[string]int{}
	for _, ev := range evs {
		if ev.Action != "hq.file.download" || !strings.Contains(ev.Detail, mark) {
			continue
		}
		if ev.ActorType != "operator" || ev.ActorID == nil {
			t.Errorf("download event without the operator: %+v", ev)
		}
		outcomes[ev.Outcome]++
		if ev.Outcome == "success" && (ev.Target != fmt.Sprintf("file:%d", clean.ID) || !strings.Contains(ev.Detail, "contract.txt")) {
			t.Errorf("granted download event: %+v", ev)
		}
	}
	if outcomes["success"] != 1 || outcomes["denied"] != 2 {
		t.Fatalf("download events with the grant id: %v", outcomes)
	}

	want(t, op.do("POST", fmt.Sprintf("/api/hq/tenants/%d/break-glass/%d/revoke", tn.ID, grant.BreakGlass.ID), nil), http.StatusOK)
	r = dl(clean.ID)
	if r.status != http.StatusForbidden || r.errorReason() != wire.ReasonBreakGlassMissing {
		t.Fatalf("download after revocation: %d %s", r.status, r.body)
	}
}

type hqAuditPage struct {
	Events []struct {
		ID        int64  `json:"id"`
		Action    string `json:"action"`
		ActorType string `json:"actor_type"`
		Outcome   string `json:"outcome"`
	} `json:"events"`
	Older int64 `json:"older_before"`
	Newer int64 `json:"newer_after"`
}

// TestHQTenantAuditFilters: more than 50 events page by keyset in both
// directions; each filter narrows on the server; invalid values are 422
// naming the parameter.
func TestHQTenantAuditFilters(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		_, a := s.signUp("acme", "ada@acme.test")
		_, b := s.signUp("bolt", "bo@bolt.test")
		op := s.operator("ops@palisade.test")
		ctx := t.Context()
		// 60 seeded events: every third one by an operator and denied.
		for i := range 60 {
			ev := core.AuditEvent{TenantID: &a.ID, ActorType: "user", Action: "member.updated", Outcome: store.OutcomeSuccess, Detail: fmt.Sprintf("seed %d", i)}
			if i%3 == 0 {
				ev.ActorType, ev.Action, ev.Outcome = "operator", "hq.break_glass.opened", store.OutcomeDenied
			}
			if err := s.st.Audit(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.st.Audit(ctx, core.AuditEvent{TenantID: &b.ID, ActorType: "operator", Action: "hq.break_glass.opened", Outcome: store.OutcomeDenied}); err != nil {
			t.Fatal(err)
		}
		all, err := s.st.Tenant(a.ID).AuditEvents(ctx, 0, 500)
		if err != nil {
			t.Fatal(err)
		}
		total := len(all)
		base := fmt.Sprintf("/api/hq/tenants/%d/audit", a.ID)
		get := func(q string) hqAuditPage {
			t.Helper()
			r := op.do("GET", base+q, nil)
			want(t, r, http.StatusOK)
			var p hqAuditPage
			r.json(t, &p)
			return p
		}

		first := get("")
		if len(first.Events) != 50 || first.Older == 0 || first.Newer != 0 || first.Events[0].ID != all[0].ID {
			t.Fatalf("first page: %d events, older %d, newer %d", len(first.Events), first.Older, first.Newer)
		}
		second := get(fmt.Sprintf("?before=%d", first.Older))
		if len(second.Events) != total-50 || second.Older != 0 || second.Newer == 0 || second.Events[0].ID != all[50].ID {
			t.Fatalf("second page: %d events of %d, older %d, newer %d", len(second.Events), total-50, second.Older, second.Newer)
		}
		back := get(fmt.Sprintf("?after=%d", second.Newer))
		if len(back.Events) != 50 || back.Events[0].ID != first.Events[0].ID || back.Events[49].ID != first.Events[49].ID || back.Newer != 0 || back.Older != first.Older {
			t.Fatalf("newer from the second page is not the first: %+v", back)
		}

		ops := get("?actor_type=operator")
		if len(ops.Events) != 20 || ops.Older != 0 {
			t.Fatalf("actor_type=operator: %d events", len(ops.Events))
		}
		for _, ev := range ops.Events {
			if ev.ActorType != "operator" {
				t.Fatalf("actor filter let through %+v", ev)
			}
		}
		if p := get("?outcome=denied"); len(p.Events) != 20 || p.Events[0].Outcome != "denied" {
			t.Fatalf("outcome=denied: %d", len(p.Events))
		}
		// A dotted prefix matches whole segments only.
		if p := get("?action=hq.break_glass"); len(p.Events) != 20 {
			t.Fatalf("action prefix: %d", len(p.Events))
		}
		if p := get("?action=hq.break"); len(p.Events) != 0 {
			t.Fatalf("action prefix inside a segment matched %d", len(p.Events))
		}
		if p := get("?action=member.updated&outcome=success&actor_type=user"); len(p.Events) != 40 {
			t.Fatalf("combined filters: %d", len(p.Events))
		}
		// Filters and paging together: 40 user events = 40 on one page.
		today := time.Now().UTC().Format(time.DateOnly)
		tomorrow := time.Now().UTC().Add(24 * time.Hour).Format(time.DateOnly)
		yesterday := time.Now().UTC().Add(-24 * time.Hour).Format(time.DateOnly)
		if p := get("?from=" + today + "&to=" + today); len(p.Events) != 50 || p.Older == 0 {
			t.Fatalf("today: %d", len(p.Events))
		}
		if p := get("?from=" + tomorrow); len(p.Events) != 0 {
			t.Fatalf("from tomorrow: %d", len(p.Events))
		}
		if p := get("?to=" + yesterday); len(p.Events) != 0 {
			t.Fatalf("to yesterday: %d", len(p.Events))
		}

		for q, field := range map[string]string{
			"?actor_type=robot":                  "actor_type",
			"?outcome=maybe":                     "outcome",
			"?action=DROP%20TABLE":               "action",
			"?action=" + strings.Repeat("a", 65): "action",
			"?from=yesterday":                    "from",
			"?to=2026-13-01":                     "to",
			"?from=2026-02-01&to=2026-01-01":     "to",
			"?before=0":                          "before",
			"?before=abc":                        "before",
			"?after=-3":                          "after",
			"?before=5&after=3":                  "after",
		} {
			r := op.do("GET", base+q, nil)
			if r.status != http.StatusUnprocessableEntity || r.errorField() != field {
				t.Errorf("%s: %d field %q, want 422 %s: %s", q, r.status, r.errorField(), field, r.body)
			}
		}
		want(t, op.do("GET", "/api/hq/tenants/99999/audit", nil), http.StatusNotFound)
	})
}
