package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestAuditExport: owners download their own tenant's trail as CSV and
// JSON, with chain links; members may not; nothing of another tenant leaks.
func TestAuditExport(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		a, _ := s.signUp("acme", "ada@acme.test")
		b, _ := s.signUp("globex", "bob@globex.test")
		want(t, b.do("POST", "/api/invitations", map[string]string{"email": "carol@globex.test", "role": "member"}), http.StatusCreated)

		r := a.do("GET", "/api/audit/export?format=json", nil)
		want(t, r, http.StatusOK)
		if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="audit-acme-`) {
			t.Errorf("Content-Disposition %q", cd)
		}
		var doc struct {
			TenantID int64            `json:"tenant_id"`
			Events   []map[string]any `json:"events"`
		}
		r.json(t, &doc)
		actions := map[string]bool{}
		prev := ""
		for _, e := range doc.Events {
			if e["prev_hash"] != prev {
				t.Errorf("event %v does not link to its predecessor", e["id"])
			}
			prev = e["hash"].(string)
			actions[e["action"].(string)] = true
			if e["tenant_id"] != float64(doc.TenantID) {
				t.Errorf("acme's export holds %v", e)
			}
		}
		if !actions["tenant.signup"] || !actions["auth.login"] || !actions["audit.exported"] || actions["invitation.created"] {
			t.Errorf("acme's export has actions %v", actions)
		}

		r = a.do("GET", "/api/audit/export?format=csv&from=2000-01-01", nil)
		want(t, r, http.StatusOK)
		recs, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
		if err != nil {
			t.Fatalf("csv: %v", err)
		}
		if recs[0][0] != "id" || recs[0][13] != "hash" || len(recs) != len(doc.Events)+2 {
			t.Fatalf("csv has %d rows (json had %d events): %v", len(recs), len(doc.Events), recs[0])
		}

		for _, q := range []string{"", "?format=xml", "?format=csv&from=yesterday", "?format=json&from=2030-01-01&to=2020-01-01"} {
			want(t, a.do("GET", "/api/audit/export"+q, nil), http.StatusUnprocessableEntity)
		}
		// A member (not a manager) is refused.
		m := s.member(b, "carol@globex.test")
		want(t, m.do("GET", "/api/audit/export?format=json", nil), http.StatusForbidden)
	})
}

// TestHQVerifyAudit: an operator's verification reports a tampered row and
// records the failure on the platform trail.
func TestHQVerifyAudit(t *testing.T) {
	s := newStack(t, "sqlite", nil)
	s.signUp("acme", "ada@acme.test")
	op := s.operator("ops@palisade.test")
	var out struct {
		OK     bool `json:"ok"`
		Report struct {
			Breaks []struct {
				EventID int64 `json:"event_id"`
			} `json:"breaks"`
		} `json:"report"`
	}
	r := op.do("POST", "/api/hq/audit/verify", nil)
	want(t, r, http.StatusOK)
	r.json(t, &out)
	if !out.OK {
		t.Fatalf("fresh trail reported broken: %s", r.body)
	}
	var id int64
	if err := s.st.DB().QueryRowContext(context.Background(), `SELECT MIN(id) FROM audit_events WHERE tenant_id IS NOT NULL`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.st.DB().ExecContext(context.Background(), `UPDATE audit_events SET ip = '192.0.2.1' WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	r = op.do("POST", "/api/hq/audit/verify", nil)
	want(t, r, http.StatusOK)
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatal(err)
	}
	if out.OK || len(out.Report.Breaks) != 1 || out.Report.Breaks[0].EventID != id {
		t.Fatalf("tampered trail: %s", r.body)
	}
	evs, err := s.st.AllAuditEvents(context.Background(), 0, 1)
	if err != nil || evs[0].Action != "audit.verify" || evs[0].Outcome != "failure" {
		t.Fatalf("newest platform event: %+v %v", evs, err)
	}
}
