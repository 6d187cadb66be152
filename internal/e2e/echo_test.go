package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/realtime/publish"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// nodeClients is the folder with pusher-js and laravel-echo from npm.
func nodeClients(t *testing.T) (node, dir string) {
	t.Helper()
	dir = os.Getenv("PALISADE_TEST_NODE_MODULES")
	if dir == "" {
		testenv.Missing(t, "pusher-js/laravel-echo", "PALISADE_TEST_NODE_MODULES")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH: %v", err)
	}
	return node, dir
}

// sessionCookie signs up (or logs in) through the web proxy and returns the
// session cookie.
func sessionCookie(t *testing.T, s *testenv.Stack, slug, email string, signUp bool) string {
	t.Helper()
	c := s.Client()
	if signUp {
		form := url.Values{"organisation_name": {"Org " + slug}, "slug": {slug}, "name": {"Owner " + slug}, "email": {email}, "password": {pw}}
		r, err := c.PostForm(s.URL("localhost", "/signup"), form)
		if err != nil || r.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign up %s: %v %v", slug, err, r)
		}
		r.Body.Close()
	}
	r, err := c.PostForm(s.URL(slug+".localhost", "/login"), url.Values{"email": {email}, "password": {pw}})
	if err != nil || r.StatusCode != http.StatusSeeOther {
		t.Fatalf("log in %s: %v %v", email, err, r)
	}
	r.Body.Close()
	for _, ck := range r.Cookies() {
		if ck.Name == "palisade_session" {
			return ck.Name + "=" + ck.Value
		}
	}
	t.Fatalf("no session cookie for %s", email)
	return ""
}

// TestEchoClientsThroughRealAuth runs unmodified laravel-echo and pusher-js
// in Node against the whole stack: the realtime server, and channel auth
// through the web proxy to the API with real sessions.
func TestEchoClientsThroughRealAuth(t *testing.T) {
	node, dir := nodeClients(t)
	s := testenv.NewStack(t, "sqlite", nil)
	ctx := context.Background()
	cookieA := sessionCookie(t, s, "acme", "ada@acme.test", true)
	cookieX := sessionCookie(t, s, "globex", "gus@globex.test", true)
	acme, _ := s.Store.TenantBySlug(ctx, "acme")
	ada, _ := s.Store.UserByEmail(ctx, "ada@acme.test")
	// A second member of acme, through the invitation flow's store calls.
	inviteMember(t, s, acme.ID, ada.ID, "bo@acme.test")
	cookieB := sessionCookie(t, s, "acme", "bo@acme.test", false)
	bo, _ := s.Store.UserByEmail(ctx, "bo@acme.test")

	rt, _ := url.Parse(s.Realtime.URL)
	host, port, _ := net.SplitHostPort(rt.Host)
	channelA := fmt.Sprintf("tenant.%d.user.%d", acme.ID, ada.ID)
	cmd := exec.Command(node, filepath.Join("testdata", "echo_real.cjs"))
	cmd.Env = append(os.Environ(),
		"NODE_CLIENTS="+dir, "WS_HOST="+host, "WS_PORT="+port, "APP_KEY="+s.Config.RealtimeAppKey,
		"AUTH_URL=http://"+s.Public.Listener.Addr().String()+"/api/broadcasting/auth",
		"HOST_A=acme.localhost:"+s.PublicPort, "COOKIE_A="+cookieA,
		"HOST_B=acme.localhost:"+s.PublicPort, "COOKIE_B="+cookieB,
		"HOST_X=globex.localhost:"+s.PublicPort, "COOKIE_X="+cookieX,
		"CHANNEL_A="+channelA,
		fmt.Sprintf("PRESENCE=tenant.%d.lobby", acme.ID),
		fmt.Sprintf("FOREIGN=tenant.%d.lobby", acme.ID),
	)
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	seen := map[string][]map[string]any{}
	sc := bufio.NewScanner(stdout)
	published := false
	pub := publish.New(s.Realtime.URL, s.Config.RealtimeAppID, s.Config.RealtimeAppKey, s.Config.RealtimeAppSecret, http.DefaultClient)
	deadline := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("node said %q", sc.Text())
		}
		typ, _ := line["type"].(string)
		seen[typ] = append(seen[typ], line)
		if typ == "error" || typ == "timeout" {
			t.Fatalf("node client: %v\nstderr: %s", line, stderr.String())
		}
		if typ == "ready" && !published {
			published = true
			if err := pub.Trigger(ctx, []string{"private-" + channelA}, "notice", map[string]string{"message": "hello ada"}, ""); err != nil {
				t.Fatal(err)
			}
		}
		if typ == "event" {
			break
		}
	}
	if len(seen["event"]) != 1 || !strings.Contains(fmt.Sprint(seen["event"][0]["data"]), "hello ada") {
		t.Fatalf("event not received: %v\nstderr: %s", seen, stderr.String())
	}
	members := fmt.Sprint(seen["here"])
	if !strings.Contains(members, "Owner acme") {
		t.Errorf("presence here: %s", members)
	}
	// Echo hands joining/leaving the member's user_info, which the auth endpoint signed.
	if j := fmt.Sprint(seen["joining"]); !strings.Contains(j, bo.Name) {
		t.Errorf("joining: %s", j)
	}
	if l := fmt.Sprint(seen["leaving"]); !strings.Contains(l, bo.Name) {
		t.Errorf("leaving: %s", l)
	}
	if r := seen["auth_refused"]; len(r) != 1 || r[0]["status"] != float64(403) {
		t.Errorf("the other tenant's user was not refused with 403: %v", r)
	}
	if len(seen["foreign_error"]) != 1 {
		t.Errorf("no subscription error for the foreign channel: %v", seen)
	}
}

func inviteMember(t *testing.T, s *testenv.Stack, tenantID, inviter int64, email string) {
	t.Helper()
	ctx := context.Background()
	ts := s.Store.Tenant(tenantID)
	inv, err := ts.CreateInvitation(ctx, email, core.RoleMember, inviter, "hash-"+email, time.Now().Add(time.Hour), core.AuditEvent{Action: "invitation.created"})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := hasher().Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.AcceptInvitation(ctx, inv, 0, newUser(email, hash), core.AuditEvent{Action: "invitation.accepted"}); err != nil {
		t.Fatal(err)
	}
}
