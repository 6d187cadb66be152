package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// focusNow describes the focused element and whether a sighted keyboard
// user can see where the focus is (an outline or a ring of box-shadow).
const focusNow = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return JSON.stringify({what: "body"});
  const cs = getComputedStyle(el);
  const ring = (cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 2) || (cs.boxShadow && cs.boxShadow !== "none");
  return JSON.stringify({what: el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " " + el.textContent.trim().slice(0, 40),
    ring, opener: el.dataset.opener === "1", inDialog: !!el.closest("dialog[open]")});
})()`

type focused struct {
	What     string
	Ring     bool
	Opener   bool
	InDialog bool
}

func focusState(t *testing.T, ctx context.Context) focused {
	t.Helper()
	var f focused
	mustJSON(t, step(t, ctx, "focused element", chromedp.Evaluate[string](focusNow)), &f)
	return f
}

func press(t *testing.T, ctx context.Context, key string, opts ...chromedp.KeyOption) {
	t.Helper()
	step(t, ctx, "press key", chromedp.KeyEvent(key, opts...))
}

// TestKeyboardConfirmDialog: every Tab stop of the security, files and
// home pages shows a focus ring; on the members page, Tab alone reaches the
// Remove button of a member, every element on the way shows where the
// focus is, Enter opens the confirmation dialog with the focus inside,
// Tab and Shift+Tab stay inside it, Escape closes it without removing
// anyone, and the focus is back on the Remove button.
func TestKeyboardConfirmDialog(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	bg := context.Background()
	hash, err := hasher().Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	tn, owner, err := s.Store.SignUp(bg, "acme", "Acme Ltd", newUser("ada@acme.test", hash), core.AuditEvent{Action: "tenant.signup"})
	if err != nil {
		t.Fatal(err)
	}
	inviteMember(t, s, tn.ID, owner.ID, "mia@acme.test")
	ctx := browser(t)
	step(t, ctx, "login page", chromedp.Navigate(s.URL("acme.localhost", "/login")))
	fill(t, ctx, map[string]string{"#email": "ada@acme.test", "#password": pw})
	clickTo(t, ctx, "#login-submit", "/")
	// Every Tab stop of the busiest pages shows where the focus is.
	for _, p := range []string{"/security", "/files", "/"} {
		step(t, ctx, "open "+p, chromedp.Navigate(s.URL("acme.localhost", p)))
		step(t, ctx, "loaded", chromedp.WaitVisible("main"))
		stops := 0
		for i := 0; i < 120; i++ {
			press(t, ctx, kb.Tab)
			f := focusState(t, ctx)
			if f.What == "body" || step(t, ctx, "been here", chromedp.Evaluate[bool](`(() => { const el = document.activeElement; const seen = el.dataset.seen === "1"; el.dataset.seen = "1"; return seen })()`)) {
				break
			}
			stops++
			if !f.Ring {
				t.Errorf("%s: focus on %q is not visible (no outline or ring)", p, f.What)
			}
		}
		if stops < 5 {
			t.Errorf("%s: only %d Tab stops", p, stops)
		}
	}

	step(t, ctx, "members", chromedp.Navigate(s.URL("acme.localhost", "/members")))
	step(t, ctx, "loaded", chromedp.WaitVisible("#members"))

	// Tab from the top of the page to Mia's Remove button.
	step(t, ctx, "mark the target", chromedp.Evaluate[bool](`(() => {
	  const tr = [...document.querySelectorAll("#members tbody tr")].find(tr => tr.textContent.includes("mia@acme.test"));
	  tr.querySelector("button").dataset.opener = "1"; return true })()`))
	var path []string
	reached := false
	for i := 0; i < 40 && !reached; i++ {
		press(t, ctx, kb.Tab)
		f := focusState(t, ctx)
		path = append(path, f.What)
		if !f.Ring {
			t.Errorf("focus on %q is not visible (no outline or ring)", f.What)
		}
		reached = f.Opener
	}
	if !reached {
		t.Fatalf("Tab never reached Mia's Remove button; focus went %v", path)
	}

	press(t, ctx, kb.Enter)
	step(t, ctx, "dialog", chromedp.WaitVisible("dialog#confirm-dialog[open]"))
	if f := focusState(t, ctx); !f.InDialog {
		t.Fatalf("after Enter the focus is on %q, outside the dialog", f.What)
	}
	// Tab and Shift+Tab, more often than the dialog has buttons, stay inside.
	seen := map[string]bool{}
	for i := 0; i < 5; i++ {
		press(t, ctx, kb.Tab)
		f := focusState(t, ctx)
		if !f.InDialog {
			t.Fatalf("Tab %d left the open dialog for %q", i+1, f.What)
		}
		if !f.Ring {
			t.Errorf("focus on %q in the dialog is not visible", f.What)
		}
		seen[f.What] = true
	}
	if len(seen) != 2 {
		t.Errorf("Tab in the dialog visited %v, want both buttons", seen)
	}
	for i := 0; i < 3; i++ {
		press(t, ctx, kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift))
		if f := focusState(t, ctx); !f.InDialog {
			t.Fatalf("Shift+Tab %d left the open dialog for %q", i+1, f.What)
		}
	}

	press(t, ctx, kb.Escape)
	step(t, ctx, "dialog closed", chromedp.WaitNotPresent("dialog#confirm-dialog"))
	if f := focusState(t, ctx); !f.Opener {
		t.Fatalf("after Escape the focus is on %q, not on the Remove button that opened the dialog", f.What)
	}
	// Nothing was removed: the list after a reload still has Mia.
	step(t, ctx, "reload", chromedp.Navigate(s.URL("acme.localhost", "/members")))
	if got := textOf(t, ctx, "#members"); !strings.Contains(got, "mia@acme.test") {
		t.Fatalf("Escape removed the member: %q", got)
	}

	// And Enter on the dialog's confirm button does remove.
	step(t, ctx, "mark the target", chromedp.Evaluate[bool](`(() => {
	  const tr = [...document.querySelectorAll("#members tbody tr")].find(tr => tr.textContent.includes("mia@acme.test"));
	  tr.querySelector("button").focus(); return document.activeElement.textContent.trim() === "Remove" })()`))
	press(t, ctx, kb.Enter)
	step(t, ctx, "dialog", chromedp.WaitVisible("#confirm-dialog-yes"))
	clickTo(t, ctx, "#confirm-dialog-yes", "/members")
	if got := textOf(t, ctx, "#members"); strings.Contains(got, "mia@acme.test") {
		t.Fatalf("confirming did not remove the member: %q", got)
	}
}
