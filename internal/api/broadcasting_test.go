package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/realtime/sign"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestBroadcastingAuth: the auth endpoint signs only the caller's own
// tenant's channels (and only their own user channel), audits every refusal,
// and its signature is the one the Pusher protocol defines.
func TestBroadcastingAuth(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		s := newStack(t, driver, nil)
		a, ta := s.signUp("acme", "ada@acme.test")
		_, tb := s.signUp("globex", "bob@globex.test")
		var me struct {
			User core.User `json:"user"`
		}
		a.do("GET", "/api/me", nil).json(t, &me)
		own := fmt.Sprintf("private-tenant.%d.user.%d", ta.ID, me.User.ID)
		form := func(channel string) string {
			return url.Values{"socket_id": {"123.456"}, "channel_name": {channel}}.Encode()
		}
		auth := func(b *browser, body string) resp {
			// pusher-js posts a form, so this goes outside the JSON helper.
			return b.doForm("POST", "/api/broadcasting/auth", body)
		}

		r := auth(a, form(own))
		want(t, r, http.StatusOK)
		var out struct {
			Auth string `json:"auth"`
		}
		r.json(t, &out)
		if wantSig := sign.ChannelAuth("test-key", "test-secret", "123.456", own, ""); out.Auth != wantSig {
			t.Fatalf("signature %q, want %q", out.Auth, wantSig)
		}

		// Presence: the signed channel data names the member.
		r = a.do("POST", "/api/broadcasting/auth", map[string]string{"socket_id": "123.456", "channel_name": fmt.Sprintf("presence-tenant.%d.room", ta.ID)})
		want(t, r, http.StatusOK)
		var pres struct {
			ChannelData string `json:"channel_data"`
		}
		r.json(t, &pres)
		var member struct {
			UserID   string            `json:"user_id"`
			UserInfo map[string]string `json:"user_info"`
		}
		_ = json.Unmarshal([]byte(pres.ChannelData), &member)
		if member.UserID != fmt.Sprint(me.User.ID) || member.UserInfo["name"] != "Owner of acme" {
			t.Fatalf("presence member %+v", member)
		}

		for _, c := range []struct {
			name, channel string
			status        int
		}{
			{"other tenant's private channel", fmt.Sprintf("private-tenant.%d.files", tb.ID), 403},
			{"other tenant's presence channel", fmt.Sprintf("presence-tenant.%d.room", tb.ID), 403},
			{"another user's channel", fmt.Sprintf("private-tenant.%d.user.%d", ta.ID, me.User.ID+1000), 403},
			{"non-tenant private channel", "private-everyone", 403},
			{"public channel", "news", 422},
		} {
			t.Run(c.name, func(t *testing.T) {
				if r := auth(a, form(c.channel)); r.status != c.status {
					t.Fatalf("got %d %s, want %d", r.status, r.body, c.status)
				}
			})
		}
		want(t, auth(a, url.Values{"socket_id": {"nope"}, "channel_name": {own}}.Encode()), http.StatusUnprocessableEntity)
		// Anonymous callers get nothing.
		want(t, auth(s.browser("acme.localhost:3000"), form(own)), http.StatusUnauthorized)

		evs, err := s.st.Tenant(ta.ID).AuditEvents(context.Background(), 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		denied := 0
		for _, e := range evs {
			if e.Action == "realtime.auth" && e.Outcome == "denied" {
				denied++
			}
		}
		if denied != 5 {
			t.Fatalf("%d audited refusals, want 5", denied)
		}
	})
}

// doForm sends a form body, as pusher-js does.
func (b *browser) doForm(method, path, body string) resp {
	b.s.t.Helper()
	req, _ := http.NewRequest(method, b.s.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Host", b.host)
	var cs []string
	for k, v := range b.cookies {
		cs = append(cs, k+"="+v)
	}
	req.Header.Set("Cookie", strings.Join(cs, "; "))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.s.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	out := resp{status: res.StatusCode, header: res.Header, body: data}
	b.s.validate(req, []byte(body), out)
	return out
}
