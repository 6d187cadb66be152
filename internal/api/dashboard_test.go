package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

type dashboardResp struct {
	Role      core.Role `json:"role"`
	CanManage bool      `json:"can_manage"`
	Counts    struct {
		Members            int64            `json:"members"`
		PendingInvitations *int64           `json:"pending_invitations"`
		Files              int64            `json:"files"`
		FilesByStatus      map[string]int64 `json:"files_by_status"`
		StorageBytes       int64            `json:"storage_bytes"`
	} `json:"counts"`
	ActivityScope string          `json:"activity_scope"`
	Activity      []core.AuditRow `json:"activity"`
	Checklist     []struct {
		ID   string `json:"id"`
		Done bool   `json:"done"`
	} `json:"checklist"`
}

func (d dashboardResp) done() map[string]bool {
	out := map[string]bool{}
	for _, c := range d.Checklist {
		out[c.ID] = c.Done
	}
	return out
}

func getDashboard(t *testing.T, b *browser) dashboardResp {
	t.Helper()
	r := b.do("GET", "/api/dashboard", nil)
	want(t, r, http.StatusOK)
	var d dashboardResp
	r.json(t, &d)
	return d
}

// addFile records an uploaded, scanned file for a tenant as the upload
// path does (announce, arrival, scan), without needing S3.
func addFile(t *testing.T, st *store.Store, tenantID, uploader int64, size int64, status string) {
	t.Helper()
	ctx := context.Background()
	ts := st.Tenant(tenantID)
	f, err := ts.CreateFile(ctx, store.File{UploaderID: uploader, Name: "report.pdf", ContentType: "application/pdf", Size: size, Bucket: "bk"},
		func(id int64) string { return fmt.Sprintf("t/%d/files/%d", tenantID, id) },
		core.AuditEvent{ActorType: "user", ActorID: &uploader, Action: "file.upload_requested"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.MarkFileUploaded(ctx, f.ID, size, "v1"); err != nil {
		t.Fatal(err)
	}
	if status != store.FilePending {
		if _, _, err := ts.RecordScan(ctx, f.ID, "v1", status, "", core.AuditEvent{Action: "file.scanned"}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDashboard: the home page's counts and activity are of the host's
// tenant only, whatever the other tenant does; the checklist ticks itself
// as the steps are done; members see neither invitations nor the
// tenant's trail, only their own events; tokens cannot read it.
func TestDashboard(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		ada, acme := s.signUp("acme", "ada@acme.test")
		bob, globex := s.signUp("globex", "bob@globex.test")
		adaUser, err := s.st.UserByEmail(context.Background(), "ada@acme.test")
		if err != nil {
			t.Fatal(err)
		}
		bobUser, err := s.st.UserByEmail(context.Background(), "bob@globex.test")
		if err != nil {
			t.Fatal(err)
		}

		d := getDashboard(t, ada)
		if d.Role != core.RoleOwner || !d.CanManage || d.ActivityScope != "tenant" {
			t.Fatalf("owner's dashboard: %+v", d)
		}
		if d.Counts.Members != 1 || d.Counts.PendingInvitations == nil || *d.Counts.PendingInvitations != 0 || d.Counts.Files != 0 || d.Counts.StorageBytes != 0 {
			t.Fatalf("fresh counts: %+v", d.Counts)
		}
		for _, st := range []string{"pending", "clean", "infected", "error"} {
			if n, ok := d.Counts.FilesByStatus[st]; !ok || n != 0 {
				t.Errorf("files_by_status[%s] = %d, %v", st, n, ok)
			}
		}
		wantSteps := []string{"invite_teammate", "two_factor", "upload_file", "api_token"}
		if len(d.Checklist) != len(wantSteps) {
			t.Fatalf("checklist: %+v", d.Checklist)
		}
		for i, c := range d.Checklist {
			if c.ID != wantSteps[i] || c.Done {
				t.Errorf("fresh checklist item %d: %+v", i, c)
			}
		}
		if len(d.Activity) == 0 {
			t.Fatal("no activity after sign-up and login")
		}

		// Globex does everything; Acme's dashboard must not move.
		want(t, bob.do("POST", "/api/invitations", map[string]string{"email": "gil@globex.test", "role": "member"}), http.StatusCreated)
		addFile(t, s.st, globex.ID, bobUser.ID, 5000, store.FileInfected)
		s.createToken(bob, []string{"members:read"}, 30)
		s.enrolTOTP(bob, "/api/mfa/totp")

		d = getDashboard(t, ada)
		if d.Counts.Members != 1 || *d.Counts.PendingInvitations != 0 || d.Counts.Files != 0 || d.Counts.StorageBytes != 0 || d.Counts.FilesByStatus["infected"] != 0 {
			t.Fatalf("acme counts after globex acted: %+v", d.Counts)
		}
		for id, done := range d.done() {
			if done {
				t.Errorf("acme's %s ticked by globex's action", id)
			}
		}
		for _, ev := range d.Activity {
			if ev.TenantID == nil || *ev.TenantID != acme.ID || ev.TenantName != "" && ev.TenantName != "ACME" {
				t.Errorf("acme's activity holds an event of another tenant: %+v", ev)
			}
			if ev.ActorID != nil && *ev.ActorID == bobUser.ID {
				t.Errorf("acme's activity holds bob's event: %+v", ev)
			}
		}
		g := getDashboard(t, bob)
		if g.Counts.Members != 1 || *g.Counts.PendingInvitations != 1 || g.Counts.Files != 1 || g.Counts.FilesByStatus["infected"] != 1 || g.Counts.StorageBytes != 5000 {
			t.Fatalf("globex counts: %+v", g.Counts)
		}
		if gd := g.done(); !gd["invite_teammate"] || !gd["upload_file"] || !gd["api_token"] || !gd["two_factor"] {
			t.Fatalf("globex checklist: %+v", g.Checklist)
		}

		// Acme's steps, one by one.
		want(t, ada.do("POST", "/api/invitations", map[string]string{"email": "carol@acme.test", "role": "member"}), http.StatusCreated)
		d = getDashboard(t, ada)
		if *d.Counts.PendingInvitations != 1 || !d.done()["invite_teammate"] || d.done()["upload_file"] {
			t.Fatalf("after inviting: %+v %+v", d.Counts, d.Checklist)
		}
		if d.Activity[0].Action != "invitation.created" || d.Activity[0].ActorName != "Owner of acme" {
			t.Errorf("newest activity after inviting: %+v", d.Activity[0])
		}
		addFile(t, s.st, acme.ID, adaUser.ID, 1500, store.FileClean)
		addFile(t, s.st, acme.ID, adaUser.ID, 700, store.FilePending)
		d = getDashboard(t, ada)
		if d.Counts.Files != 2 || d.Counts.FilesByStatus["clean"] != 1 || d.Counts.FilesByStatus["pending"] != 1 || d.Counts.StorageBytes != 2200 || !d.done()["upload_file"] {
			t.Fatalf("after uploads: %+v %+v", d.Counts, d.Checklist)
		}
		if d.done()["two_factor"] || d.done()["api_token"] {
			t.Fatalf("ticked too early: %+v", d.Checklist)
		}
		s.createToken(ada, []string{"files:read"}, 30)
		if !getDashboard(t, ada).done()["api_token"] {
			t.Fatal("api_token not ticked after creating a token")
		}
		s.enrolTOTP(ada, "/api/mfa/totp")
		if !getDashboard(t, ada).done()["two_factor"] {
			t.Fatal("two_factor not ticked after enrolling an authenticator app")
		}
		if len(d.Activity) > 10 {
			t.Errorf("%d activity rows", len(d.Activity))
		}

		// A member: no invitations, no invite step, only their own events.
		mia := s.member(ada, "mia@acme.test")
		miaUser, err := s.st.UserByEmail(context.Background(), "mia@acme.test")
		if err != nil {
			t.Fatal(err)
		}
		want(t, mia.do("POST", "/api/auth/login", map[string]string{"email": "mia@acme.test", "password": testPassword}), http.StatusOK)
		m := getDashboard(t, mia)
		if m.CanManage || m.Role != core.RoleMember || m.ActivityScope != "own" || m.Counts.PendingInvitations != nil {
			t.Fatalf("member's dashboard: %+v", m)
		}
		if m.Counts.Members != 2 || m.Counts.Files != 2 {
			t.Fatalf("member's counts: %+v", m.Counts)
		}
		if _, ok := m.done()["invite_teammate"]; ok || len(m.Checklist) != 3 {
			t.Fatalf("member's checklist: %+v", m.Checklist)
		}
		if m.done()["two_factor"] || m.done()["api_token"] {
			t.Fatalf("member's personal steps ticked by the owner's: %+v", m.Checklist)
		}
		if len(m.Activity) == 0 {
			t.Fatal("member sees no activity of their own")
		}
		for _, ev := range m.Activity {
			if ev.ActorID == nil || *ev.ActorID != miaUser.ID || *ev.TenantID != acme.ID {
				t.Errorf("member sees an event not their own: %+v", ev)
			}
		}

		// Interactive sessions only: a token of any scope is refused.
		tok := s.createToken(mia, []string{"members:write", "files:write"}, 30)
		want(t, s.bearer("acme.localhost:3000", tok.Token).do("GET", "/api/dashboard", nil), http.StatusForbidden)
		// And nobody anonymous.
		want(t, s.browser("acme.localhost:3000").do("GET", "/api/dashboard", nil), http.StatusUnauthorized)
	})
}
