package e2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestPusherSigninThroughRealAuth: pusher-js's userAuthentication signs in
// through the web proxy's /api/broadcasting/user-auth with a real session;
// the `pusher` SDK's sendToUser reaches the user and terminateUserConnections
// closes their socket (pusher-js reconnects and signs in again); an
// encrypted tenant channel signed by the api opens what the SDK encrypted
// with encryptionMasterKeyBase64; laravel-echo
// with palisade-echo.js gets a Laravel notification on App.Models.User.<id>
// in the tenant's namespace; and removing a member through the API closes
// their sockets, after which signin and their channel are refused.
func TestPusherSigninThroughRealAuth(t *testing.T) {
	node, dir := nodeClients(t)
	master := base64.StdEncoding.EncodeToString([]byte("an encryption master key of 32 b"))
	s := testenv.NewStack(t, "sqlite", map[string]string{"PALISADE_REALTIME_ENCRYPTION_MASTER_KEY": master})
	ctx := context.Background()
	cookieA := sessionCookie(t, s, "acme", "ada@acme.test", true)
	acme, _ := s.Store.TenantBySlug(ctx, "acme")
	ada, _ := s.Store.UserByEmail(ctx, "ada@acme.test")
	inviteMember(t, s, acme.ID, ada.ID, "bo@acme.test")
	cookieB := sessionCookie(t, s, "acme", "bo@acme.test", false)
	bo, _ := s.Store.UserByEmail(ctx, "bo@acme.test")

	rt, _ := url.Parse(s.Realtime.URL)
	host, port, _ := net.SplitHostPort(rt.Host)
	helper, err := filepath.Abs(filepath.Join("..", "realtime", "client", "palisade-echo.js"))
	if err != nil {
		t.Fatal(err)
	}
	hostA := "acme.localhost:" + s.PublicPort
	cmd := exec.Command(node, filepath.Join("testdata", "pusher_signin_real.cjs"))
	cmd.Env = append(os.Environ(),
		"NODE_CLIENTS="+dir, "HELPER="+helper, "WS_HOST="+host, "WS_PORT="+port,
		"APP_ID="+s.Config.RealtimeAppID, "APP_KEY="+s.Config.RealtimeAppKey, "APP_SECRET="+s.Config.RealtimeAppSecret,
		"API_HOST="+host, "API_PORT="+port, "MASTER_KEY_B64="+master,
		"PUBLIC=http://"+s.Public.Listener.Addr().String(),
		"HOST_A="+hostA, "COOKIE_A="+cookieA, fmt.Sprintf("USER_A=%d", ada.ID),
		"HOST_B="+hostA, "COOKIE_B="+cookieB, fmt.Sprintf("USER_B=%d", bo.ID),
		fmt.Sprintf("TENANT=%d", acme.ID),
	)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	deadline := time.AfterFunc(90*time.Second, func() { _ = cmd.Process.Kill() })
	defer deadline.Stop()

	seen := map[string]map[string]any{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		t.Logf("node: %s", sc.Text())
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("node said %q", sc.Text())
		}
		typ, _ := line["type"].(string)
		seen[typ] = line
		switch typ {
		case "error", "timeout":
			t.Fatalf("node client: %v\nstderr: %s", line, stderr.String())
		case "ready_remove":
			req, _ := http.NewRequest(http.MethodDelete, s.URL("acme.localhost", fmt.Sprintf("/api/members/%d", bo.ID)), nil)
			req.Header.Set("Cookie", cookieA)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			res, err := s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusNoContent {
				t.Fatalf("remove member: %d", res.StatusCode)
			}
			_, _ = io.WriteString(stdin, "removed\n")
		}
		if typ == "done" {
			break
		}
	}
	if seen["done"] == nil {
		t.Fatalf("script ended without done: %v\nstderr: %s", sc.Err(), stderr.String())
	}
	js := func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	}
	if u := js(seen["signed_in"]["user_data"]); !strings.Contains(u, fmt.Sprintf(`"id":"%d"`, ada.ID)) || !strings.Contains(u, fmt.Sprintf(`"tenant_id":%d`, acme.ID)) {
		t.Errorf("user_data %s", u)
	}
	if n := js(seen["send_to_user"]["notes"]); n != `[{"text":"hello A"}]` {
		t.Errorf("sendToUser delivered %s", n)
	}
	if n := js(seen["terminated"]["notes"]); n != `[{"text":"hello A"},{"text":"again"}]` {
		t.Errorf("after terminate_connections: %s", n)
	}
	if d := js(seen["encrypted"]["decrypted"]); d != `{"text":"for acme only"}` {
		t.Errorf("encrypted channel round trip: %s", d)
	}
	if d := js(seen["echo_encrypted"]["decrypted"]); d != `{"text":"for B too"}` {
		t.Errorf("Echo encryptedPrivate through the helper: %s", d)
	}
	note := seen["notification"]
	if js(note["notes"]) != `[{"id":"n1","message":"paid","type":"App\\Notifications\\InvoicePaid"}]` ||
		note["channel"] != fmt.Sprintf("tenant.%d.App.Models.User.%d", acme.ID, bo.ID) {
		t.Errorf("Laravel notification %v", note)
	}
	// pusher-js hands on the customHandler's error, which names the status.
	if e := js(seen["stolen"]["error"]); !strings.Contains(e, "auth answered 403") {
		t.Errorf("A subscribing to B's notification channel: %s", e)
	}
	if seen["left"]["still_subscribed"] != false {
		t.Errorf("palisadeTenantEcho.leave: %v", seen["left"])
	}
	removed := seen["removed"]
	if removed["signed_in"] != nil || !strings.Contains(js(removed["signin_error"]), "user-auth answered 401") || !strings.Contains(js(removed["channel_error"]), "auth answered 401") {
		t.Errorf("after removal: %v", removed)
	}
}
