package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/testenv"
)

type sessionList struct {
	Sessions []struct {
		ID        int64  `json:"id"`
		IP        string `json:"ip"`
		UserAgent string `json:"user_agent"`
		Current   bool   `json:"current"`
	} `json:"sessions"`
}

// TestSessionManagement: a user sees their sessions (device, address, last
// seen) and ends one; a password change ends all the others; an operator
// ends every session of one tenant and no other tenant's.
func TestSessionManagement(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		a, tn := s.signUp("acme", "ada@acme.test")
		a.xff = "198.51.100.1"
		want(t, a.do("GET", "/api/me", nil), http.StatusOK)
		phone := s.browser("acme.localhost:3000")
		phone.xff = "203.0.113.50"
		want(t, phone.do("POST", "/api/auth/login", map[string]string{"email": "ada@acme.test", "password": testPassword}), http.StatusOK)
		want(t, phone.do("GET", "/api/me", nil), http.StatusOK)

		var list sessionList
		r := a.do("GET", "/api/sessions", nil)
		want(t, r, http.StatusOK)
		r.json(t, &list)
		var phoneID int64
		current := 0
		for _, ss := range list.Sessions {
			if ss.Current {
				current++
			}
			if ss.IP == "203.0.113.50" {
				phoneID = ss.ID
			}
		}
		if len(list.Sessions) != 2 || current != 1 || phoneID == 0 || list.Sessions[0].UserAgent == "" {
			t.Fatalf("sessions: %+v", list)
		}
		// End the phone's session: its cookie is dead, the laptop's is not.
		want(t, a.do("DELETE", fmt.Sprintf("/api/sessions/%d", phoneID), nil), http.StatusNoContent)
		want(t, phone.do("GET", "/api/me", nil), http.StatusUnauthorized)
		want(t, a.do("GET", "/api/me", nil), http.StatusOK)
		want(t, a.do("DELETE", fmt.Sprintf("/api/sessions/%d", phoneID), nil), http.StatusNotFound)

		// Another user cannot end this user's session.
		bob, _ := s.signUp("globex", "bob@globex.test")
		want(t, bob.do("DELETE", fmt.Sprintf("/api/sessions/%d", list.Sessions[0].ID), nil), http.StatusNotFound)

		// A password change ends every other session, and keeps this one.
		tablet := s.login("acme.localhost:3000", "ada@acme.test")
		want(t, tablet.do("GET", "/api/me", nil), http.StatusOK)
		want(t, a.do("POST", "/api/auth/password", map[string]string{"current_password": "wrong password here", "new_password": "a brand new passphrase"}), http.StatusUnprocessableEntity)
		want(t, a.do("POST", "/api/auth/password", map[string]string{"current_password": testPassword, "new_password": "short"}), http.StatusUnprocessableEntity)
		want(t, a.do("POST", "/api/auth/password", map[string]string{"current_password": testPassword, "new_password": "a brand new passphrase"}), http.StatusOK)
		want(t, tablet.do("GET", "/api/me", nil), http.StatusUnauthorized)
		want(t, a.do("GET", "/api/me", nil), http.StatusOK)
		want(t, s.browser("acme.localhost:3000").do("POST", "/api/auth/login", map[string]string{"email": "ada@acme.test", "password": testPassword}), http.StatusUnauthorized)

		// An operator ends every session of acme; globex is untouched.
		op := s.operator("ops@palisade.test")
		want(t, op.do("POST", fmt.Sprintf("/api/hq/tenants/%d/sessions/revoke", tn.ID), nil), http.StatusOK)
		want(t, op.do("POST", "/api/hq/tenants/999999/sessions/revoke", nil), http.StatusNotFound)
		want(t, a.do("GET", "/api/me", nil), http.StatusUnauthorized)
		want(t, bob.do("GET", "/api/me", nil), http.StatusOK)
		// Session times have whole-second precision and a session from the
		// cutoff's own second counts as before it, so log in again in the
		// next second.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
		fresh := s.browser("acme.localhost:3000")
		want(t, fresh.do("POST", "/api/auth/login", map[string]string{"email": "ada@acme.test", "password": "a brand new passphrase"}), http.StatusOK)
		want(t, fresh.do("GET", "/api/me", nil), http.StatusOK)
	})
}
