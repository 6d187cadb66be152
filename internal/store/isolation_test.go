package store_test

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// Cross-tenant isolation, method by method. Every exported method of
// *store.TenantStore has a case below; TestEveryTenantStoreMethodHasAnIsolationCase
// fails when a method is added without one. Each case gets two fresh
// tenants: A holds one of everything (member, invitation, reset token,
// session, API token, file, break-glass grant, second factor, audit
// events), B is the handle the case calls with A's ids, tokens and users.
// The case asserts what B gets back; the harness asserts that every row of
// A's is byte for byte what it was before the call.

// isoFixture is one case's world.
type isoFixture struct {
	st       *store.Store
	clock    *time.Time
	a, b     core.Tenant
	ta, tb   *store.TenantStore
	ada, bob core.User // A's and B's owners
	inviteeA string    // the address A has a pending invitation for
	invA     core.Invitation
	invAHash string
	resetA   string // hash of A's unused reset token
	sessA    string // hash of ada's session token in A
	sessAID  int64
	sessB    string // hash of bob's session token in B
	tokA     store.APIToken
	tokAHash string
	fileA    store.File
	op       core.Operator
	grantA   store.BreakGlass
}

type isoCase struct {
	// setup, when set, changes the world before A's rows are snapshot.
	setup func(t *testing.T, fx *isoFixture)
	// call calls the method on B's handle with A's data and asserts B's
	// view; the harness then checks A's rows did not change.
	call func(t *testing.T, fx *isoFixture)
}

var isoSeq atomic.Int64

func newIsoFixture(t *testing.T, st *store.Store, clock *time.Time) *isoFixture {
	t.Helper()
	n := isoSeq.Add(1)
	fx := &isoFixture{st: st, clock: clock}
	fx.a, fx.ada = mustSignUp(t, st, fmt.Sprintf("acme-%d", n), fmt.Sprintf("ada-%d@acme.test", n))
	fx.b, fx.bob = mustSignUp(t, st, fmt.Sprintf("globex-%d", n), fmt.Sprintf("bob-%d@globex.test", n))
	fx.ta, fx.tb = st.Tenant(fx.a.ID), st.Tenant(fx.b.ID)
	now := st.Now()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("fixture: %s: %v", what, err)
		}
	}
	var err error
	fx.inviteeA = fmt.Sprintf("carol-%d@shared.test", n)
	fx.invAHash = fmt.Sprintf("inv-a-%d", n)
	fx.invA, err = fx.ta.CreateInvitation(ctx, fx.inviteeA, core.RoleMember, fx.ada.ID, fx.invAHash, now.Add(time.Hour), ev("invitation.created"))
	must("invitation", err)
	fx.resetA = fmt.Sprintf("reset-a-%d", n)
	must("reset", fx.ta.CreatePasswordReset(ctx, fx.ada.ID, fx.resetA, now.Add(time.Hour), core.AuditEvent{Action: "auth.password_reset.requested"}))
	fx.sessA, fx.sessB = fmt.Sprintf("sess-a-%d", n), fmt.Sprintf("sess-b-%d", n)
	must("session A", fx.ta.IndexSession(ctx, fx.ada.ID, fx.sessA, "ua-a", "10.0.0.1", false))
	must("session B", fx.tb.IndexSession(ctx, fx.bob.ID, fx.sessB, "ua-b", "10.0.0.2", false))
	ss, err := fx.ta.Sessions(ctx, fx.ada.ID, fx.sessA, time.Hour)
	must("sessions", err)
	if len(ss) != 1 {
		t.Fatalf("fixture: A lists %d sessions of ada, want 1", len(ss))
	}
	fx.sessAID = ss[0].ID
	fx.tokAHash = fmt.Sprintf("tok-a-%d", n)
	fx.tokA, err = fx.ta.CreateAPIToken(ctx, store.NewAPIToken{UserID: fx.ada.ID, Name: "ci", Hash: fx.tokAHash, Hint: "a", Scopes: []string{"members:read"}, ExpiresAt: now.Add(24 * time.Hour)}, ev("api_token.created"))
	must("api token", err)
	fx.fileA, err = fx.ta.CreateFile(ctx, store.File{UploaderID: fx.ada.ID, Name: fmt.Sprintf("plan-a-%d.pdf", n), ContentType: "application/pdf", Size: 3, Bucket: "bk-a"},
		func(id int64) string { return fmt.Sprintf("files/a-%d", id) }, ev("file.upload_requested"))
	must("file", err)
	fx.op, err = st.CreateOperator(ctx, fmt.Sprintf("op-%d@hq.test", n), "Op", "x", ev("operator.created"))
	must("operator", err)
	fx.grantA, err = fx.ta.OpenBreakGlass(ctx, fx.op.ID, "support ticket", time.Hour, ev("hq.break_glass.opened"))
	must("break-glass", err)
	subj := store.UserSubject(fx.ada.ID)
	_, err = st.StartTOTP(ctx, subj, "JBSWY3DPEHPK3PXP")
	must("totp", err)
	must("totp confirm", st.ConfirmTOTP(ctx, subj, nil, ev("mfa.totp.confirmed")))
	must("require mfa", fx.ta.SetRequireMFA(ctx, true, ev("tenant.mfa_policy")))
	must("audit", st.Audit(ctx, core.AuditEvent{TenantID: &fx.a.ID, ActorType: "user", ActorID: &fx.ada.ID, Action: "member.did_something", Outcome: store.OutcomeSuccess}))

	// A's own handle sees all of it, so B seeing none of it means something.
	if ok, err := fx.ta.HasSecondFactor(ctx, fx.ada.ID); err != nil || !ok {
		t.Fatalf("fixture: ada has no second factor in A (%v)", err)
	}
	if _, err := fx.ta.APITokenByHash(ctx, fx.tokAHash); err != nil {
		t.Fatalf("fixture: A's token: %v", err)
	}
	if _, err := fx.ta.ActiveBreakGlass(ctx, fx.op.ID); err != nil {
		t.Fatalf("fixture: A's grant: %v", err)
	}
	return fx
}

// snapshotA dumps every row that belongs to tenant A, or to its members'
// accounts, as text.
func (fx *isoFixture) snapshotA(t *testing.T) string {
	t.Helper()
	members := `SELECT user_id FROM memberships WHERE tenant_id = ?`
	queries := []struct{ name, q string }{
		{"tenants", `SELECT * FROM tenants WHERE id = ?`},
		{"memberships", `SELECT * FROM memberships WHERE tenant_id = ? ORDER BY user_id`},
		{"users", `SELECT * FROM users WHERE id IN (` + members + `) ORDER BY id`},
		{"invitations", `SELECT * FROM invitations WHERE tenant_id = ? ORDER BY id`},
		{"password_resets", `SELECT * FROM password_resets WHERE tenant_id = ? ORDER BY id`},
		{"session_index", `SELECT * FROM session_index WHERE tenant_id = ? ORDER BY id`},
		{"session_cutoffs", `SELECT * FROM session_cutoffs WHERE tenant_id = ? ORDER BY user_id`},
		{"user cutoffs", `SELECT * FROM session_cutoffs WHERE tenant_id = 0 AND user_id IN (` + members + `) ORDER BY user_id`},
		{"api_tokens", `SELECT * FROM api_tokens WHERE tenant_id = ? ORDER BY id`},
		{"files", `SELECT * FROM files WHERE tenant_id = ? ORDER BY id`},
		{"tenant_buckets", `SELECT * FROM tenant_buckets WHERE tenant_id = ?`},
		{"tenant_deletions", `SELECT * FROM tenant_deletions WHERE tenant_id = ? ORDER BY id`},
		{"break_glass", `SELECT * FROM break_glass WHERE tenant_id = ? ORDER BY id`},
		{"audit_events", `SELECT * FROM audit_events WHERE tenant_id = ? ORDER BY id`},
		{"mfa_totp", `SELECT * FROM mfa_totp WHERE subject_type = 'user' AND subject_id IN (` + members + `) ORDER BY subject_id`},
	}
	var b strings.Builder
	for _, q := range queries {
		rows, err := fx.st.DB().QueryContext(ctx, q.q, fx.a.ID)
		if err != nil {
			t.Fatalf("snapshot %s: %v", q.name, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("snapshot %s: %v", q.name, err)
			}
			fmt.Fprintf(&b, "%s:", q.name)
			for i, v := range vals {
				if raw, ok := v.([]byte); ok {
					v = string(raw)
				}
				fmt.Fprintf(&b, " %s=%v", cols[i], v)
			}
			b.WriteByte('\n')
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !core.IsNotFound(err) {
		t.Errorf("%s on B's handle with A's data: got %v, want not found", what, err)
	}
}

func noEventOf(t *testing.T, what string, tenantID int64, evs []core.AuditEvent) {
	t.Helper()
	for _, e := range evs {
		if e.TenantID == nil || *e.TenantID != tenantID {
			t.Errorf("%s of B includes event %d (%s) of tenant %v", what, e.ID, e.Action, e.TenantID)
		}
	}
}

var isolationCases = map[string]isoCase{
	"ID": {call: func(t *testing.T, fx *isoFixture) {
		if fx.tb.ID() != fx.b.ID || fx.tb.ID() == fx.a.ID {
			t.Errorf("B's handle says tenant %d; B is %d, A is %d", fx.tb.ID(), fx.b.ID, fx.a.ID)
		}
	}},

	// Members.
	"Member": {call: func(t *testing.T, fx *isoFixture) {
		_, err := fx.tb.Member(ctx, fx.ada.ID)
		wantNotFound(t, "Member", err)
	}},
	"Members": {call: func(t *testing.T, fx *isoFixture) {
		ms, err := fx.tb.Members(ctx, 100, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 || ms[0].UserID != fx.bob.ID {
			t.Errorf("Members of B = %+v, want only bob", ms)
		}
	}},
	"RemoveMember": {call: func(t *testing.T, fx *isoFixture) {
		wantNotFound(t, "RemoveMember", fx.tb.RemoveMember(ctx, fx.ada.ID, ev("member.removed")))
	}},
	"ManagerEmails": {call: func(t *testing.T, fx *isoFixture) {
		es, err := fx.tb.ManagerEmails(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 1 || es[0] != fx.bob.Email {
			t.Errorf("ManagerEmails of B = %v, want only %s", es, fx.bob.Email)
		}
	}},

	// Password resets: an account is shared by its tenants, so a reset
	// that B could make or use for A's member would change A's login.
	"CreatePasswordReset": {call: func(t *testing.T, fx *isoFixture) {
		wantNotFound(t, "CreatePasswordReset for a member of A only", fx.tb.CreatePasswordReset(ctx, fx.ada.ID, "reset-by-b", fx.st.Now().Add(time.Hour), core.AuditEvent{Action: "auth.password_reset.requested"}))
		if _, err := fx.tb.ResetPassword(ctx, "reset-by-b", "hijacked", ev("auth.password_reset.completed")); err == nil {
			t.Errorf("B reset the password of A's member")
		}
	}},
	"ResetPassword": {call: func(t *testing.T, fx *isoFixture) {
		if _, err := fx.tb.ResetPassword(ctx, fx.resetA, "hijacked", ev("auth.password_reset.completed")); err == nil {
			t.Errorf("ResetPassword on B with A's token succeeded")
		}
	}},

	// Invitations.
	"CreateInvitation": {call: func(t *testing.T, fx *isoFixture) {
		// The same address as A's pending invitation: B's replaces only
		// B's own, and A's member is not "already a member" of B.
		for _, email := range []string{fx.inviteeA, fx.ada.Email} {
			inv, err := fx.tb.CreateInvitation(ctx, email, core.RoleMember, fx.bob.ID, "inv-b-"+email, fx.st.Now().Add(time.Hour), ev("invitation.created"))
			if err != nil {
				t.Fatalf("B invites %s: %v", email, err)
			}
			if inv.TenantID != fx.b.ID {
				t.Errorf("B's invitation is of tenant %d", inv.TenantID)
			}
		}
	}},
	"CreateOwnerInvitation": {call: func(t *testing.T, fx *isoFixture) {
		inv, err := fx.tb.CreateOwnerInvitation(ctx, fx.inviteeA, "owner-inv-b", fx.st.Now().Add(time.Hour), ev("hq.tenant.owner_invited"))
		if err != nil {
			t.Fatal(err)
		}
		if inv.TenantID != fx.b.ID {
			t.Errorf("B's owner invitation is of tenant %d", inv.TenantID)
		}
	}},
	"PendingInvitations": {call: func(t *testing.T, fx *isoFixture) {
		invs, err := fx.tb.PendingInvitations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(invs) != 0 {
			t.Errorf("PendingInvitations of B lists %+v", invs)
		}
	}},
	"Invitation": {call: func(t *testing.T, fx *isoFixture) {
		_, err := fx.tb.Invitation(ctx, fx.invA.ID)
		wantNotFound(t, "Invitation", err)
	}},
	"InvitationByToken": {call: func(t *testing.T, fx *isoFixture) {
		_, err := fx.tb.InvitationByToken(ctx, fx.invAHash)
		wantNotFound(t, "InvitationByToken", err)
	}},
	"RevokeInvitation": {call: func(t *testing.T, fx *isoFixture) {
		wantNotFound(t, "RevokeInvitation", fx.tb.RevokeInvitation(ctx, fx.invA.ID, ev("invitation.revoked")))
	}},
	"AcceptInvitation": {call: func(t *testing.T, fx *isoFixture) {
		if _, err := fx.tb.AcceptInvitation(ctx, fx.invA, 0, store.NewUser{Email: fx.inviteeA, Name: "Carol", PasswordHash: "x"}, ev("invitation.accepted")); err == nil {
			t.Errorf("B accepted A's invitation")
		}
		if _, err := fx.st.UserByEmail(ctx, fx.inviteeA); !core.IsNotFound(err) {
			t.Errorf("the refused acceptance left an account behind: %v", err)
		}
		if _, err := fx.tb.AcceptInvitation(ctx, fx.invA, fx.ada.ID, store.NewUser{}, ev("invitation.accepted")); err == nil {
			t.Errorf("B accepted A's invitation for an existing user")
		}
		if _, err := fx.tb.Member(ctx, fx.ada.ID); !core.IsNotFound(err) {
			t.Errorf("ada became a member of B: %v", err)
		}
	}},

	// The tenant's MFA policy.
	"RequiresMFA": {call: func(t *testing.T, fx *isoFixture) {
		if on, err := fx.tb.RequiresMFA(ctx); err != nil || on {
			t.Errorf("RequiresMFA of B = %v, %v; only A requires it", on, err)
		}
	}},
	"SetRequireMFA": {call: func(t *testing.T, fx *isoFixture) {
		if err := fx.tb.SetRequireMFA(ctx, false, ev("tenant.mfa_policy")); err != nil {
			t.Fatal(err)
		}
	}},
	"HasSecondFactor": {call: func(t *testing.T, fx *isoFixture) {
		if ok, err := fx.tb.HasSecondFactor(ctx, fx.ada.ID); err != nil || ok {
			t.Errorf("HasSecondFactor on B for A's member = %v, %v; want false", ok, err)
		}
	}},

	// Sessions. The token hash is unique across tenants; B's handle given
	// A's hash (a session cookie carried to another tenant's host) must
	// neither read nor write A's entry.
	"CheckSession": {
		setup: func(t *testing.T, fx *isoFixture) {
			if _, err := fx.st.RevokeTenantSessions(ctx, fx.a.ID, ev("hq.tenant.sessions_revoked")); err != nil {
				t.Fatal(err)
			}
		},
		call: func(t *testing.T, fx *isoFixture) {
			c, err := fx.tb.CheckSession(ctx, fx.ada.ID, fx.sessA)
			if err != nil {
				t.Fatal(err)
			}
			if c.Indexed {
				t.Errorf("B's CheckSession finds A's session: %+v", c)
			}
			// A's tenant-wide cutoff is not B's.
			c, err = fx.tb.CheckSession(ctx, fx.bob.ID, fx.sessB)
			if err != nil {
				t.Fatal(err)
			}
			if !c.Indexed || c.Revoked || c.CutoffMs != 0 {
				t.Errorf("B's own session after A's sessions were ended: %+v", c)
			}
		},
	},
	"IndexSession": {call: func(t *testing.T, fx *isoFixture) {
		if err := fx.tb.IndexSession(ctx, fx.bob.ID, fx.sessA, "ua-evil", "6.6.6.6", false); err == nil {
			t.Errorf("B indexed a session under A's token hash")
		}
		if err := fx.tb.IndexSession(ctx, fx.ada.ID, "sess-b-new", "ua-b", "10.0.0.2", false); err != nil {
			t.Fatal(err)
		}
		if c, err := fx.ta.CheckSession(ctx, fx.ada.ID, "sess-b-new"); err != nil || c.Indexed {
			t.Errorf("a session indexed by B is A's: %+v, %v", c, err)
		}
	}},
	"TouchSession": {call: func(t *testing.T, fx *isoFixture) {
		*fx.clock = fx.clock.Add(2 * time.Minute)
		if err := fx.tb.TouchSession(ctx, fx.sessA, "ua-evil", "6.6.6.6"); err != nil {
			t.Fatal(err)
		}
	}},
	"RekeySession": {call: func(t *testing.T, fx *isoFixture) {
		if err := fx.tb.RekeySession(ctx, fx.sessA, "sess-stolen"); err != nil {
			t.Fatal(err)
		}
		if c, err := fx.tb.CheckSession(ctx, fx.ada.ID, "sess-stolen"); err != nil || c.Indexed {
			t.Errorf("B's rekey moved A's session to B: %+v, %v", c, err)
		}
	}},
	"ForgetSession": {call: func(t *testing.T, fx *isoFixture) {
		if err := fx.tb.ForgetSession(ctx, fx.sessA); err != nil {
			t.Fatal(err)
		}
	}},
	"Sessions": {call: func(t *testing.T, fx *isoFixture) {
		ss, err := fx.tb.Sessions(ctx, fx.ada.ID, fx.sessA, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if len(ss) != 0 {
			t.Errorf("Sessions on B lists A's: %+v", ss)
		}
	}},
	"RevokeSession": {call: func(t *testing.T, fx *isoFixture) {
		wantNotFound(t, "RevokeSession", fx.tb.RevokeSession(ctx, fx.ada.ID, fx.sessAID, ev("session.revoked")))
		wantNotFound(t, "RevokeSession as B's owner", fx.tb.RevokeSession(ctx, fx.bob.ID, fx.sessAID, ev("session.revoked")))
	}},
	"RevokeOtherSessions": {call: func(t *testing.T, fx *isoFixture) {
		n, err := fx.tb.RevokeOtherSessions(ctx, fx.ada.ID, "", ev("session.revoked_others"))
		if err != nil || n != 0 {
			t.Errorf("RevokeOtherSessions on B for A's member = %d, %v; want 0", n, err)
		}
	}},

	// API tokens.
	"CreateAPIToken": {call: func(t *testing.T, fx *isoFixture) {
		tok, err := fx.tb.CreateAPIToken(ctx, store.NewAPIToken{UserID: fx.bob.ID, Name: "b", Hash: "tok-b-new", Hint: "b", Scopes: []string{"members:read"}, ExpiresAt: fx.st.Now().Add(time.Hour)}, ev("api_token.created"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fx.ta.APITokenByHash(ctx, "tok-b-new"); !core.IsNotFound(err) {
			t.Errorf("B's new token %d works in A: %v", tok.ID, err)
		}
	}},
	"APITokens": {call: func(t *testing.T, fx *isoFixture) {
		ts, err := fx.tb.APITokens(ctx, fx.ada.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) != 0 {
			t.Errorf("APITokens on B lists A's: %+v", ts)
		}
	}},
	"APITokenByHash": {call: func(t *testing.T, fx *isoFixture) {
		_, err := fx.tb.APITokenByHash(ctx, fx.tokAHash)
		wantNotFound(t, "APITokenByHash", err)
	}},
	"TouchAPIToken": {call: func(t *testing.T, fx *isoFixture) {
		if err := fx.tb.TouchAPIToken(ctx, fx.tokA.ID, "6.6.6.6"); err != nil {
			t.Fatal(err)
		}
	}},
	"RevokeAPIToken": {call: func(t *testing.T, fx *isoFixture) {
		wantNotFound(t, "RevokeAPIToken", fx.tb.RevokeAPIToken(ctx, fx.ada.ID, fx.tokA.ID, ev("api_token.revoked")))
		wantNotFound(t, "RevokeAPIToken as B's owner", fx.tb.RevokeAPIToken(ctx, fx.bob.ID, fx.tokA.ID, ev("api_token.revoked")))
	}},
	"HasCreatedAPIToken": {call: func(t *testing.T, fx *isoFixture) {
		if ok, err := fx.tb.HasCreatedAPIToken(ctx, fx.ada.ID); err != nil || ok {
			t.Errorf("HasCreatedAPIToken on B for A's member = %v, %v; want false", ok, err)
		}
	}},

	// Files.
	"CreateFile": {call: func(t *testing.T, fx *isoFixture) {
		f, err := fx.tb.CreateFile(ctx, store.File{UploaderID: fx.bob.ID, Name: "b.txt", ContentType: "text/plain", Size: 1, Bucket: "bk-b"},
			func(id int64) string { return fmt.Sprintf("files/b-%d", id) }, ev("file.upload_requested"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fx.ta.File(ctx, f.ID); !core.IsNotFound(err) {
			t.Errorf("B's new file is readable in A: %v", err)
		}
	}},
	"File": {call: func(t *testing.T, fx *isoFixture) {
		_, err := fx.tb.File(ctx, fx.fileA.ID)
		wantNotFound(t, "File", err)
	}},
	"Files": {call: func(t *testing.T, fx *isoFixture) {
		fs, err := fx.tb.Files(ctx, 100, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != 0 {
			t.Errorf("Files of B lists %+v", fs)
		}
	}},
	"MarkFileUploaded": {call: func(t *testing.T, fx *isoFixture) {
		if err := fx.tb.MarkFileUploaded(ctx, fx.fileA.ID, 999, "v-evil"); err != nil {
			t.Fatal(err)
		}
	}},
	"RecordScan": {call: func(t *testing.T, fx *isoFixture) {
		_, changed, err := fx.tb.RecordScan(ctx, fx.fileA.ID, "v1", store.FileClean, "", ev("file.scanned"))
		wantNotFound(t, "RecordScan", err)
		if changed {
			t.Errorf("RecordScan on B says it changed A's file")
		}
	}},
	"DeleteFile": {call: func(t *testing.T, fx *isoFixture) {
		wantNotFound(t, "DeleteFile", fx.tb.DeleteFile(ctx, fx.fileA.ID, ev("file.deleted")))
	}},
	"DashboardCounts": {call: func(t *testing.T, fx *isoFixture) {
		c, err := fx.tb.DashboardCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c.Members != 1 || c.PendingInvitations != 0 || c.InvitationsSent != 0 || c.Files != 0 || c.StorageBytes != 0 {
			t.Errorf("DashboardCounts of B counts A's rows: %+v", c)
		}
	}},

	// Audit trail.
	"AuditEvents": {call: func(t *testing.T, fx *isoFixture) {
		evs, err := fx.tb.AuditEvents(ctx, 0, 500)
		if err != nil {
			t.Fatal(err)
		}
		noEventOf(t, "AuditEvents", fx.b.ID, evs)
	}},
	"AuditEventsBy": {call: func(t *testing.T, fx *isoFixture) {
		evs, err := fx.tb.AuditEventsBy(ctx, fx.ada.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 0 {
			t.Errorf("AuditEventsBy on B lists %d events of A's member", len(evs))
		}
	}},
	"FilteredAuditEvents": {call: func(t *testing.T, fx *isoFixture) {
		for _, f := range []store.AuditFilter{{}, {Action: "member"}, {ActorType: "user"}, {After: 1}} {
			p, err := fx.tb.FilteredAuditEvents(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			noEventOf(t, fmt.Sprintf("FilteredAuditEvents(%+v)", f), fx.b.ID, p.Events)
		}
	}},
	"ExportAudit": {call: func(t *testing.T, fx *isoFixture) {
		n := 0
		err := fx.tb.ExportAudit(ctx, 0, fx.st.Now().Add(time.Hour).UnixMilli(), func(ce store.ChainedEvent) error {
			n++
			if ce.TenantID == nil || *ce.TenantID != fx.b.ID {
				t.Errorf("ExportAudit of B includes event %d of tenant %v", ce.ID, ce.TenantID)
			}
			return nil
		})
		if err != nil || n == 0 {
			t.Errorf("ExportAudit of B: %d events, %v", n, err)
		}
	}},

	// Break-glass grants.
	"OpenBreakGlass": {call: func(t *testing.T, fx *isoFixture) {
		g, err := fx.tb.OpenBreakGlass(ctx, fx.op.ID, "other ticket", time.Hour, ev("hq.break_glass.opened"))
		if err != nil {
			t.Fatal(err)
		}
		if g.TenantID != fx.b.ID {
			t.Errorf("B's grant is of tenant %d", g.TenantID)
		}
	}},
	"ActiveBreakGlass": {call: func(t *testing.T, fx *isoFixture) {
		_, err := fx.tb.ActiveBreakGlass(ctx, fx.op.ID)
		wantNotFound(t, "ActiveBreakGlass", err)
	}},
	"BreakGlassHistory": {call: func(t *testing.T, fx *isoFixture) {
		gs, err := fx.tb.BreakGlassHistory(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(gs) != 0 {
			t.Errorf("BreakGlassHistory of B lists %+v", gs)
		}
	}},
	"RevokeBreakGlass": {call: func(t *testing.T, fx *isoFixture) {
		_, err := fx.tb.RevokeBreakGlass(ctx, fx.grantA.ID, ev("hq.break_glass.revoked"))
		wantNotFound(t, "RevokeBreakGlass", err)
	}},

	// HQ's views of a whole tenant.
	"Overview": {call: func(t *testing.T, fx *isoFixture) {
		o, err := fx.tb.Overview(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if o.Tenant.ID != fx.b.ID || len(o.Members) != 1 || o.Members[0].UserID != fx.bob.ID || len(o.FilesByScan) != 0 || o.StorageBytes != 0 || o.MFACoverage != 0 {
			t.Errorf("Overview of B shows A's rows: %+v", o)
		}
	}},
	"Export": {call: func(t *testing.T, fx *isoFixture) {
		var buf bytes.Buffer
		if err := fx.tb.Export(ctx, &buf); err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{fx.ada.Email, fx.inviteeA, fx.fileA.Name, fx.fileA.ObjectKey, fx.a.Slug + `"`} {
			if strings.Contains(buf.String(), s) {
				t.Errorf("B's export contains A's %q", s)
			}
		}
		if !strings.Contains(buf.String(), fx.bob.Email) {
			t.Errorf("B's export lacks B's owner")
		}
	}},
}

// TestEveryTenantStoreMethodHasAnIsolationCase keeps the table complete: a
// new method on the tenant handle needs its cross-tenant case.
func TestEveryTenantStoreMethodHasAnIsolationCase(t *testing.T) {
	typ := reflect.TypeOf(&store.TenantStore{})
	if typ.NumMethod() < 40 {
		t.Fatalf("reflection sees only %d methods of *TenantStore", typ.NumMethod())
	}
	for i := 0; i < typ.NumMethod(); i++ {
		if name := typ.Method(i).Name; isolationCases[name].call == nil {
			t.Errorf("(*TenantStore).%s has no cross-tenant case in isolationCases", name)
		}
	}
	for name := range isolationCases {
		if _, ok := typ.MethodByName(name); !ok {
			t.Errorf("isolationCases has %q, which is no method of *TenantStore", name)
		}
	}
}

// TestTenantStoreIsolation runs every case: B's handle, given A's ids,
// tokens and users, sees nothing of A's and changes none of A's rows.
func TestTenantStoreIsolation(t *testing.T) {
	names := make([]string, 0, len(isolationCases))
	for name := range isolationCases {
		names = append(names, name)
	}
	sort.Strings(names)
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		st := testenv.Store(t, driver)
		clock := time.Now().Truncate(time.Millisecond)
		st.Now = func() time.Time { return clock }
		for _, name := range names {
			c := isolationCases[name]
			t.Run(name, func(t *testing.T) {
				fx := newIsoFixture(t, st, &clock)
				if c.setup != nil {
					c.setup(t, fx)
				}
				before := fx.snapshotA(t)
				c.call(t, fx)
				if after := fx.snapshotA(t); after != before {
					t.Errorf("%s on B's handle changed A's rows:\nbefore:\n%s\nafter:\n%s", name, before, after)
				}
			})
		}
	})
}
