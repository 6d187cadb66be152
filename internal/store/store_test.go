package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

var ctx = context.Background()

func ev(action string) core.AuditEvent { return core.AuditEvent{Action: action, ActorType: "system"} }

// mustSignUp creates a tenant with an owner.
func mustSignUp(t *testing.T, st *store.Store, slug, email string) (core.Tenant, core.User) {
	t.Helper()
	tn, u, err := st.SignUp(ctx, slug, strings.ToUpper(slug), store.NewUser{Email: email, Name: "Owner " + slug, PasswordHash: "x"}, ev("tenant.signup"))
	if err != nil {
		t.Fatalf("sign up %s: %v", slug, err)
	}
	return tn, u
}

func wantKind(t *testing.T, err error, kind core.Kind) {
	t.Helper()
	if core.KindOf(err) != kind {
		t.Fatalf("got error %v (kind %s), want kind %s", err, core.KindOf(err), kind)
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		st := testenv.Store(t, driver)
		if err := st.Migrate(ctx, testenv.Logger(t)); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
	})
}

func TestSignUpIsAtomic(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		st := testenv.Store(t, driver)
		mustSignUp(t, st, "acme", "ada@acme.test")
		// Same email, new slug: the user insert fails, so the tenant must not exist either.
		_, _, err := st.SignUp(ctx, "globex", "Globex", store.NewUser{Email: "ada@acme.test", Name: "Ada", PasswordHash: "x"}, ev("tenant.signup"))
		wantKind(t, err, core.KindConflict)
		if _, err := st.TenantBySlug(ctx, "globex"); !core.IsNotFound(err) {
			t.Fatalf("tenant of a failed sign-up exists: %v", err)
		}
		// Same slug: conflict names the field.
		_, _, err = st.SignUp(ctx, "acme", "Acme 2", store.NewUser{Email: "bob@acme.test", Name: "Bob", PasswordHash: "x"}, ev("tenant.signup"))
		wantKind(t, err, core.KindConflict)
		if _, err := st.UserByEmail(ctx, "bob@acme.test"); !core.IsNotFound(err) {
			t.Fatalf("user of a failed sign-up exists: %v", err)
		}
	})
}

// TestTenantIsolation calls every tenant-scoped method that takes an id
// with tenant A's handle and tenant B's object: each must say not found
// and change nothing.
func TestTenantIsolation(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		st := testenv.Store(t, driver)
		a, _ := mustSignUp(t, st, "acme", "ada@acme.test")
		b, bob := mustSignUp(t, st, "globex", "bob@globex.test")
		ta, tb := st.Tenant(a.ID), st.Tenant(b.ID)
		invB, err := tb.CreateInvitation(ctx, "carol@globex.test", core.RoleMember, bob.ID, "hash-b", time.Now().Add(time.Hour), ev("invitation.created"))
		if err != nil {
			t.Fatal(err)
		}
		if err := tb.CreatePasswordReset(ctx, bob.ID, "reset-b", time.Now().Add(time.Hour), core.AuditEvent{Action: "auth.password_reset.requested"}); err != nil {
			t.Fatal(err)
		}

		if _, err := ta.Member(ctx, bob.ID); !core.IsNotFound(err) {
			t.Errorf("Member: got %v, want not found", err)
		}
		if err := ta.RemoveMember(ctx, bob.ID, ev("member.removed")); !core.IsNotFound(err) {
			t.Errorf("RemoveMember: got %v, want not found", err)
		}
		if _, err := ta.Invitation(ctx, invB.ID); !core.IsNotFound(err) {
			t.Errorf("Invitation: got %v, want not found", err)
		}
		if _, err := ta.InvitationByToken(ctx, "hash-b"); !core.IsNotFound(err) {
			t.Errorf("InvitationByToken: got %v, want not found", err)
		}
		if err := ta.RevokeInvitation(ctx, invB.ID, ev("invitation.revoked")); !core.IsNotFound(err) {
			t.Errorf("RevokeInvitation: got %v, want not found", err)
		}
		if _, err := ta.AcceptInvitation(ctx, invB, 0, store.NewUser{Email: "carol@globex.test", Name: "Carol", PasswordHash: "x"}, ev("invitation.accepted")); err == nil {
			t.Errorf("AcceptInvitation of another tenant's invitation succeeded")
		}
		if _, err := ta.ResetPassword(ctx, "reset-b", "new", ev("auth.password_reset.completed")); err == nil {
			t.Errorf("ResetPassword with another tenant's token succeeded")
		}
		ms, err := ta.Members(ctx, 100, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.UserID == bob.ID {
				t.Errorf("Members of A lists B's owner")
			}
		}
		pending, err := ta.PendingInvitations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) != 0 {
			t.Errorf("PendingInvitations of A lists %d of B's invitations", len(pending))
		}
		events, err := ta.AuditEvents(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if e.TenantID == nil || *e.TenantID != a.ID {
				t.Errorf("AuditEvents of A includes event %d of tenant %v", e.ID, e.TenantID)
			}
		}

		// B's rows are untouched.
		if _, err := tb.Member(ctx, bob.ID); err != nil {
			t.Errorf("B's owner is gone: %v", err)
		}
		if _, err := tb.InvitationByToken(ctx, "hash-b"); err != nil {
			t.Errorf("B's invitation is no longer usable: %v", err)
		}
		if u, err := st.UserByEmail(ctx, "bob@globex.test"); err != nil || u.PasswordHash != "x" {
			t.Errorf("B's owner password changed: %v", err)
		}
	})
}

func TestInvitationLifecycle(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		st := testenv.Store(t, driver)
		a, owner := mustSignUp(t, st, "acme", "ada@acme.test")
		ta := st.Tenant(a.ID)
		now := time.Now()
		st.Now = func() time.Time { return now }

		if _, err := ta.CreateInvitation(ctx, "ada@acme.test", core.RoleMember, owner.ID, "h0", now.Add(time.Hour), ev("invitation.created")); core.KindOf(err) != core.KindConflict {
			t.Fatalf("inviting an existing member: got %v, want conflict", err)
		}
		if _, err := ta.CreateInvitation(ctx, "x@acme.test", core.RoleOwner, owner.ID, "h1", now.Add(time.Hour), ev("invitation.created")); core.KindOf(err) != core.KindInvalid {
			t.Fatalf("inviting an owner: got %v, want invalid", err)
		}
		inv, err := ta.CreateInvitation(ctx, "carol@acme.test", core.RoleAdmin, owner.ID, "h2", now.Add(time.Hour), ev("invitation.created"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ta.InvitationByToken(ctx, "h2")
		if err != nil || got.ID != inv.ID {
			t.Fatalf("lookup: %v %+v", err, got)
		}
		u, err := ta.AcceptInvitation(ctx, got, 0, store.NewUser{Email: "carol@acme.test", Name: "Carol", PasswordHash: "p"}, ev("invitation.accepted"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := ta.Member(ctx, u.ID)
		if err != nil || m.Role != core.RoleAdmin {
			t.Fatalf("member after accept: %v %+v", err, m)
		}
		if _, err := ta.InvitationByToken(ctx, "h2"); core.KindOf(err) != core.KindConflict {
			t.Fatalf("reusing an accepted invitation: got %v, want conflict", err)
		}
		// A second accept of the same invitation fails as a whole: no second user appears.
		if _, err := ta.AcceptInvitation(ctx, got, 0, store.NewUser{Email: "mallory@acme.test", Name: "M", PasswordHash: "p"}, ev("invitation.accepted")); err == nil {
			t.Fatal("second accept succeeded")
		}
		if _, err := st.UserByEmail(ctx, "mallory@acme.test"); !core.IsNotFound(err) {
			t.Fatalf("a failed accept left a user behind: %v", err)
		}

		// Expiry is enforced by the store's clock.
		if _, err := ta.CreateInvitation(ctx, "dave@acme.test", core.RoleMember, owner.ID, "h3", now.Add(time.Minute), ev("invitation.created")); err != nil {
			t.Fatal(err)
		}
		now = now.Add(2 * time.Minute)
		if _, err := ta.InvitationByToken(ctx, "h3"); core.KindOf(err) != core.KindInvalid || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("expired invitation: got %v", err)
		}
	})
}

func TestLastOwnerCannotBeRemoved(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		st := testenv.Store(t, driver)
		a, owner := mustSignUp(t, st, "acme", "ada@acme.test")
		wantKind(t, st.Tenant(a.ID).RemoveMember(ctx, owner.ID, ev("member.removed")), core.KindConflict)
	})
}

func TestPasswordResetOnce(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		st := testenv.Store(t, driver)
		a, owner := mustSignUp(t, st, "acme", "ada@acme.test")
		ta := st.Tenant(a.ID)
		if err := ta.CreatePasswordReset(ctx, owner.ID, "r1", time.Now().Add(time.Hour), core.AuditEvent{Action: "auth.password_reset.requested"}); err != nil {
			t.Fatal(err)
		}
		if _, err := ta.ResetPassword(ctx, "r1", "new-hash", ev("auth.password_reset.completed")); err != nil {
			t.Fatal(err)
		}
		u, _ := st.UserByID(ctx, owner.ID)
		if u.PasswordHash != "new-hash" {
			t.Fatalf("hash not updated: %q", u.PasswordHash)
		}
		if _, err := ta.ResetPassword(ctx, "r1", "again", ev("auth.password_reset.completed")); core.KindOf(err) != core.KindInvalid {
			t.Fatalf("second use: got %v, want invalid", err)
		}
		if err := ta.CreatePasswordReset(ctx, owner.ID, "r2", time.Now().Add(-time.Second), core.AuditEvent{Action: "auth.password_reset.requested"}); err != nil {
			t.Fatal(err)
		}
		if _, err := ta.ResetPassword(ctx, "r2", "late", ev("auth.password_reset.completed")); err == nil || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("expired token: got %v", err)
		}
	})
}

func TestTenantStatusAndListing(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		st := testenv.Store(t, driver)
		a, _ := mustSignUp(t, st, "acme", "ada@acme.test")
		mustSignUp(t, st, "globex", "bob@globex.test")
		got, err := st.SetTenantStatus(ctx, a.ID, core.TenantSuspended, "unpaid invoice", ev("hq.tenant.suspended"))
		if err != nil || got.Status != core.TenantSuspended || got.SuspendReason != "unpaid invoice" {
			t.Fatalf("suspend: %v %+v", err, got)
		}
		// Suspending twice is not an error, and a missing tenant is not found.
		if _, err := st.SetTenantStatus(ctx, a.ID, core.TenantSuspended, "unpaid invoice", ev("hq.tenant.suspended")); err != nil {
			t.Fatalf("suspend again: %v", err)
		}
		if _, err := st.SetTenantStatus(ctx, 9999, core.TenantSuspended, "x", ev("hq.tenant.suspended")); !core.IsNotFound(err) {
			t.Fatalf("missing tenant: %v", err)
		}
		list, total, err := st.ListTenants(ctx, store.TenantFilter{Status: core.TenantSuspended})
		if err != nil || total != 1 || len(list) != 1 || list[0].Slug != "acme" {
			t.Fatalf("filter suspended: %v %d %+v", err, total, list)
		}
		list, total, err = st.ListTenants(ctx, store.TenantFilter{Query: "glob"})
		if err != nil || total != 1 || list[0].Slug != "globex" {
			t.Fatalf("search: %v %d %+v", err, total, list)
		}
		// LIKE wildcards in the query are literal.
		if _, total, _ = st.ListTenants(ctx, store.TenantFilter{Query: "%"}); total != 0 {
			t.Fatalf("%% matched %d tenants", total)
		}
		back, err := st.SetTenantStatus(ctx, a.ID, core.TenantActive, "ignored", ev("hq.tenant.reactivated"))
		if err != nil || back.Status != core.TenantActive || back.SuspendReason != "" {
			t.Fatalf("reactivate: %v %+v", err, back)
		}
	})
}

func TestAuditClipsLongFields(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		st := testenv.Store(t, driver)
		long := strings.Repeat("é", 2000)
		if err := st.Audit(ctx, core.AuditEvent{Action: "x", UserAgent: long, Detail: long, Target: long}); err != nil {
			t.Fatalf("audit with long fields: %v", err)
		}
		evs, err := st.AllAuditEvents(ctx, 0, 1)
		if err != nil || len(evs) != 1 || len(evs[0].UserAgent) > 512 {
			t.Fatalf("stored: %v %+v", err, evs)
		}
	})
}

func TestPurgeExpired(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		st := testenv.Store(t, driver)
		a, owner := mustSignUp(t, st, "acme", "ada@acme.test")
		ta := st.Tenant(a.ID)
		old := time.Now().Add(-48 * time.Hour)
		if _, err := ta.CreateInvitation(ctx, "old@acme.test", core.RoleMember, owner.ID, "old", old, ev("invitation.created")); err != nil {
			t.Fatal(err)
		}
		if _, err := ta.CreateInvitation(ctx, "new@acme.test", core.RoleMember, owner.ID, "new", time.Now().Add(time.Hour), ev("invitation.created")); err != nil {
			t.Fatal(err)
		}
		n, err := st.PurgeExpired(ctx, 24*time.Hour)
		if err != nil || n != 1 {
			t.Fatalf("purged %d, err %v; want 1", n, err)
		}
		if _, err := ta.InvitationByToken(ctx, "new"); err != nil {
			t.Fatalf("live invitation purged: %v", err)
		}
	})
}
