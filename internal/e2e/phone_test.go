package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// actionsOnScreen lists the buttons and links inside tables that a person
// cannot reach: not rendered (display:none, zero size) or outside the
// viewport's width. It also counts them all, so a page without actions
// cannot pass by accident.
const actionsOnScreen = `(() => {
  const all = [...document.querySelectorAll("main table button, main table a")];
  const lost = all.filter(el => {
    const r = el.getBoundingClientRect();
    return r.width === 0 || r.height === 0 || r.left < 0 || r.right > window.innerWidth + 1;
  }).map(el => (el.id || el.textContent.trim()) + " in " + (el.closest("td") && el.closest("td").getAttribute("data-label")));
  return JSON.stringify({count: all.length, lost, scrollX: document.documentElement.scrollWidth > window.innerWidth + 1});
})()`

// TestPhoneKeepsEveryAction: at 390 px (a phone) the sign-up preview follows
// the typed site name, and every table action of the
// members and security pages is on screen (tables become stacked cards),
// nothing scrolls sideways, each cell is labelled with its column, and the
// navigation marks the current page.
func TestPhoneKeepsEveryAction(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	ctx := browser(t)
	step(t, ctx, "phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))

	step(t, ctx, "open sign-up", chromedp.Navigate(s.URL("localhost", "/signup")))
	fill(t, ctx, map[string]string{"#organisation_name": "Acme Ltd", "#slug": "acme", "#name": "Ada Owner", "#email": "ada@acme.test", "#password": pw})
	// The site address follows the typed name (it said "your-name" throughout).
	if got := textOf(t, ctx, "#slug-preview strong"); !strings.HasPrefix(got, "http://acme.localhost") {
		t.Errorf("sign-up preview after typing acme: %q", got)
	}
	clickTo(t, ctx, "#signup-submit", "/")

	tn, err := s.Store.TenantBySlug(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	owner, err := s.Store.UserByEmail(context.Background(), "ada@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	inviteMember(t, s, tn.ID, owner.ID, "mia@acme.test") // a member to remove
	if _, err := s.Store.Tenant(tn.ID).CreateInvitation(context.Background(), "leo@acme.test", core.RoleMember, owner.ID, "hash-leo", time.Now().Add(time.Hour), core.AuditEvent{Action: "invitation.created"}); err != nil {
		t.Fatal(err)
	}
	// A second session, for the security page's per-session Log out.
	other := browser(t)
	step(t, other, "second session", chromedp.Navigate(s.URL("acme.localhost", "/login")))
	fill(t, other, map[string]string{"#email": "ada@acme.test", "#password": pw})
	clickTo(t, other, "#login-submit", "/")

	for _, page := range []struct{ path, want string }{
		{"/members", "Remove"},
		{"/security", "Log out"},
	} {
		step(t, ctx, "open "+page.path, chromedp.Navigate(s.URL("acme.localhost", page.path)))
		step(t, ctx, "loaded", chromedp.WaitVisible("main"))
		raw := step(t, ctx, "measure actions", chromedp.Evaluate[string](actionsOnScreen))
		var out struct {
			Count   int
			Lost    []string
			ScrollX bool
		}
		mustJSON(t, raw, &out)
		if out.Count < 2 || len(out.Lost) > 0 || out.ScrollX {
			t.Errorf("%s at 390 px: %d actions, lost %v, scrolls sideways %v", page.path, out.Count, out.Lost, out.ScrollX)
		}
		found := step(t, ctx, "find "+page.want, chromedp.Evaluate[bool](fmt.Sprintf(`[...document.querySelectorAll("main table button")].some(b => b.textContent.trim() === %q && b.getBoundingClientRect().width > 0)`, page.want)))
		if !found {
			t.Errorf("%s at 390 px: no visible %q button", page.path, page.want)
		}
		labelled := step(t, ctx, "labels", chromedp.Evaluate[bool](`[...document.querySelectorAll("main table")].every(table => {
			const heads = [...table.querySelectorAll("thead th")];
			return [...table.querySelectorAll("tbody tr")].every(tr => [...tr.children].every((td, i) =>
				!heads[i] || heads[i].classList.contains("actions") || td.hasAttribute("data-label")));
		})`))
		if !labelled {
			t.Errorf("%s: a table cell has no column label", page.path)
		}
		current := step(t, ctx, "current nav", chromedp.Evaluate[string](`(document.querySelector('header nav a[aria-current="page"]') || {}).textContent || ""`))
		if want := map[string]string{"/members": "Members", "/security": "Security"}[page.path]; current != want {
			t.Errorf("%s: current page in the navigation is %q, want %q", page.path, current, want)
		}
	}
	if n := step(t, ctx, "skip link", chromedp.Evaluate[int](`document.querySelectorAll('a.skip[href="#main"]').length`)); n != 1 {
		t.Errorf("skip links: %d", n)
	}

	// Removing a member asks first, in a modal dialog that holds the focus;
	// Cancel changes nothing, Yes removes.
	step(t, ctx, "open members", chromedp.Navigate(s.URL("acme.localhost", "/members")))
	remove := `//table[@id="members"]//tr[td[contains(., "mia@acme.test")]]//button`
	step(t, ctx, "click Remove", chromedp.Click(remove))
	step(t, ctx, "dialog", chromedp.WaitVisible("dialog#confirm-dialog[open]"))
	if got := textOf(t, ctx, "#confirm-dialog-text"); !strings.Contains(got, "Remove Member mia@acme.test?") {
		t.Errorf("dialog says %q", got)
	}
	if f := step(t, ctx, "focus", chromedp.Evaluate[string](`document.activeElement.id`)); f != "confirm-dialog-cancel" {
		t.Errorf("focus in the dialog is on %q", f)
	}
	step(t, ctx, "cancel", chromedp.Click("#confirm-dialog-cancel"))
	step(t, ctx, "dialog gone", chromedp.WaitNotPresent("dialog#confirm-dialog"))
	if got := textOf(t, ctx, "#members"); !strings.Contains(got, "mia@acme.test") {
		t.Fatalf("cancel removed the member: %q", got)
	}
	step(t, ctx, "click Remove again", chromedp.Click(remove))
	step(t, ctx, "dialog again", chromedp.WaitVisible("#confirm-dialog-yes"))
	clickTo(t, ctx, "#confirm-dialog-yes", "/members")
	if got := textOf(t, ctx, "#members"); strings.Contains(got, "mia@acme.test") {
		t.Fatalf("the member is still listed after confirming: %q", got)
	}
}

func mustJSON(t *testing.T, raw string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
}
