package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/testenv"
)

// Names with a right-to-left override or another invisible character are
// refused wherever a person or an organisation is named (issue 14, item
// 10), with a 422 that names the field; nothing is created.
func TestNamesRefuseInvisibleCharacters(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		apex := s.browser("localhost:3000")
		for _, c := range []struct{ field, org, name string }{
			{"organisation_name", "Acme\u202Egnp.exe", "Ada"},
			{"name", "Acme", "Ada\u2066Admin\u2069"},
			{"name", "Acme", "Ad\u200Ba"},
			{"name", "Acme", "\uFEFFAda"},
		} {
			r := apex.do("POST", "/api/signup", map[string]string{
				"organisation_name": c.org, "slug": "acme", "name": c.name, "email": "ada@acme.test", "password": testPassword,
			})
			want(t, r, http.StatusUnprocessableEntity)
			if r.errorCode() == "" || !strings.Contains(string(r.body), `"field":"`+c.field+`"`) ||
				!strings.Contains(string(r.body), strings.ReplaceAll(c.field, "_", " ")+" must not contain control or invisible formatting characters") {
				t.Fatalf("signup %q/%q: %s", c.org, c.name, r.body)
			}
		}
		// Nothing was half-created: the slug is still free.
		owner, _ := s.signUp("acme", "ada@acme.test")

		// An invited member cannot take such a name either, and the link
		// stays usable for a proper one.
		want(t, owner.do("POST", "/api/invitations", map[string]string{"email": "carol@acme.test", "role": "member"}), http.StatusCreated)
		token := linkToken(t, s.lastMail("carol@acme.test").Body, "/invitations/")
		anon := s.browser("acme.localhost:3000")
		r := anon.do("POST", "/api/invitations/accept", map[string]string{"token": token, "name": "Carol\u202E", "password": testPassword})
		want(t, r, http.StatusUnprocessableEntity)
		if !strings.Contains(string(r.body), "name must not contain control or invisible formatting characters (found U+202E, a text-direction control)") {
			t.Fatalf("accept: %s", r.body)
		}
		want(t, anon.do("POST", "/api/invitations/accept", map[string]string{"token": token, "name": "Carol", "password": testPassword}), http.StatusOK)
	})
}
