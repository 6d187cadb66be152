package api_test

import (
	"net/http"
	"testing"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestAuditPagesNameTheActors: the tenant's and HQ's audit pages carry the
// actor's name and the tenant's name with each event, so nobody reads
// "user #1" or a tenant's number.
func TestAuditPagesNameTheActors(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		owner, tn := s.signUp("acme", "ada@acme.test")
		want(t, owner.do("POST", "/api/invitations", map[string]string{"email": "bob@acme.test", "role": "member"}), http.StatusCreated)
		want(t, s.browser(acmeHost).do("POST", "/api/auth/login", map[string]string{"email": "ada@acme.test", "password": "wrong password entirely"}), http.StatusUnauthorized)

		var page struct{ Events []core.AuditRow }
		r := owner.do("GET", "/api/audit", nil)
		want(t, r, http.StatusOK)
		r.json(t, &page)
		byAction := map[string]core.AuditRow{}
		for _, ev := range page.Events {
			byAction[ev.Action] = ev
		}
		if ev := byAction["invitation.created"]; ev.ActorName != "Owner of acme" || ev.TenantName != tn.Name {
			t.Fatalf("invitation.created: %+v", ev)
		}

		anon := 0
		for _, ev := range page.Events {
			if ev.ActorType == "anonymous" {
				anon++
				if ev.Actor() != "someone not logged in" {
					t.Fatalf("anonymous actor says %q", ev.Actor())
				}
			}
		}
		if anon == 0 {
			t.Fatal("the failed login is not on the trail as an anonymous act")
		}

		op, _, _ := s.hqOperator("ops@palisade.test")
		want(t, op.do("POST", "/api/hq/tenants", map[string]string{"slug": "nova", "name": "Nova Ltd"}), http.StatusCreated)
		r = op.do("GET", "/api/hq/audit", nil)
		want(t, r, http.StatusOK)
		page.Events = nil
		r.json(t, &page)
		found := false
		for _, ev := range page.Events {
			if ev.Action == "hq.tenant.created" {
				found = true
				if ev.ActorName != "Ops ops@palisade.test" || ev.TenantName != "Nova Ltd" || ev.Actor() != "Ops ops@palisade.test (Palisade HQ)" {
					t.Fatalf("hq.tenant.created: %+v (%s)", ev, ev.Actor())
				}
			}
		}
		if !found {
			t.Fatal("no hq.tenant.created in HQ's audit")
		}
	})
}
