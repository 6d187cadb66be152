package maintenance_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/maintenance"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestHandlersIdempotent runs each maintenance handler twice: the second
// run leaves the same state as the first.
func TestHandlersIdempotent(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		reg := jobs.NewRegistry()
		st := testenv.Store(t, driver)
		ctx := context.Background()
		verified := 0
		maintenance.Register(reg, maintenance.Deps{Store: st, VerifyAuditTrail: func(context.Context) error { verified++; return nil }})

		// purge: an invitation expired long ago goes, a live one stays, twice over.
		tn, owner, err := st.SignUp(ctx, "acme", "Acme", store.NewUser{Email: "ada@acme.test", Name: "Ada", PasswordHash: "x"}, core.AuditEvent{Action: "tenant.signup"})
		if err != nil {
			t.Fatal(err)
		}
		ts := st.Tenant(tn.ID)
		if _, err := ts.CreateInvitation(ctx, "old@acme.test", core.RoleMember, owner.ID, "old-token", time.Now().Add(-8*24*time.Hour), core.AuditEvent{Action: "invitation.created"}); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.CreateInvitation(ctx, "new@acme.test", core.RoleMember, owner.ID, "new-token", time.Now().Add(time.Hour), core.AuditEvent{Action: "invitation.created"}); err != nil {
			t.Fatal(err)
		}
		for run := 1; run <= 2; run++ {
			if err := reg.Run(ctx, maintenance.PurgeExpired.Name, []byte(`{}`)); err != nil {
				t.Fatalf("purge run %d: %v", run, err)
			}
			if _, err := ts.InvitationByToken(ctx, "old-token"); !core.IsNotFound(err) {
				t.Fatalf("run %d: expired invitation still there: %v", run, err)
			}
			if _, err := ts.InvitationByToken(ctx, "new-token"); err != nil {
				t.Fatalf("run %d: live invitation purged: %v", run, err)
			}
		}

		// audit verify: a read-only check, so twice is harmless.
		for range 2 {
			if err := reg.Run(ctx, maintenance.VerifyAuditTrail.Name, []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
		}
		if verified != 2 {
			t.Fatalf("verify hook ran %d times", verified)
		}
	})
}

// TestVerifyAuditTrailFails: a broken chain fails the job (and so shows in
// HQ's dead-letter list); without the hook nothing is checked and it passes.
func TestVerifyAuditTrailFails(t *testing.T) {
	reg := jobs.NewRegistry()
	maintenance.Register(reg, maintenance.Deps{VerifyAuditTrail: func(context.Context) error { return errors.New("chain 3 broken at row 9") }})
	if err := reg.Run(context.Background(), maintenance.VerifyAuditTrail.Name, []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "chain 3 broken") {
		t.Fatalf("broken chain: %v", err)
	}
	reg = jobs.NewRegistry()
	maintenance.Register(reg, maintenance.Deps{})
	if err := reg.Run(context.Background(), maintenance.VerifyAuditTrail.Name, []byte(`{}`)); err != nil {
		t.Fatalf("unwired verification: %v", err)
	}
	if err := reg.Run(context.Background(), maintenance.PurgeExpired.Name, []byte(`{}`)); err == nil {
		t.Fatal("purge without a database succeeded")
	}
}
