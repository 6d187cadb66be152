package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestInvitingTwiceLeavesOneLink: a second invitation to the same address
// replaces the first (its link stops working, the list shows one), and an
// acceptance leaves no stale invitation to that address behind.
func TestInvitingTwiceLeavesOneLink(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		owner, tenant := s.signUp("acme", "ada@acme.test")
		pending := func() []core.Invitation {
			t.Helper()
			var out struct{ Invitations []core.Invitation }
			r := owner.do("GET", "/api/invitations", nil)
			want(t, r, http.StatusOK)
			r.json(t, &out)
			return out.Invitations
		}

		want(t, owner.do("POST", "/api/invitations", map[string]string{"email": "carol@acme.test", "role": "member"}), http.StatusCreated)
		first := linkToken(t, s.lastMail("carol@acme.test").Body, "/invitations/")
		want(t, owner.do("POST", "/api/invitations", map[string]string{"email": "Carol@ACME.test", "role": "admin"}), http.StatusCreated)
		second := linkToken(t, s.lastMail("carol@acme.test").Body, "/invitations/")
		if first == second {
			t.Fatal("the second invitation reused the first link")
		}
		if l := pending(); len(l) != 1 || l[0].Role != core.RoleAdmin {
			t.Fatalf("pending after inviting twice: %+v", l)
		}
		anon := s.browser(acmeHost)
		want(t, anon.do("GET", "/api/invitation-lookup?token="+first, nil), http.StatusNotFound)
		want(t, anon.do("POST", "/api/invitations/accept", map[string]string{"token": first, "name": "Carol", "password": testPassword}), http.StatusNotFound)

		// A stale row (from before this rule) is removed by the acceptance.
		if _, err := s.st.DB().ExecContext(context.Background(), `INSERT INTO invitations (tenant_id, email, role, token_hash, invited_by, expires_at, created_at) VALUES (?, ?, 'member', 'stale-hash', ?, ?, ?)`,
			tenant.ID, "carol@acme.test", 1, time.Now().Add(time.Hour).UnixMilli(), time.Now().UnixMilli()); err != nil {
			t.Fatal(err)
		}
		if l := pending(); len(l) != 2 {
			t.Fatalf("pending with the stale row: %+v", l)
		}
		want(t, anon.do("POST", "/api/invitations/accept", map[string]string{"token": second, "name": "Carol", "password": testPassword}), http.StatusOK)
		if l := pending(); len(l) != 0 {
			t.Fatalf("pending after acceptance: %+v", l)
		}
	})
}

// TestConcurrentInvitationsAllSucceed: invitations created at once (to
// different addresses) never fail; replacing pending ones by address must
// not take locks that make concurrent creations deadlock (MariaDB's gap
// locks did, as a 500 under load).
func TestConcurrentInvitationsAllSucceed(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, throttleEnv())
		s.signUp("acme", "ada@acme.test")
		// A browser is one client (its cookie jar is not shared across
		// goroutines): one logged-in session per concurrent caller.
		const n = 12
		owners := make([]*browser, n)
		for i := range owners {
			owners[i] = s.login(acmeHost, "ada@acme.test")
		}
		codes := make(chan int, n)
		for i, owner := range owners {
			go func() {
				codes <- owner.do("POST", "/api/invitations", map[string]string{"email": fmt.Sprintf("load-%d@acme.test", i), "role": "member"}).status
			}()
		}
		for range n {
			if c := <-codes; c != http.StatusCreated {
				t.Errorf("a concurrent invitation answered %d", c)
			}
		}
	})
}
