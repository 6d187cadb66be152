package hq_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestHQTenantCreationInvitesTheOwner: the create form takes the owner's
// e-mail, the new tenant's page says it has no members and can send the
// owner invitation again, and the invitation reaches the outbox.
func TestHQTenantCreationInvitesTheOwner(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	admin := func(p string) string { return s.URL("admin.localhost", p) }
	if _, err := app.CreateOperator(context.Background(), s.Store, auth.Hasher{P: auth.FastParams}, "ops@palisade.test", "Ops", "operator passphrase 1"); err != nil {
		t.Fatal(err)
	}
	ops := s.Client()
	wantStatus(t, do(t, ops, "POST", admin("/login"), url.Values{"email": {"ops@palisade.test"}, "password": {"operator passphrase 1"}}), http.StatusSeeOther, "login")
	s.EnrolOperator(t, ops)

	p := wantStatus(t, do(t, ops, "POST", admin("/tenants"), url.Values{"slug": {"nova"}, "name": {"Nova Ltd"}, "owner_email": {"bad address"}}), http.StatusUnprocessableEntity, "bad owner address")
	if !strings.Contains(p, "owner&#39;s e-mail address is not valid") || !strings.Contains(p, `value="bad address"`) {
		t.Fatalf("bad owner address page:\n%s", p)
	}
	res := do(t, ops, "POST", admin("/tenants"), url.Values{"slug": {"nova"}, "name": {"Nova Ltd"}, "owner_email": {"nia@nova.test"}})
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/tenants/") {
		t.Fatalf("create: %d %s", res.StatusCode, loc)
	}
	p = body(t, do(t, ops, "GET", admin(loc), nil))
	if !strings.Contains(p, `id="no-members"`) || !strings.Contains(p, `id="owner-invite"`) {
		t.Fatalf("new tenant page:\n%s", p)
	}
	res = do(t, ops, "POST", admin(loc+"/owner-invitation"), url.Values{"email": {"nia@nova.test"}})
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "owner_invited") {
		t.Fatalf("invite again: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	mails, err := s.Store.Outbox(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range mails {
		if m.To == "nia@nova.test" && strings.Contains(m.Body, "http://nova.localhost") {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d owner invitations in the outbox, want 2: %+v", n, mails)
	}
}
