package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/palisade-hq/palisade/internal/testenv"
)

// wantFieldError checks that the input (or select) with id is marked
// invalid, is described by the message right under it, that the message
// is the sentence want, and that no banner repeats it.
func wantFieldError(t *testing.T, page, id, want string) {
	t.Helper()
	tag := regexp.MustCompile(`<(?:input|select|table)[^>]*\bid="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(page)
	if tag == "" {
		t.Fatalf("no input #%s:\n%s", id, page)
	}
	if !strings.Contains(tag, `aria-invalid="true"`) || !regexp.MustCompile(`aria-describedby="[^"]*\b`+regexp.QuoteMeta(id)+`-error\b`).MatchString(tag) {
		t.Fatalf("input #%s is not marked invalid and described by its message: %s", id, tag)
	}
	// The message follows the input before any other input or label.
	after := page[strings.Index(page, tag)+len(tag):]
	if i := strings.Index(after, "<label"); i >= 0 {
		after = after[:i]
	}
	m := regexp.MustCompile(`<p class="form-error" id="` + regexp.QuoteMeta(id) + `-error">([^<]*)</p>`).FindStringSubmatch(after)
	if m == nil || html.UnescapeString(m[1]) != want {
		t.Fatalf("message under #%s: got %q, want %q:\n%s", id, m, want, after)
	}
	if strings.Contains(page, `id="error"`) {
		t.Fatalf("a field's error is also a banner:\n%s", page)
	}
	if n := strings.Count(page, `aria-invalid="true"`); n != 1 {
		t.Fatalf("%d inputs marked invalid, want 1", n)
	}
}

// wantValue checks that the input with id shows value (kept input).
func wantValue(t *testing.T, page, id, value string) {
	t.Helper()
	tag := regexp.MustCompile(`<input[^>]*\bid="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(page)
	if !strings.Contains(html.UnescapeString(tag), `value="`+value+`"`) {
		t.Fatalf("input #%s does not keep %q: %s", id, value, tag)
	}
}

func TestFormErrorsNextToTheirField(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	c := s.Client()

	// Sign-up with a short password: the message is under the password,
	// everything else typed is kept, the password is not.
	r, page := post(t, c, s.URL("localhost", "/signup"), url.Values{"organisation_name": {"Acme & Co"}, "slug": {"acme"},
		"name": {"Ada Owner"}, "email": {"ada@acme.test"}, "password": {"short"}})
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("short password sign-up: %d", r.StatusCode)
	}
	wantFieldError(t, page, "password", "The password must be at least 12 characters (it has 5); a passphrase of a few words works well.")
	wantValue(t, page, "organisation_name", "Acme & Co")
	wantValue(t, page, "slug", "acme")
	wantValue(t, page, "name", "Ada Owner")
	wantValue(t, page, "email", "ada@acme.test")
	if strings.Contains(page, `value="short"`) {
		t.Fatal("the password was echoed")
	}
	// The slug keeps its preview as a description besides the error.
	if !strings.Contains(page, `id="slug" name="slug" required minlength="3" maxlength="32" pattern="[a-z0-9-]+" value="acme" aria-describedby="slug-preview"`) {
		t.Fatalf("slug input lost its preview description:\n%s", page)
	}

	signUp(t, s, c, "acme")
	acme := func(p string) string { return s.URL("acme.localhost", p) }

	// Log in: an address that is none is the e-mail field's error; a wrong
	// password is about no field (it must not say which is wrong): a banner.
	anon := s.Client()
	r, page = post(t, anon, acme("/login"), url.Values{"email": {"not-an-address"}, "password": {"whatever it is"}})
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad address login: %d", r.StatusCode)
	}
	wantFieldError(t, page, "email", `"not-an-address" is not an email address.`)
	wantValue(t, page, "email", "not-an-address")
	r, page = post(t, anon, acme("/login"), url.Values{"email": {"owner@acme.test"}, "password": {"wrong password!"}})
	if r.StatusCode < 400 || !strings.Contains(page, `<div class="error" role="alert" id="error">`) || strings.Contains(page, `aria-invalid`) {
		t.Fatalf("wrong password login: %d\n%s", r.StatusCode, page)
	}
	wantValue(t, page, "email", "owner@acme.test")
	if strings.Contains(page, "wrong password!") {
		t.Fatal("the password was echoed")
	}

	// Password change: each refusal next to its input, no password echoed.
	for _, tc := range []struct {
		form     url.Values
		id, want string
	}{
		{url.Values{"current_password": {pw}, "new_password": {"short"}, "confirm_password": {"short"}}, "new_password",
			"The new password must be at least 12 characters (it has 5); a passphrase of a few words works well."},
		{url.Values{"current_password": {pw}, "new_password": {"a new passphrase"}, "confirm_password": {"another one"}}, "confirm_password",
			"The new password and its confirmation differ."},
		{url.Values{"current_password": {"wrong password!"}, "new_password": {"a new passphrase"}, "confirm_password": {"a new passphrase"}}, "current_password",
			"The current password is wrong."},
	} {
		r, page = post(t, c, acme("/security/password"), tc.form)
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("password change %v: %d", tc.form, r.StatusCode)
		}
		wantFieldError(t, page, tc.id, tc.want)
		if strings.Contains(page, "a new passphrase") || strings.Contains(page, "wrong password!") || strings.Contains(page, `value="short"`) {
			t.Fatal("a password was echoed")
		}
	}

	// Invite: the address is kept, and so is the role chosen.
	r, page = post(t, c, acme("/members/invite"), url.Values{"email": {"nope"}, "role": {"admin"}})
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad invite: %d\n%s", r.StatusCode, page)
	}
	wantFieldError(t, page, "invite-email", `"nope" is not an email address.`)
	wantValue(t, page, "invite-email", "nope")
	if !strings.Contains(page, `<option value="admin" selected>`) {
		t.Fatalf("the role chosen was not kept:\n%s", page)
	}

	// Token creation: the name's error under the name, the access chosen kept.
	r, page = post(t, c, acme("/security/tokens"), url.Values{"name": {""}, "scope_files": {"write"}, "expires_in_days": {"30"}})
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("nameless token: %d", r.StatusCode)
	}
	wantFieldError(t, page, "token-name", "The name is required.")
	if !strings.Contains(page, `<select id="scope-files" name="scope_files"><option value="none">none</option><option value="read">read</option><option value="write" selected>`) ||
		!strings.Contains(page, `<option value="30" selected>`) || strings.Contains(page, `<option value="90" selected>`) {
		t.Fatalf("the token form was not kept:\n%s", page)
	}
}

// TestUploadAccept: the file input offers the configured types, without
// the catch-all application/octet-stream.
func TestUploadAccept(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	c := s.Client()
	signUp(t, s, c, "acme")
	st, page := get(t, c, s.URL("acme.localhost", "/files"))
	m := regexp.MustCompile(`<input id="file-input"[^>]*accept="([^"]*)"`).FindStringSubmatch(page)
	if st != http.StatusOK || m == nil {
		t.Fatalf("files page %d without accept:\n%s", st, page)
	}
	accept := html.UnescapeString(m[1])
	for _, want := range []string{"application/pdf", ".pdf", "image/png", "text/csv", ".docx"} {
		if !strings.Contains(","+accept+",", ","+want+",") {
			t.Errorf("accept %q lacks %s", accept, want)
		}
	}
	if strings.Contains(accept, "octet-stream") {
		t.Errorf("accept %q lists the catch-all", accept)
	}
}

// TestCopyAndDownload: the new token, the TOTP secret and the recovery
// codes come with a copy button (hidden until copy.js shows it), and the
// codes with a text-file download of exactly them, built into the page.
func TestCopyAndDownload(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	c := s.Client()
	signUp(t, s, c, "acme")
	acme := func(p string) string { return s.URL("acme.localhost", p) }
	copyButton := func(id string) string {
		return `<button type="button" class="secondary copy-button" data-copy="` + id + `" hidden>Copy</button>`
	}
	_, page := post(t, c, acme("/security/tokens"), url.Values{"name": {"ci"}, "scope_files": {"read"}, "expires_in_days": {"7"}})
	if !strings.Contains(page, copyButton("token-secret")) || !strings.Contains(page, `src="/static/copy.js"`) {
		t.Fatalf("token page without a copy button:\n%s", page)
	}

	_, page = get(t, c, acme("/mfa/setup"))
	m := regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`).FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, copyButton("totp-secret")) {
		t.Fatalf("setup page without secret or copy button:\n%s", page)
	}
	// A wrong code: the message is under the code input.
	r, err := c.PostForm(acme("/mfa/setup"), url.Values{"code": {"000000"}})
	if err != nil {
		t.Fatal(err)
	}
	expectRedirect(t, r, err, "/mfa/setup?retry=1")
	_, page = get(t, c, acme("/mfa/setup?retry=1"))
	wantFieldError(t, page, "code", "That code did not match. Check the time on your phone and enter the next code your app shows.")
	code, _ := totp.GenerateCode(m[1], time.Now())
	_, page = post(t, c, acme("/mfa/setup"), url.Values{"code": {code}})
	codes := regexp.MustCompile(`<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>`).FindAllStringSubmatch(page, -1)
	if len(codes) != 10 || !strings.Contains(page, copyButton("recovery-codes")) {
		t.Fatalf("recovery page:\n%s", page)
	}
	var want strings.Builder
	for _, c := range codes {
		want.WriteString(c[1] + "\r\n")
	}
	dl := regexp.MustCompile(`<a class="button secondary" id="codes-download" href="data:text/plain;charset=utf-8,([^"]*)" download="palisade-recovery-codes.txt">`).FindStringSubmatch(page)
	if dl == nil {
		t.Fatalf("no download link:\n%s", page)
	}
	got, err := url.PathUnescape(html.UnescapeString(dl[1]))
	if err != nil || got != want.String() {
		t.Fatalf("download holds %q (%v), want %q", got, err, want.String())
	}
}

// TestFilesPageNamesItsChannels: the files page is given the live channels
// it listens on (its script does not build them), in laravel-echo's form
// of the names the files feature publishes to.
func TestFilesPageNamesItsChannels(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	c := s.Client()
	signUp(t, s, c, "acme")
	tn, err := s.Store.TenantBySlug(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.Store.UserByEmail(context.Background(), "owner@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	st, page := get(t, c, s.URL("acme.localhost", "/files"))
	want := fmt.Sprintf(`data-user-channel="tenant.%d.user.%d" data-files-channel="tenant.%d.files"`, tn.ID, u.ID, tn.ID)
	if st != http.StatusOK || !strings.Contains(page, want) {
		t.Fatalf("files page %d without %s:\n%s", st, want, page)
	}
}
