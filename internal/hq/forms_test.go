package hq_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// wantFieldError checks that the input with id is marked invalid and
// described by the message right under it, which says want, and that no
// banner repeats it.
func wantFieldError(t *testing.T, p, id, want string) {
	t.Helper()
	tag := regexp.MustCompile(`<input[^>]*\bid="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(p)
	if tag == "" {
		t.Fatalf("no input #%s:\n%s", id, p)
	}
	if !strings.Contains(tag, `aria-invalid="true"`) || !strings.Contains(tag, `aria-describedby="`+id+`-error"`) {
		t.Fatalf("input #%s is not marked invalid and described by its message: %s", id, tag)
	}
	after := p[strings.Index(p, tag)+len(tag):]
	if i := strings.Index(after, "<label"); i >= 0 {
		after = after[:i]
	}
	m := regexp.MustCompile(`<p class="form-error" id="` + regexp.QuoteMeta(id) + `-error">([^<]*)</p>`).FindStringSubmatch(after)
	if m == nil || html.UnescapeString(m[1]) != want {
		t.Fatalf("message under #%s: got %q, want %q:\n%s", id, m, want, after)
	}
	if strings.Contains(p, `id="error"`) || strings.Count(p, `aria-invalid="true"`) != 1 {
		t.Fatalf("want exactly one invalid input and no banner:\n%s", p)
	}
}

func wantValue(t *testing.T, p, id, value string) {
	t.Helper()
	tag := regexp.MustCompile(`<input[^>]*\bid="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(p)
	if !strings.Contains(html.UnescapeString(tag), `value="`+value+`"`) {
		t.Fatalf("input #%s does not keep %q: %s", id, value, tag)
	}
}

func TestHQFormErrorsNextToTheirField(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	admin := func(p string) string { return s.URL("admin.localhost", p) }
	if _, err := app.CreateOperator(context.Background(), s.Store, auth.Hasher{P: auth.FastParams}, "ops@palisade.test", "Ops", "operator passphrase 1"); err != nil {
		t.Fatal(err)
	}
	// Login: a malformed address is the e-mail field's, kept.
	ops := s.Client()
	p := wantStatus(t, do(t, ops, "POST", admin("/login"), url.Values{"email": {"ops"}, "password": {"x"}}), http.StatusUnprocessableEntity, "bad login")
	wantFieldError(t, p, "email", `"ops" is not an email address.`)
	wantValue(t, p, "email", "ops")
	wantStatus(t, do(t, ops, "POST", admin("/login"), url.Values{"email": {"ops@palisade.test"}, "password": {"operator passphrase 1"}}), http.StatusSeeOther, "login")
	s.EnrolOperator(t, ops)

	// Tenant creation: a bad owner address under its input, the rest kept.
	p = wantStatus(t, do(t, ops, "POST", admin("/tenants"), url.Values{"slug": {"nova"}, "name": {"Nova & Sons"}, "owner_email": {"bad address"}}), http.StatusUnprocessableEntity, "bad owner address")
	wantFieldError(t, p, "owner-email", "The owner's e-mail address is not valid.")
	wantValue(t, p, "slug", "nova")
	wantValue(t, p, "name", "Nova & Sons")
	wantValue(t, p, "owner-email", "bad address")
	p = wantStatus(t, do(t, ops, "POST", admin("/tenants"), url.Values{"slug": {"No Way"}, "name": {"Nova"}}), http.StatusUnprocessableEntity, "bad slug")
	tag := regexp.MustCompile(`<input id="slug"[^>]*>`).FindString(p)
	if !strings.Contains(tag, `aria-invalid="true"`) || !strings.Contains(p, `<p class="form-error" id="slug-error">`) {
		t.Fatalf("bad slug not shown at the slug:\n%s", p)
	}

	// Operator invite.
	p = wantStatus(t, do(t, ops, "POST", admin("/operators"), url.Values{"email": {"nova"}, "name": {"Nova"}}), http.StatusUnprocessableEntity, "bad operator address")
	wantFieldError(t, p, "op-email", `"nova" is not an email address.`)
	wantValue(t, p, "op-email", "nova")
	wantValue(t, p, "op-name", "Nova")

	// Security: the password form's and the replace form's "code" are told apart.
	p = wantStatus(t, do(t, ops, "POST", admin("/security/password"), url.Values{"current_password": {"operator passphrase 1"}, "new_password": {"a new passphrase"}, "new_password_confirm": {"not the same"}}), http.StatusUnprocessableEntity, "differing passwords")
	wantFieldError(t, p, "new-password-confirm", "The two new passwords differ; type the same password twice.")
	if strings.Contains(p, "a new passphrase") || strings.Contains(p, "operator passphrase 1") {
		t.Fatal("a password was echoed")
	}
	p = wantStatus(t, do(t, ops, "POST", admin("/security/totp"), url.Values{"password": {"operator passphrase 1"}, "code": {"12"}}), http.StatusUnprocessableEntity, "bad replace code")
	if tag := regexp.MustCompile(`<input id="reauth-code"[^>]*>`).FindString(p); !strings.Contains(tag, `aria-invalid="true"`) || strings.Count(p, `aria-invalid="true"`) != 1 {
		t.Fatalf("the replace form's code is not the one marked:\n%s", p)
	}
}
