package store_test

import (
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestRevokeBreakGlass: ending a grant closes it at once, only on its own
// tenant, and only once.
func TestRevokeBreakGlass(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		st := testenv.Store(t, driver)
		a, _ := mustSignUp(t, st, "acme", "ada@acme.test")
		b, _ := mustSignUp(t, st, "bolt", "bo@bolt.test")
		g, err := st.Tenant(a.ID).OpenBreakGlass(ctx, 7, "ticket 1: look at a file", time.Hour, ev("hq.break_glass.opened"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Tenant(b.ID).RevokeBreakGlass(ctx, g.ID, ev("hq.break_glass.revoked")); !core.IsNotFound(err) {
			t.Fatalf("another tenant's grant ended: %v", err)
		}
		if _, err := st.Tenant(a.ID).ActiveBreakGlass(ctx, 7); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Tenant(a.ID).RevokeBreakGlass(ctx, g.ID, ev("hq.break_glass.revoked")); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Tenant(a.ID).ActiveBreakGlass(ctx, 7); !core.IsNotFound(err) {
			t.Fatalf("grant still active after revocation: %v", err)
		}
		if _, err := st.Tenant(a.ID).RevokeBreakGlass(ctx, g.ID, ev("hq.break_glass.revoked")); !core.IsNotFound(err) {
			t.Fatalf("second revocation: %v", err)
		}
	})
}

// TestFilteredAuditEvents: the action prefix takes LIKE's wildcards
// literally, and the date range is on created_at.
func TestFilteredAuditEvents(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		st := testenv.Store(t, driver)
		day := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
		st.Now = func() time.Time { return day.Add(-48 * time.Hour) }
		a, _ := mustSignUp(t, st, "acme", "ada@acme.test") // two days before
		st.Now = func() time.Time { return day }
		for _, act := range []string{"hq.break_glass.opened", "hq.breakXglass.opened", "hq.break_glass", "hq.break_glassy.opened"} {
			e := ev(act)
			e.TenantID = &a.ID
			if err := st.Audit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		count := func(f store.AuditFilter) int {
			t.Helper()
			p, err := st.Tenant(a.ID).FilteredAuditEvents(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			return len(p.Events)
		}
		if n := count(store.AuditFilter{Action: "hq.break_glass"}); n != 2 {
			t.Fatalf("prefix hq.break_glass matched %d, want the exact one and hq.break_glass.opened", n)
		}
		if n := count(store.AuditFilter{From: day.Truncate(24 * time.Hour), To: day.Truncate(24 * time.Hour).Add(24 * time.Hour)}); n != 4 {
			t.Fatalf("the day's events: %d", n)
		}
		if n := count(store.AuditFilter{From: day.Add(time.Hour)}); n != 0 {
			t.Fatalf("after the events: %d", n)
		}
	})
}
