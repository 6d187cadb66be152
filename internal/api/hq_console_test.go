package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/testenv"
)

func TestHQTenantSearchAndOverview(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		acme, a := s.signUp("acme", "ada@acme.test")
		s.member(acme, "mo@acme.test")
		s.enrolTOTP(acme, "/api/mfa/totp")
		_, b := s.signUp("bolt", "bo@bolt.test")
		op := s.operator("ops@palisade.test")

		want(t, op.do("PATCH", fmt.Sprintf("/api/hq/tenants/%d", b.ID), map[string]string{"name": "Bolt Ltd", "plan": "business"}), http.StatusOK)
		r := op.do("PATCH", fmt.Sprintf("/api/hq/tenants/%d", b.ID), map[string]string{"name": "Bolt Ltd", "plan": "gold"})
		want(t, r, http.StatusUnprocessableEntity)
		want(t, op.do("PATCH", "/api/hq/tenants/99999", map[string]string{"name": "X", "plan": "free"}), http.StatusNotFound)

		var list struct {
			Tenants []struct {
				Slug string `json:"slug"`
				Plan string `json:"plan"`
			} `json:"tenants"`
			Total int `json:"total"`
		}
		op.do("GET", "/api/hq/tenants?plan=business", nil).json(t, &list)
		if list.Total != 1 || list.Tenants[0].Slug != "bolt" || list.Tenants[0].Plan != "business" {
			t.Fatalf("plan filter: %+v", list)
		}
		op.do("GET", "/api/hq/tenants?sort=slug&dir=asc", nil).json(t, &list)
		if list.Total != 2 || list.Tenants[0].Slug != "acme" || list.Tenants[1].Slug != "bolt" {
			t.Fatalf("sorted: %+v", list)
		}
		for _, bad := range []string{"sort=password", "dir=up", "plan=gold", "created_from=yesterday", "created_from=2026-02-01&created_to=2026-01-01", "status=gone"} {
			want(t, op.do("GET", "/api/hq/tenants?"+bad, nil), http.StatusUnprocessableEntity)
		}

		var ov struct {
			Overview struct {
				Members []struct {
					Email string `json:"email"`
					MFA   bool   `json:"mfa"`
				} `json:"members"`
				MFACoverage float64 `json:"mfa_coverage"`
			} `json:"overview"`
			Audit []core.AuditEvent `json:"audit"`
		}
		op.do("GET", fmt.Sprintf("/api/hq/tenants/%d/overview", a.ID), nil).json(t, &ov)
		if len(ov.Overview.Members) != 2 || ov.Overview.MFACoverage != 0.5 || len(ov.Audit) == 0 {
			t.Fatalf("acme overview: %+v", ov)
		}
		for _, m := range ov.Overview.Members {
			if m.Email == "bo@bolt.test" {
				t.Fatal("bolt's owner listed in acme's overview")
			}
			if m.MFA != (m.Email == "ada@acme.test") {
				t.Fatalf("mfa flag of %s: %v", m.Email, m.MFA)
			}
		}

		// Tenant users never reach HQ routes, not even on their own tenant.
		want(t, acme.do("GET", fmt.Sprintf("/api/hq/tenants/%d/overview", a.ID), nil), http.StatusNotFound)

		// Export: the tenant's rows and trail, without secrets.
		r = op.do("GET", fmt.Sprintf("/api/hq/tenants/%d/export", a.ID), nil)
		want(t, r, http.StatusOK)
		var ex struct {
			Tenant  struct{ Slug string } `json:"tenant"`
			Members []json.RawMessage     `json:"members"`
		}
		r.json(t, &ex)
		if ex.Tenant.Slug != "acme" || len(ex.Members) != 2 || strings.Contains(string(r.body), "argon2") || strings.Contains(string(r.body), "bo@bolt.test") {
			t.Fatalf("export: %s", r.body)
		}
		if !strings.Contains(r.header.Get("Content-Disposition"), "palisade-acme-export.json") {
			t.Fatalf("export headers: %v", r.header)
		}
	})
}

func TestHQFourEyesDeletion(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		_, a := s.signUp("acme", "ada@acme.test")
		first := s.operator("first@palisade.test")
		second := s.operator("second@palisade.test")
		path := fmt.Sprintf("/api/hq/tenants/%d/deletion", a.ID)

		want(t, first.do("POST", path+"/approve", nil), http.StatusNotFound)
		r := first.do("POST", path, map[string]string{"confirm": "acme-typo", "reason": "contract ended"})
		want(t, r, http.StatusUnprocessableEntity)
		want(t, first.do("POST", path, map[string]string{"confirm": "acme", "reason": " "}), http.StatusUnprocessableEntity)
		want(t, first.do("POST", path, map[string]string{"confirm": "acme", "reason": "contract ended"}), http.StatusCreated)
		want(t, second.do("POST", path, map[string]string{"confirm": "acme", "reason": "again"}), http.StatusConflict)

		// The requester cannot approve their own request; the refusal is audited.
		r = first.do("POST", path+"/approve", nil)
		want(t, r, http.StatusForbidden)
		evs, _ := s.st.Tenant(a.ID).AuditEvents(t.Context(), 0, 1)
		if len(evs) != 1 || evs[0].Action != "hq.tenant.deletion_approved" || evs[0].Outcome != "denied" {
			t.Fatalf("denied self-approval not audited: %+v", evs)
		}

		r = second.do("POST", path+"/approve", nil)
		want(t, r, http.StatusOK)
		var out struct {
			Deletion struct {
				Status      string `json:"status"`
				DeleteAfter string `json:"delete_after"`
			} `json:"deletion"`
		}
		r.json(t, &out)
		if out.Deletion.Status != "approved" || out.Deletion.DeleteAfter == "" {
			t.Fatalf("approval: %s", r.body)
		}
		want(t, second.do("POST", path+"/approve", nil), http.StatusConflict)

		// Cancel before it runs; then the tenant is untouched.
		want(t, first.do("DELETE", path, nil), http.StatusNoContent)
		want(t, first.do("GET", fmt.Sprintf("/api/hq/tenants/%d", a.ID), nil), http.StatusOK)

		// Every operator action is also on the platform chain.
		var platform int
		all, _ := s.st.AllAuditEvents(t.Context(), 0, 200)
		for _, ev := range all {
			if ev.TenantID == nil && strings.HasPrefix(ev.Action, "hq.tenant.deletion_") {
				platform++
			}
		}
		if platform != 3 { // requested, approved, cancelled
			t.Fatalf("%d deletion events on the platform chain", platform)
		}
	})
}

func TestHQBreakGlass(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		owner, a := s.signUp("acme", "ada@acme.test")
		_, b := s.signUp("bolt", "bo@bolt.test")
		op := s.operator("ops@palisade.test")

		// Without a grant, neither the file list (names are content) nor a download.
		want(t, op.do("GET", fmt.Sprintf("/api/hq/tenants/%d/files", a.ID), nil), http.StatusForbidden)
		r := op.do("GET", fmt.Sprintf("/api/hq/tenants/%d/files/1/download-url", a.ID), nil)
		want(t, r, http.StatusForbidden)

		bg := fmt.Sprintf("/api/hq/tenants/%d/break-glass", a.ID)
		want(t, op.do("POST", bg, map[string]any{"reason": "short", "minutes": 30}), http.StatusUnprocessableEntity)
		want(t, op.do("POST", bg, map[string]any{"reason": "ticket 4711: invoice will not open", "minutes": 100000}), http.StatusUnprocessableEntity)
		want(t, op.do("POST", bg, map[string]any{"reason": "ticket 4711: invoice will not open", "minutes": 30}), http.StatusCreated)

		// The owner sees it in their own audit trail.
		var page struct {
			Events []core.AuditEvent `json:"events"`
		}
		owner.do("GET", "/api/audit", nil).json(t, &page)
		found := false
		for _, ev := range page.Events {
			if ev.Action == "hq.break_glass.opened" && strings.Contains(ev.Detail, "ticket 4711") && ev.ActorType == "operator" {
				found = true
			}
		}
		if !found {
			t.Fatalf("break-glass not in the owner's trail: %+v", page.Events)
		}

		// A grant for acme opens nothing of bolt.
		r = op.do("GET", fmt.Sprintf("/api/hq/tenants/%d/files/1/download-url", b.ID), nil)
		want(t, r, http.StatusForbidden)
		if r.errorCode() == "" {
			t.Fatalf("refusal without an error body: %s", r.body)
		}
	})
}

func TestHQOperatorsAndHealth(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		op := s.operator("ops@palisade.test")
		r := op.do("POST", "/api/hq/operators", map[string]string{"email": "new@palisade.test", "name": "New"})
		want(t, r, http.StatusCreated)
		want(t, op.do("POST", "/api/hq/operators", map[string]string{"email": "not-an-email", "name": "New"}), http.StatusUnprocessableEntity)
		newcomer := s.browser("admin.localhost:3000")
		r = newcomer.do("POST", "/api/hq/invitations/accept", map[string]string{"token": linkToken(t, s.lastMail("new@palisade.test").Body, "/invitations/"), "password": "the newcomer's own passphrase"})
		want(t, r, http.StatusOK)
		var inv struct {
			Operator core.Operator `json:"operator"`
		}
		r.json(t, &inv)
		want(t, op.do("POST", "/api/hq/operators", map[string]string{"email": "new@palisade.test", "name": "New"}), http.StatusConflict)
		// Only half logged in until a second factor is enrolled.
		want(t, newcomer.do("GET", "/api/hq/me", nil), http.StatusForbidden)

		var me struct {
			Operator core.Operator `json:"operator"`
		}
		op.do("GET", "/api/hq/me", nil).json(t, &me)
		want(t, op.do("POST", fmt.Sprintf("/api/hq/operators/%d/disable", me.Operator.ID), nil), http.StatusUnprocessableEntity)
		want(t, op.do("POST", fmt.Sprintf("/api/hq/operators/%d/disable", inv.Operator.ID), nil), http.StatusOK)
		// A disabled operator's session stops working at once.
		want(t, newcomer.do("GET", "/api/hq/mfa", nil), http.StatusUnauthorized)
		want(t, op.do("POST", fmt.Sprintf("/api/hq/operators/%d/enable", inv.Operator.ID), nil), http.StatusOK)

		all, _ := s.st.AllAuditEvents(t.Context(), 0, 50)
		seen := map[string]bool{}
		for _, ev := range all {
			if ev.TenantID == nil && ev.ActorType == "operator" {
				seen[ev.Action] = true
			}
		}
		for _, a := range []string{"hq.operator.invited", "hq.operator.invitation_accepted", "hq.operator.disabled", "hq.operator.enabled"} {
			if !seen[a] {
				t.Fatalf("%s missing from the platform chain: %v", a, seen)
			}
		}

		r = op.do("GET", "/api/hq/health", nil)
		want(t, r, http.StatusOK)
		var h struct {
			Queues []struct{ Name string } `json:"queues"`
		}
		r.json(t, &h)
		if len(h.Queues) == 0 {
			t.Fatalf("health without queues: %s", r.body)
		}
	})
}
