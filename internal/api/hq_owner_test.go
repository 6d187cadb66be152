package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestHQCreatedTenantGetsAnOwner: a tenant HQ creates has no member, so HQ
// invites its owner, at creation or later; the invitee becomes the owner
// (who can then invite others), a bad address creates nothing, and a
// second invitation replaces the first.
func TestHQCreatedTenantGetsAnOwner(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		op, _, _ := s.hqOperator("ops@palisade.test")

		r := op.do("POST", "/api/hq/tenants", map[string]string{"slug": "nova", "name": "Nova Ltd", "owner_email": "not an address"})
		want(t, r, http.StatusUnprocessableEntity)
		if r.field(t) != "owner_email" {
			t.Fatalf("bad owner address: %s", r.body)
		}
		want(t, s.browser("nova.localhost:3000").do("GET", "/api/invitation-lookup?token=x", nil), http.StatusNotFound) // no tenant was made

		r = op.do("POST", "/api/hq/tenants", map[string]string{"slug": "nova", "name": "Nova Ltd", "owner_email": "Nia@Nova.test"})
		want(t, r, http.StatusCreated)
		var out struct {
			Tenant     core.Tenant
			Invitation core.Invitation
		}
		r.json(t, &out)
		if out.Invitation.Role != core.RoleOwner || out.Invitation.Email != "nia@nova.test" {
			t.Fatalf("owner invitation: %+v", out.Invitation)
		}
		mail := s.lastMail("nia@nova.test")
		if !strings.Contains(mail.Body, "Nova Ltd") || !strings.Contains(mail.Body, "http://nova.localhost:3000/invitations/") {
			t.Fatalf("owner mail: %s", mail.Body)
		}
		first := linkToken(t, mail.Body, "/invitations/")

		// Sent again from the tenant page: the first link stops working.
		path := "/api/hq/tenants/" + strconv.FormatInt(out.Tenant.ID, 10) + "/owner-invitation"
		want(t, op.do("POST", path, map[string]string{"email": "nia@nova.test"}), http.StatusCreated)
		second := linkToken(t, s.lastMail("nia@nova.test").Body, "/invitations/")
		want(t, op.do("POST", path, map[string]string{"email": "nope"}), http.StatusUnprocessableEntity)
		want(t, op.do("POST", "/api/hq/tenants/99999/owner-invitation", map[string]string{"email": "x@nova.test"}), http.StatusNotFound)
		// A tenant user is not an operator.
		owner, _ := s.signUp("acme", "ada@acme.test")
		want(t, owner.do("POST", path, map[string]string{"email": "x@nova.test"}), http.StatusNotFound)

		nova := s.browser("nova.localhost:3000")
		want(t, nova.do("POST", "/api/invitations/accept", map[string]string{"token": first, "name": "Nia", "password": testPassword}), http.StatusNotFound)
		want(t, nova.do("POST", "/api/invitations/accept", map[string]string{"token": second, "name": "Nia", "password": testPassword}), http.StatusOK)
		var me struct{ Role core.Role }
		nova.do("GET", "/api/me", nil).json(t, &me)
		if me.Role != core.RoleOwner {
			t.Fatalf("the invitee is %q, want owner", me.Role)
		}
		want(t, nova.do("POST", "/api/invitations", map[string]string{"email": "max@nova.test", "role": "admin"}), http.StatusCreated)
	})
}
