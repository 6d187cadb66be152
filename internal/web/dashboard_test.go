package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/testenv"
)

// stat reads a dashboard tile's number ("" when the tile is absent).
func stat(page, id string) string {
	m := regexp.MustCompile(`id="` + id + `"><span class="dash-num"[^>]*>([^<]*)</span>`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// stepDone reads whether a checklist step is ticked ("" when absent).
func stepDone(page, id string) string {
	m := regexp.MustCompile(`id="step-` + id + `" data-done="(true|false)"`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestDashboardPage: the home page shows the tenant's counts, recent
// activity with relative times (exact on hover) and the onboarding
// checklist with a link for each open step; an invitation sent through the
// members form moves the count and ticks the step, another tenant's
// invitation does not; a plain member sees no invitations, no invite step
// and only their own activity.
func TestDashboardPage(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	c := s.Client()
	signUp(t, s, c, "acme")
	g := s.Client()
	signUp(t, s, g, "globex")
	acme := func(p string) string { return s.URL("acme.localhost", p) }

	st, page := get(t, c, acme("/"))
	if st != http.StatusOK || !strings.Contains(page, "Welcome, Owner") {
		t.Fatalf("dashboard: %d\n%s", st, page)
	}
	for id, want := range map[string]string{"stat-members": "1", "stat-invitations": "0", "stat-files": "0", "stat-storage": "0 bytes"} {
		if got := stat(page, id); got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}
	for _, step := range []string{"invite_teammate", "two_factor", "upload_file", "api_token"} {
		if got := stepDone(page, step); got != "false" {
			t.Errorf("fresh step %s done=%q", step, got)
		}
	}
	for _, link := range []string{`href="/members#invite-email">Invite a teammate`, `href="/security#mfa">Turn on two-step verification`, `href="/files">Upload a file`, `href="/security#tokens-card">Create an API token`} {
		if !strings.Contains(page, link) {
			t.Errorf("no link %s", link)
		}
	}
	if !strings.Contains(page, "(4 to go)") {
		t.Errorf("open steps not counted")
	}
	// Recent activity: the sign-up login, said relative to now, exact on hover.
	if !regexp.MustCompile(`<time datetime="[0-9T:Z-]+" title="\d{4}-\d\d-\d\d \d\d:\d\d UTC">just now</time></td><td><span title="auth.login" data-action="auth.login">Logged in</span>`).MatchString(page) {
		t.Errorf("no relative time with the exact one on hover:\n%s", page)
	}
	if !strings.Contains(page, `href="/audit">The whole audit trail`) {
		t.Errorf("no link to the audit trail for the owner")
	}

	// Globex invites; Acme's page does not move.
	r, _ := post(t, g, s.URL("globex.localhost", "/members/invite"), url.Values{"email": {"gil@globex.test"}, "role": {"member"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("globex invite: %d", r.StatusCode)
	}
	_, page = get(t, c, acme("/"))
	if stat(page, "stat-invitations") != "0" || stepDone(page, "invite_teammate") != "false" || strings.Contains(page, "gil@globex.test") {
		t.Fatalf("globex's invitation shows on acme's dashboard:\n%s", page)
	}

	// Acme invites through the members form: the count moves, the step ticks.
	r, _ = post(t, c, acme("/members/invite"), url.Values{"email": {"mia@acme.test"}, "role": {"member"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("acme invite: %d", r.StatusCode)
	}
	_, page = get(t, c, acme("/"))
	if stat(page, "stat-invitations") != "1" || stepDone(page, "invite_teammate") != "true" || !strings.Contains(page, "(3 to go)") {
		t.Fatalf("after inviting:\n%s", page)
	}
	if strings.Contains(page, `href="/members#invite-email"`) {
		t.Errorf("a ticked step still links to its page")
	}
	if !strings.Contains(page, "invitation.created") {
		t.Errorf("the invitation is not in the recent activity")
	}

	// A plain member (globex's owner, added to acme).
	if _, err := s.Store.DB().Exec(`INSERT INTO memberships (tenant_id, user_id, role, created_at) SELECT ?, id, 'member', 0 FROM users WHERE email = ?`, mustTenant(t, s, "acme"), "owner@globex.test"); err != nil {
		t.Fatal(err)
	}
	mem := login(t, s, "acme", "owner@globex.test", pw)
	_, page = get(t, mem, acme("/"))
	if stat(page, "stat-members") != "2" || stat(page, "stat-invitations") != "" || stepDone(page, "invite_teammate") != "" {
		t.Fatalf("member's dashboard shows invitations:\n%s", page)
	}
	if !strings.Contains(page, "Your recent activity") || strings.Contains(page, "invitation.created") || strings.Contains(page, `href="/audit"`) {
		t.Fatalf("member sees the tenant's trail:\n%s", page)
	}
	if !strings.Contains(page, "auth.login") {
		t.Errorf("member's own login is not in their activity")
	}
}
