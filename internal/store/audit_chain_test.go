package store_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// auditTrail writes a few events on two tenants' chains and the platform's,
// and returns the ids of tenant a's events, oldest first.
func auditTrail(t *testing.T, st *store.Store) (core.Tenant, []int64) {
	t.Helper()
	a, _ := mustSignUp(t, st, "acme", "ada@acme.test")
	b, _ := mustSignUp(t, st, "globex", "bob@globex.test")
	for i := range 4 {
		for _, tn := range []core.Tenant{a, b} {
			e := ev("test.event")
			e.TenantID = &tn.ID
			e.Detail = strings.Repeat("x", i)
			if err := st.Audit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Audit(ctx, ev("platform.event")); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := st.Tenant(a.ID).AuditEvents(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := len(evs) - 1; i >= 0; i-- {
		ids = append(ids, evs[i].ID)
	}
	return a, ids
}

func verify(t *testing.T, st *store.Store) store.AuditReport {
	t.Helper()
	rep, err := st.VerifyAuditChains(ctx)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return rep
}

func TestAuditChainIntact(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		st := testenv.Store(t, driver)
		auditTrail(t, st)
		rep := verify(t, st)
		if !rep.OK() || rep.Chains != 3 || rep.Events != 14 {
			t.Fatalf("fresh trail: %s (chains %d, events %d)", rep, rep.Chains, rep.Events)
		}
	})
}

// TestAuditVerifyDetectsEditedRow: changing any column of one row breaks
// its chain at exactly that row, and only that chain.
func TestAuditVerifyDetectsEditedRow(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		for _, edit := range []string{
			`UPDATE audit_events SET detail = 'nothing to see' WHERE id = ?`,
			`UPDATE audit_events SET outcome = 'success', ip = '10.9.9.9' WHERE id = ?`,
			`UPDATE audit_events SET created_at = created_at + 1 WHERE id = ?`,
			`UPDATE audit_events SET actor_id = 42 WHERE id = ?`,
		} {
			st := testenv.Store(t, driver)
			a, ids := auditTrail(t, st)
			target := ids[2]
			if _, err := st.DB().ExecContext(ctx, edit, target); err != nil {
				t.Fatal(err)
			}
			rep := verify(t, st)
			if len(rep.Breaks) != 1 {
				t.Fatalf("%s: want one break, got %s", edit, rep)
			}
			br := rep.Breaks[0]
			if br.EventID != target || br.TenantID == nil || *br.TenantID != a.ID || !strings.Contains(br.Reason, "edited") {
				t.Fatalf("%s: break %+v, want event %d of tenant %d", edit, br, target, a.ID)
			}
		}
	})
}

// TestAuditVerifyDetectsDeletedRow: deleting a row breaks the chain at the
// row after it; deleting the newest row is caught by the chain head.
func TestAuditVerifyDetectsDeletedRow(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		st := testenv.Store(t, driver)
		a, ids := auditTrail(t, st)
		if _, err := st.DB().ExecContext(ctx, `DELETE FROM audit_events WHERE id = ?`, ids[1]); err != nil {
			t.Fatal(err)
		}
		rep := verify(t, st)
		if len(rep.Breaks) != 1 || rep.Breaks[0].EventID != ids[2] || *rep.Breaks[0].TenantID != a.ID || rep.Breaks[0].Seq != 2 {
			t.Fatalf("after deleting event %d: %s, want a break at event %d (seq 2)", ids[1], rep, ids[2])
		}

		st = testenv.Store(t, driver)
		a, ids = auditTrail(t, st)
		last := ids[len(ids)-1]
		if _, err := st.DB().ExecContext(ctx, `DELETE FROM audit_events WHERE id = ?`, last); err != nil {
			t.Fatal(err)
		}
		rep = verify(t, st)
		if len(rep.Breaks) != 1 || *rep.Breaks[0].TenantID != a.ID || rep.Breaks[0].Seq != int64(len(ids)) || !strings.Contains(rep.Breaks[0].Reason, "newest") {
			t.Fatalf("after deleting the newest event: %s", rep)
		}

		// Rewriting a row and its hash still breaks the link from the next row.
		st = testenv.Store(t, driver)
		_, ids = auditTrail(t, st)
		if _, err := st.DB().ExecContext(ctx, `UPDATE audit_events SET detail = 'forged', hash = ? WHERE id = ?`, strings.Repeat("0", 64), ids[1]); err != nil {
			t.Fatal(err)
		}
		rep = verify(t, st)
		if len(rep.Breaks) != 1 || rep.Breaks[0].EventID != ids[1] {
			t.Fatalf("after forging a hash: %s", rep)
		}
	})
}

// TestAuditChainConcurrentAppends: appends racing on one chain (the head
// row lock on MariaDB, immediate transactions on SQLite) still form one
// unbroken chain.
func TestAuditChainConcurrentAppends(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		st := testenv.Store(t, driver)
		a, _ := mustSignUp(t, st, "acme", "ada@acme.test")
		var wg sync.WaitGroup
		errs := make(chan error, 80)
		for w := range 8 {
			wg.Go(func() {
				for i := range 10 {
					e := ev("race")
					if (w+i)%2 == 0 {
						e.TenantID = &a.ID
					}
					if err := st.Audit(ctx, e); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		rep := verify(t, st)
		if !rep.OK() || rep.Events != 81 {
			t.Fatalf("after concurrent appends: %s (%d events)", rep, rep.Events)
		}
	})
}

// TestAuditEventsGoToLog: each appended event is also one JSON log line.
func TestAuditEventsGoToLog(t *testing.T) {
	st := testenv.Store(t, "sqlite")
	var buf bytes.Buffer
	st.SetAuditLog(slog.New(slog.NewJSONHandler(&buf, nil)))
	tid := int64(7)
	e := ev("member.removed")
	e.TenantID, e.Target, e.IP = &tid, "user:3", "203.0.113.9"
	if err := st.Audit(ctx, e); err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("audit log is not one JSON line: %q", buf.String())
	}
	if line["msg"] != "audit" || line["action"] != "member.removed" || line["audit_tenant_id"] != float64(7) ||
		line["ip"] != "203.0.113.9" || len(line["hash"].(string)) != 64 {
		t.Fatalf("audit log line: %v", line)
	}
}

func TestAuditExportIsTenantScoped(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		st := testenv.Store(t, driver)
		a, ids := auditTrail(t, st)
		var got []int64
		prev := ""
		err := st.Tenant(a.ID).ExportAudit(ctx, 0, 1<<62, func(ce store.ChainedEvent) error {
			if *ce.TenantID != a.ID {
				t.Errorf("export of tenant %d holds an event of tenant %d", a.ID, *ce.TenantID)
			}
			if ce.PrevHash != prev {
				t.Errorf("exported event %d does not link to the one before", ce.ID)
			}
			prev = ce.Hash
			got = append(got, ce.ID)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ids) {
			t.Fatalf("export has %v, want %v", got, ids)
		}
	})
}
