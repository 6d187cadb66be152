package offboarding_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/offboarding"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// bucketDeleter stands in for the files feature's implementation: it
// records which tenants' buckets it was asked to delete and can refuse.
type bucketDeleter struct {
	calls []int64
	fail  error
}

func (b *bucketDeleter) DeleteTenantData(_ context.Context, tenantID int64) error {
	b.calls = append(b.calls, tenantID)
	return b.fail
}

// TestDeleteDueTenantsNeedsDeleter: with an object store configured but no
// deleter wired, the job refuses rather than orphan the bucket.
func TestDeleteDueTenantsNeedsDeleter(t *testing.T) {
	reg := jobs.NewRegistry()
	st := testenv.Store(t, "sqlite")
	ctx := context.Background()
	now := time.Now()
	st.Now = func() time.Time { return now }
	offboarding.Register(reg, offboarding.Deps{Store: st, ObjectStore: true, Now: func() time.Time { return now }})
	tn, _, err := st.SignUp(ctx, "acme", "Acme", store.NewUser{Email: "ada@acme.test", Name: "Ada", PasswordHash: "x"}, core.AuditEvent{Action: "tenant.signup"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.RequestTenantDeletion(ctx, tn.ID, 1, "contract ended", core.AuditEvent{Action: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ApproveTenantDeletion(ctx, tn.ID, 2, 0, core.AuditEvent{Action: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := reg.Run(ctx, offboarding.DeleteDueTenants.Name, []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "TenantDataDeleter") {
		t.Fatalf("job without a deleter: %v", err)
	}
	if _, err := st.TenantByID(ctx, tn.ID); err != nil {
		t.Fatalf("rows deleted without the bucket: %v", err)
	}
}

func TestDeleteDueTenants(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		reg := jobs.NewRegistry()
		st := testenv.Store(t, driver)
		ctx := context.Background()
		now := time.Now()
		st.Now = func() time.Time { return now }
		del := &bucketDeleter{fail: errors.New("object store unavailable")}
		offboarding.Register(reg, offboarding.Deps{Store: st, TenantData: del, Now: func() time.Time { return now }})

		gone, _, err := st.SignUp(ctx, "acme", "Acme", store.NewUser{Email: "ada@acme.test", Name: "Ada", PasswordHash: "x"}, core.AuditEvent{Action: "tenant.signup"})
		if err != nil {
			t.Fatal(err)
		}
		kept, _, err := st.SignUp(ctx, "bolt", "Bolt", store.NewUser{Email: "bo@bolt.test", Name: "Bo", PasswordHash: "x"}, core.AuditEvent{Action: "tenant.signup"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.RequestTenantDeletion(ctx, gone.ID, 1, "contract ended", core.AuditEvent{Action: "hq.tenant.deletion_requested"}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ApproveTenantDeletion(ctx, gone.ID, 2, time.Hour, core.AuditEvent{Action: "hq.tenant.deletion_approved"}); err != nil {
			t.Fatal(err)
		}
		// Inside the grace period nothing happens.
		if err := reg.Run(ctx, offboarding.DeleteDueTenants.Name, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		if len(del.calls) != 0 {
			t.Fatalf("bucket deleted inside the grace period: %v", del.calls)
		}
		now = now.Add(2 * time.Hour)
		// The bucket fails first: the rows must stay for the retry.
		if err := reg.Run(ctx, offboarding.DeleteDueTenants.Name, []byte(`{}`)); err == nil {
			t.Fatal("job succeeded although the bucket deletion failed")
		}
		if _, err := st.TenantByID(ctx, gone.ID); err != nil {
			t.Fatalf("rows deleted although the bucket was not: %v", err)
		}
		del.fail = nil
		for run := 1; run <= 2; run++ {
			if err := reg.Run(ctx, offboarding.DeleteDueTenants.Name, []byte(`{}`)); err != nil {
				t.Fatalf("run %d: %v", run, err)
			}
		}
		if len(del.calls) != 2 || del.calls[0] != gone.ID || del.calls[1] != gone.ID {
			t.Fatalf("bucket deletions: %v (one failed, one done, none on the repeat)", del.calls)
		}
		if _, err := st.TenantByID(ctx, gone.ID); !core.IsNotFound(err) {
			t.Fatalf("tenant still there: %v", err)
		}
		if _, err := st.TenantByID(ctx, kept.ID); err != nil {
			t.Fatalf("the other tenant went too: %v", err)
		}
		evs, _ := st.Tenant(gone.ID).AuditEvents(ctx, 0, 1)
		if len(evs) != 1 || evs[0].Action != "tenant.deleted" {
			t.Fatalf("final audit event: %+v", evs)
		}
		if rep, err := st.VerifyAuditChains(ctx); err != nil || !rep.OK() {
			t.Fatalf("audit chains: %v %v", rep, err)
		}
	})
}
