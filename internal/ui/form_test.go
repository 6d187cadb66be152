package ui_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/ui"
)

func TestSentence(t *testing.T) {
	for _, tc := range []struct{ field, msg, want string }{
		{"password", "must be at least 12 characters (it has 5)", "The password must be at least 12 characters (it has 5)."},
		{"email", "is required", "The e-mail address is required."},
		{"organisation_name", "must be at most 100 characters", "The organisation name must be at most 100 characters."},
		{"totp.code", "is required", "The code is required."},
		{"code", "the code is wrong or has expired", "The code is wrong or has expired."},
		{"", "too many failed attempts; try again in 5 minutes", "Too many failed attempts; try again in 5 minutes."},
		{"name", "Choose a name.", "Choose a name."},
		{"", "", ""},
	} {
		if got := ui.Sentence(tc.field, tc.msg); got != tc.want {
			t.Errorf("Sentence(%q, %q) = %q, want %q", tc.field, tc.msg, got, tc.want)
		}
	}
}

func TestFieldAttributes(t *testing.T) {
	p := ui.Page{Error: "is required", Field: "email"}
	if got := string(p.Invalid("email", "invite-email")); got != ` aria-invalid="true" autofocus aria-describedby="invite-email-error"` {
		t.Errorf("invalid field attributes: %q", got)
	}
	if got := string(p.Invalid("name", "name", "name-hint")); got != ` aria-describedby="name-hint"` {
		t.Errorf("valid field keeps only its own description: %q", got)
	}
	if fe := p.FieldErr("email", "invite-email"); fe.ID != "invite-email-error" || fe.Message != "The e-mail address is required." {
		t.Errorf("field error: %+v", fe)
	}
	if fe := p.FieldErr("name", "name"); fe != (ui.FieldErr{}) {
		t.Errorf("another field's error: %+v", fe)
	}
	// Banner is the error when the page was not rendered with the field
	// inline (a zero Page is not rendered).
	if b := p.Banner(); !strings.HasPrefix(b, "The e-mail address") {
		t.Errorf("banner: %q", b)
	}
}

// TestBannerOnlyForFieldsNotOnThePage: an error about an input the page
// has is shown there; one about anything else (the reset link's token) is
// the banner.
func TestBannerOnlyForFieldsNotOnThePage(t *testing.T) {
	r, err := ui.New()
	if err != nil {
		t.Fatal(err)
	}
	render := func(view string, p ui.Page) string {
		w := httptest.NewRecorder()
		r.Render(w, 422, view, p)
		return w.Body.String()
	}
	page := render("reset", ui.Page{Title: "New password", Site: "web", Error: "this link has expired", Field: "token"})
	if !strings.Contains(page, `<div class="error" role="alert" id="error">This link has expired.</div>`) || strings.Contains(page, "aria-invalid") {
		t.Fatalf("token error not a banner:\n%s", page)
	}
	page = render("reset", ui.Page{Title: "New password", Site: "web", Error: "must be at least 12 characters (it has 3)", Field: "password"})
	if strings.Contains(page, `id="error"`) || !strings.Contains(page, `<p class="form-error" id="password-error">The password must be at least 12 characters (it has 3).</p>`) {
		t.Fatalf("password error not at the field:\n%s", page)
	}
}
