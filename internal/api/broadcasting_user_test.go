package api_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/realtime/sign"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestBroadcastingUserAuth: user-auth signs pusher:signin for the caller
// alone, the way the Pusher protocol defines it.
func TestBroadcastingUserAuth(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		a, ta := s.signUp("acme", "ada@acme.test")
		var me struct {
			User core.User `json:"user"`
		}
		a.do("GET", "/api/me", nil).json(t, &me)
		r := a.doForm("POST", "/api/broadcasting/user-auth", url.Values{"socket_id": {"123.456"}}.Encode())
		want(t, r, http.StatusOK)
		var out struct {
			Auth     string `json:"auth"`
			UserData string `json:"user_data"`
		}
		r.json(t, &out)
		if !strings.Contains(out.UserData, fmt.Sprintf(`"id":"%d"`, me.User.ID)) || !strings.Contains(out.UserData, fmt.Sprintf(`"tenant_id":%d`, ta.ID)) {
			t.Fatalf("user_data %s", out.UserData)
		}
		if !sign.VerifyUserAuth(out.Auth, "test-key", "test-secret", "123.456", out.UserData) {
			t.Fatalf("signature %q does not verify", out.Auth)
		}
		want(t, a.doForm("POST", "/api/broadcasting/user-auth", url.Values{"socket_id": {"nope"}}.Encode()), http.StatusUnprocessableEntity)
		want(t, s.browser("acme.localhost:3000").doForm("POST", "/api/broadcasting/user-auth", url.Values{"socket_id": {"1.2"}}.Encode()), http.StatusUnauthorized)
	})
}

// TestBroadcastingEncryptedChannel: with a master key, an encrypted
// channel of the caller's tenant is signed with its shared secret (derived
// as the Pusher server libraries do); another tenant's is refused; without a
// key, encrypted channels are refused plainly.
func TestBroadcastingEncryptedChannel(t *testing.T) {
	master := strings.Repeat("m", 32)
	s := newStack(t, "sqlite", map[string]string{"PALISADE_REALTIME_ENCRYPTION_MASTER_KEY": base64.StdEncoding.EncodeToString([]byte(master))})
	a, ta := s.signUp("acme", "ada@acme.test")
	_, tb := s.signUp("globex", "bob@globex.test")
	ch := fmt.Sprintf("private-encrypted-tenant.%d.secrets", ta.ID)
	r := a.doForm("POST", "/api/broadcasting/auth", url.Values{"socket_id": {"123.456"}, "channel_name": {ch}}.Encode())
	want(t, r, http.StatusOK)
	var out struct {
		Auth         string `json:"auth"`
		SharedSecret string `json:"shared_secret"`
	}
	r.json(t, &out)
	sum := sha256.Sum256([]byte(ch + master))
	if out.SharedSecret != base64.StdEncoding.EncodeToString(sum[:]) || out.Auth != sign.ChannelAuth("test-key", "test-secret", "123.456", ch, "") {
		t.Fatalf("encrypted auth %+v", out)
	}
	foreign := fmt.Sprintf("private-encrypted-tenant.%d.secrets", tb.ID)
	want(t, a.doForm("POST", "/api/broadcasting/auth", url.Values{"socket_id": {"123.456"}, "channel_name": {foreign}}.Encode()), http.StatusForbidden)

	plain := newStack(t, "sqlite", nil)
	p, tp := plain.signUp("acme", "ada@acme.test")
	want(t, p.doForm("POST", "/api/broadcasting/auth", url.Values{"socket_id": {"123.456"}, "channel_name": {fmt.Sprintf("private-encrypted-tenant.%d.x", tp.ID)}}.Encode()), http.StatusUnprocessableEntity)
}
