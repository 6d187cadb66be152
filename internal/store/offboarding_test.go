package store_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

func TestSearchTenants(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		st := testenv.Store(t, driver)
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		day := 0
		st.Now = func() time.Time { return base.Add(time.Duration(day) * 24 * time.Hour) }
		for i, slug := range []string{"alpha", "bravo", "charlie", "delta"} {
			day = i
			mustSignUp(t, st, slug, slug+"@x.test")
		}
		b, _ := st.TenantBySlug(ctx, "bravo")
		if _, err := st.UpdateTenant(ctx, b.ID, "Bravo Ltd", "business", ev("hq.tenant.updated")); err != nil {
			t.Fatal(err)
		}
		_, err := st.UpdateTenant(ctx, b.ID, "Bravo Ltd", "gold", ev("hq.tenant.updated"))
		wantKind(t, err, core.KindInvalid)

		slugs := func(f store.HQTenantFilter) ([]string, int) {
			t.Helper()
			ts, total, err := st.SearchTenants(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, x := range ts {
				out = append(out, x.Slug)
			}
			return out, total
		}
		if got, n := slugs(store.HQTenantFilter{Plan: "business"}); n != 1 || got[0] != "bravo" {
			t.Fatalf("plan filter: %v %d", got, n)
		}
		got, n := slugs(store.HQTenantFilter{CreatedFrom: base.Add(24 * time.Hour), CreatedTo: base.Add(3 * 24 * time.Hour), Sort: "created"})
		if n != 2 || got[0] != "bravo" || got[1] != "charlie" {
			t.Fatalf("created range: %v %d", got, n)
		}
		got, n = slugs(store.HQTenantFilter{Sort: "name", Desc: true, Limit: 2, Offset: 2})
		if n != 4 || len(got) != 2 || got[0] != "bravo" || got[1] != "alpha" {
			t.Fatalf("sorted page 2: %v %d", got, n)
		}
	})
}

func TestOverviewCountsOnlyItsTenant(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		st := testenv.Store(t, driver)
		a, _ := mustSignUp(t, st, "acme", "ada@acme.test")
		b, _ := mustSignUp(t, st, "bolt", "bo@bolt.test")
		if _, err := st.Tenant(b.ID).CreateFile(ctx, store.File{UploaderID: 1, Name: "b.txt", ContentType: "text/plain", Size: 42, Bucket: "bkt-b"},
			func(id int64) string { return "k" }, ev("file.created")); err != nil {
			t.Fatal(err)
		}
		ov, err := st.Tenant(a.ID).Overview(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(ov.Members) != 1 || ov.Members[0].Email != "ada@acme.test" || ov.Members[0].MFA || ov.MFACoverage != 0 {
			t.Fatalf("members: %+v coverage %v", ov.Members, ov.MFACoverage)
		}
		if ov.StorageBytes != 0 || len(ov.FilesByScan) != 0 || ov.LastActivity == nil {
			t.Fatalf("overview of acme saw bolt's files or no activity: %+v", ov)
		}
		ob, err := st.Tenant(b.ID).Overview(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if ob.StorageBytes != 42 || ob.FilesByScan[store.FilePending] != 1 {
			t.Fatalf("bolt overview: %+v", ob)
		}
	})
}

func TestFourEyesDeletion(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		st := testenv.Store(t, driver)
		now := time.Now()
		st.Now = func() time.Time { return now }
		a, _ := mustSignUp(t, st, "acme", "ada@acme.test")
		b, bob := mustSignUp(t, st, "bolt", "bo@bolt.test")
		// bo also belongs to acme: the account must survive acme's deletion.
		inv, err := st.Tenant(a.ID).CreateInvitation(ctx, bob.Email, core.RoleMember, 0, "h1", now.Add(time.Hour), ev("invite"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Tenant(a.ID).AcceptInvitation(ctx, inv, bob.ID, store.NewUser{}, ev("accept")); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := st.Tenant(a.ID).Export(ctx, &out); err != nil {
			t.Fatal(err)
		}
		var ex store.TenantExport
		if err := json.Unmarshal(out.Bytes(), &ex); err != nil {
			t.Fatal(err)
		}
		if ex.Tenant.Slug != "acme" || len(ex.Members) != 2 || len(ex.Audit) == 0 || bytes.Contains(out.Bytes(), []byte("password")) {
			t.Fatalf("export: %s", out.String())
		}

		const op1, op2 = 1, 2
		d, err := st.RequestTenantDeletion(ctx, a.ID, op1, "contract ended", ev("hq.tenant.deletion_requested"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = st.RequestTenantDeletion(ctx, a.ID, op2, "again", ev("hq.tenant.deletion_requested"))
		wantKind(t, err, core.KindConflict)
		_, err = st.ApproveTenantDeletion(ctx, a.ID, op1, time.Hour, ev("hq.tenant.deletion_approved"))
		wantKind(t, err, core.KindForbidden)
		// Not approved yet: the job must refuse.
		wantKind(t, st.DeleteTenantRows(ctx, d.ID, ""), core.KindConflict)
		if _, err := st.ApproveTenantDeletion(ctx, a.ID, op2, time.Hour, ev("hq.tenant.deletion_approved")); err != nil {
			t.Fatal(err)
		}
		if due, _ := st.DueTenantDeletions(ctx, now, 10); len(due) != 0 {
			t.Fatalf("due before the grace period: %+v", due)
		}
		wantKind(t, st.DeleteTenantRows(ctx, d.ID, ""), core.KindConflict)
		now = now.Add(time.Hour + time.Second)
		due, err := st.DueTenantDeletions(ctx, now, 10)
		if err != nil || len(due) != 1 || due[0].ID != d.ID {
			t.Fatalf("due: %+v %v", due, err)
		}
		for range 2 { // the job may run twice
			if err := st.DeleteTenantRows(ctx, d.ID, "bucket: none"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.TenantByID(ctx, a.ID); !core.IsNotFound(err) {
			t.Fatalf("tenant row still there: %v", err)
		}
		if _, err := st.UserByEmail(ctx, "ada@acme.test"); !core.IsNotFound(err) {
			t.Fatalf("acme-only user still there: %v", err)
		}
		if _, err := st.UserByEmail(ctx, bob.Email); err != nil {
			t.Fatalf("bolt's owner was deleted with acme: %v", err)
		}
		if ms, _ := st.Tenant(b.ID).Members(ctx, 10, 0); len(ms) != 1 {
			t.Fatalf("bolt members: %+v", ms)
		}
		evs, err := st.Tenant(a.ID).AuditEvents(ctx, 0, 1)
		if err != nil || len(evs) != 1 || evs[0].Action != "tenant.deleted" {
			t.Fatalf("last audit event of the deleted tenant: %+v %v", evs, err)
		}
		rep, err := st.VerifyAuditChains(ctx)
		if err != nil || !rep.OK() {
			t.Fatalf("audit chains after deletion: %v %v", rep, err)
		}
	})
}

func TestBreakGlassExpires(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		st := testenv.Store(t, driver)
		now := time.Now()
		st.Now = func() time.Time { return now }
		a, _ := mustSignUp(t, st, "acme", "ada@acme.test")
		b, _ := mustSignUp(t, st, "bolt", "bo@bolt.test")
		if _, err := st.Tenant(a.ID).OpenBreakGlass(ctx, 7, "ticket 42: file will not open", 30*time.Minute, ev("hq.break_glass.opened")); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Tenant(a.ID).ActiveBreakGlass(ctx, 7); err != nil {
			t.Fatalf("active: %v", err)
		}
		if _, err := st.Tenant(b.ID).ActiveBreakGlass(ctx, 7); !core.IsNotFound(err) {
			t.Fatalf("acme's grant opened bolt: %v", err)
		}
		if _, err := st.Tenant(a.ID).ActiveBreakGlass(ctx, 8); !core.IsNotFound(err) {
			t.Fatalf("grant of operator 7 served operator 8: %v", err)
		}
		evs, _ := st.Tenant(a.ID).AuditEvents(ctx, 0, 1)
		if len(evs) != 1 || evs[0].Action != "hq.break_glass.opened" {
			t.Fatalf("tenant trail: %+v", evs)
		}
		now = now.Add(31 * time.Minute)
		if _, err := st.Tenant(a.ID).ActiveBreakGlass(ctx, 7); !core.IsNotFound(err) {
			t.Fatalf("grant outlived its time limit: %v", err)
		}
	})
}
