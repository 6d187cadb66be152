package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestAuditVerifyCommand runs `palisade audit verify` on a real database:
// intact, then after one row is edited, when it must name that row and
// exit with an error.
func TestAuditVerifyCommand(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		dsn := testenv.DSN(t, driver)
		st, err := store.Open(ctx, driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.Migrate(ctx, testenv.Logger(t)); err != nil {
			t.Fatal(err)
		}
		tn, _, err := st.SignUp(ctx, "acme", "Acme", store.NewUser{Email: "ada@acme.test", Name: "Ada", PasswordHash: "x"}, core.AuditEvent{Action: "tenant.signup"})
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for range 3 {
			if err := st.Audit(ctx, core.AuditEvent{TenantID: &tn.ID, Action: "member.invited"}); err != nil {
				t.Fatal(err)
			}
		}
		rows, err := st.DB().QueryContext(ctx, `SELECT id FROM audit_events WHERE tenant_id = ? ORDER BY id`, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			_ = rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		env := map[string]string{"PALISADE_DB_DRIVER": driver, "PALISADE_DB_DSN": dsn, "PALISADE_LOG_LEVEL": "error"}
		getenv := func(k string) string { return env[k] }

		var out bytes.Buffer
		if err := run(ctx, []string{"palisade", "audit", "verify"}, getenv, &out, &out); err != nil {
			t.Fatalf("verify of an intact trail: %v\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), "audit trail intact: 4 events in 1 chains") {
			t.Fatalf("output: %s", out.String())
		}

		if _, err := st.DB().ExecContext(ctx, `UPDATE audit_events SET actor_type = 'system' , detail = 'rewritten' WHERE id = ?`, ids[2]); err != nil {
			t.Fatal(err)
		}
		out.Reset()
		err = run(ctx, []string{"palisade", "audit", "verify", "-json"}, getenv, &out, &out)
		if err == nil {
			t.Fatalf("verify of an edited trail succeeded: %s", out.String())
		}
		var rep store.AuditReport
		if derr := json.NewDecoder(strings.NewReader(out.String()[strings.Index(out.String(), "{\"chains\""):])).Decode(&rep); derr != nil {
			t.Fatalf("decode report: %v in %s", derr, out.String())
		}
		if len(rep.Breaks) != 1 || rep.Breaks[0].EventID != ids[2] {
			t.Fatalf("report %+v, want the break at event %d", rep, ids[2])
		}
		// Each run is itself on the platform trail, the failed one as a failure.
		var n int
		if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE action = 'audit.verify' AND outcome = 'failure' AND tenant_id IS NULL`).Scan(&n); err != nil && err != sql.ErrNoRows {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("%d failed audit.verify events on the platform trail, want 1", n)
		}
	})
}
