package ui

import (
	"net/http"
	"sort"
)

// A destructive action (delete a file, remove a member, revoke a token,
// delete a dead job, require MFA of everyone) runs only on a form posted
// with confirmed=yes. Without JavaScript the first post answers a
// confirmation page that posts the same form again with it; page.js asks in
// a <dialog> instead and adds it, so a person confirms either way.

// Confirmation is the data of the "confirm" page.
type Confirmation struct {
	Question string
	Action   string // the path the form posts to again
	Cancel   string // where "Cancel" goes
	Fields   []Field
}

// Field is one posted form value carried through the confirmation.
type Field struct{ Name, Value string }

// Confirmed reports whether a parsed form carries the confirmation.
func Confirmed(r *http.Request) bool { return r.PostForm.Get("confirmed") == "yes" }

// ConfirmationOf asks question about the posted form r, to post it again.
func ConfirmationOf(r *http.Request, question, cancel string) Confirmation {
	c := Confirmation{Question: question, Action: r.URL.Path, Cancel: cancel}
	names := make([]string, 0, len(r.PostForm))
	for k := range r.PostForm {
		if k != "confirmed" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range r.PostForm[k] {
			c.Fields = append(c.Fields, Field{k, v})
		}
	}
	return c
}
