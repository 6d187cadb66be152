package api_test

import (
	"net/http"
	"strings"
)

// member invites email into owner's tenant as a plain member and returns
// the new member's browser, logged in.
func (s *stack) member(owner *browser, email string) *browser {
	s.t.Helper()
	want(s.t, owner.do("POST", "/api/invitations", map[string]string{"email": email, "role": "member"}), http.StatusCreated)
	token := linkToken(s.t, s.lastMail(email).Body, "/invitations/")
	b := s.browser(owner.host)
	want(s.t, b.do("POST", "/api/invitations/accept", map[string]string{"token": token, "name": "Member " + strings.Split(email, "@")[0], "password": testPassword}), http.StatusOK)
	return b
}
