package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/palisade-hq/palisade/internal/testenv"
)

// fieldState is what a phone user's browser shows of an invalid input.
const fieldState = `(() => {
  const input = document.getElementById("password"), msg = document.getElementById("password-error");
  const ir = input.getBoundingClientRect(), mr = msg ? msg.getBoundingClientRect() : null;
  const btn = document.getElementById("signup-submit").getBoundingClientRect();
  return JSON.stringify({
    focused: document.activeElement ? document.activeElement.id : "",
    invalid: input.getAttribute("aria-invalid"),
    describedBy: input.getAttribute("aria-describedby"),
    message: msg ? msg.textContent : "",
    next: input.nextElementSibling ? input.nextElementSibling.id : "",
    banner: !!document.getElementById("error"),
    below: mr ? mr.top >= ir.bottom - 1 && mr.top - ir.bottom < 40 : false,
    inView: mr ? mr.left >= 0 && mr.right <= window.innerWidth : false,
    buttonOwnRow: btn.top >= (mr ? mr.bottom : ir.bottom),
    email: document.getElementById("email").value,
    password: input.value,
  });
})()`

// TestBrowserFormErrorsAndCopy: on a phone, a sign-up with a short password
// comes back with the message under the password input, which has the
// focus, aria-invalid and aria-describedby pointing at the message; what
// was typed is kept except the password; the button is on its own row.
// Then a new API token's Copy button puts the token on the clipboard and
// says "Copied".
func TestBrowserFormErrorsAndCopy(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	ctx := browser(t)
	step(t, ctx, "phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))

	step(t, ctx, "open sign-up", chromedp.Navigate(s.URL("localhost", "/signup")))
	fill(t, ctx, map[string]string{"#organisation_name": "Acme Ltd", "#slug": "acme", "#name": "Ada Owner", "#email": "ada@acme.test", "#password": "short"})
	clickTo(t, ctx, "#signup-submit", "/signup")
	var st struct {
		Focused, Invalid, DescribedBy, Message, Next, Email, Password string
		Banner, Below, InView, ButtonOwnRow                           bool
	}
	mustJSON(t, step(t, ctx, "field state", chromedp.Evaluate[string](fieldState)), &st)
	want := "The password must be at least 12 characters (it has 5); a passphrase of a few words works well."
	if st.Focused != "password" || st.Invalid != "true" || st.DescribedBy != "password-error" || st.Message != want ||
		st.Next != "password-error" || st.Banner || !st.Below || !st.InView || !st.ButtonOwnRow {
		t.Fatalf("after a short password at 390 px: %+v", st)
	}
	if st.Email != "ada@acme.test" || st.Password != "" {
		t.Fatalf("kept input: e-mail %q, password %q", st.Email, st.Password)
	}

	fill(t, ctx, map[string]string{"#password": pw})
	clickTo(t, ctx, "#signup-submit", "/")

	// A token, copied with the button.
	origin := strings.TrimSuffix(s.URL("acme.localhost", "/"), "/")
	step(t, ctx, "clipboard permission", func(ctx context.Context, _ *chromedp.Target) (bool, error) {
		b := chromedp.FromContext(ctx).Browser
		for _, name := range []string{"clipboard-read", "clipboard-write"} {
			if _, err := cdp.Call(ctx, b, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
				Permission: &cdpbrowser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true},
				Setting:    cdpbrowser.PermissionSettingGranted, Origin: origin}); err != nil {
				return false, err
			}
		}
		return true, nil
	})
	step(t, ctx, "open security", chromedp.Navigate(s.URL("acme.localhost", "/security")))
	fill(t, ctx, map[string]string{"#token-name": "copy me"})
	step(t, ctx, "scope", chromedp.SetValue("#scope-files", "read"))
	clickTo(t, ctx, "#token-create", "/security/tokens")
	secret := strings.TrimSpace(textOf(t, ctx, "#token-secret"))
	if len(secret) < 20 {
		t.Fatalf("token secret %q", secret)
	}
	copyBtn := `button.copy-button[data-copy="token-secret"]`
	step(t, ctx, "copy button shown", chromedp.WaitVisible(copyBtn))
	step(t, ctx, "copy", chromedp.Click(copyBtn))
	waitText(t, ctx, copyBtn, "Copied")
	deadline := time.Now().Add(10 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		got = step(t, ctx, "read clipboard", chromedp.Evaluate[string](`navigator.clipboard.readText().catch(e => "error: " + e)`, chromedp.EvalAwaitPromise))
		if got == secret {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("clipboard holds %q, want the token %q", got, secret)
}

// TestBrowserUploadRefusedAtTheField: a file of a type not allowed is
// refused by the API's announce call, and files.js shows the refusal under
// the file input as the server-rendered forms do.
func TestBrowserUploadRefusedAtTheField(t *testing.T) {
	// The refusal comes before any scan: no clamd is needed.
	s := testenv.NewStack(t, "sqlite", testenv.FilesEnv(t, "127.0.0.1:9"))
	ctx := browser(t)
	step(t, ctx, "open sign-up", chromedp.Navigate(s.URL("localhost", "/signup")))
	fill(t, ctx, map[string]string{"#organisation_name": "Acme Ltd", "#slug": "acme", "#name": "Ada Owner", "#email": "ada@acme.test", "#password": pw})
	clickTo(t, ctx, "#signup-submit", "/")

	// A file of a type not allowed: the refusal is under the file input.
	step(t, ctx, "open files", chromedp.Navigate(s.URL("acme.localhost", "/files")))
	step(t, ctx, "upload form shown", chromedp.WaitVisible("#upload-form"))
	heic := filepath.Join(t.TempDir(), "photo.heic")
	if err := os.WriteFile(heic, []byte("not really a photo"), 0o600); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "choose file", chromedp.SetUploadFiles("#file-input", []string{heic}))
	step(t, ctx, "upload", chromedp.Click("#upload-submit"))
	step(t, ctx, "refusal shown", chromedp.WaitVisible("#file-input-error"))
	var up struct{ Focused, Invalid, DescribedBy, Message string }
	mustJSON(t, step(t, ctx, "file state", chromedp.Evaluate[string](`JSON.stringify({focused: document.activeElement.id,
	  invalid: document.getElementById("file-input").getAttribute("aria-invalid"),
	  describedBy: document.getElementById("file-input").getAttribute("aria-describedby"),
	  message: document.getElementById("file-input-error").textContent})`)), &up)
	if up.Focused != "file-input" || up.Invalid != "true" || up.DescribedBy != "file-input-error" || !strings.Contains(up.Message, "not accepted here") {
		t.Fatalf("refused upload: %+v", up)
	}

}
