package channels

import (
	"errors"
	"net/url"
	"testing"

	"github.com/palisade-hq/palisade/internal/realtime/sign"
)

const (
	testKey    = "test-key"
	testSecret = "test-secret"
)

// TestNames: the names publishers use are tenant channels the auth
// endpoint signs for the right members, and pages get them in Echo's form.
func TestNames(t *testing.T) {
	if got := User(7, 5); got != "private-tenant.7.user.5" {
		t.Fatalf("User(7, 5) = %q", got)
	}
	if got := Files(7); got != "private-tenant.7.files" {
		t.Fatalf("Files(7) = %q", got)
	}
	if got := EchoName(User(7, 5)); got != "tenant.7.user.5" {
		t.Fatalf("EchoName = %q", got)
	}
	tc, err := ParseTenantChannel(User(7, 5))
	if err != nil || tc.TenantID != 7 || tc.UserID != 5 {
		t.Fatalf("User parses as %+v %v", tc, err)
	}
	for _, c := range []struct {
		channel      string
		tenant, user int64
		ok           bool
	}{
		{User(7, 5), 7, 5, true}, {User(7, 5), 7, 6, false}, {User(7, 5), 8, 5, false},
		{Files(7), 7, 6, true}, {Files(7), 8, 6, false},
	} {
		if err := AuthorizeChannel(c.tenant, c.user, c.channel); (err == nil) != c.ok {
			t.Errorf("AuthorizeChannel(%d, %d, %q) = %v, want ok=%v", c.tenant, c.user, c.channel, err, c.ok)
		}
	}
}

func TestAuthorizeChannel(t *testing.T) {
	tests := []struct {
		tenant, user int64
		channel      string
		want         error
	}{
		{7, 1, "private-tenant.7.orders", nil},
		{7, 1, "presence-tenant.7.room.3", nil},
		{7, 1, "private-tenant.7.user.1", nil},
		{7, 1, "private-tenant.7.user.1.inbox", nil},
		{7, 2, "private-tenant.7.user.1", ErrChannelForbidden},
		{7, 2, "presence-tenant.7.user.1", ErrChannelForbidden},
		{7, 1, "private-tenant.7.user.01", ErrChannelForbidden},
		{7, 1, "private-tenant.7.user.x", ErrChannelForbidden},
		{7, 1, "private-tenant.7.user", ErrChannelForbidden},
		{7, 1, "private-tenant.8.orders", ErrChannelForbidden},
		{7, 1, "presence-tenant.8.room", ErrChannelForbidden},
		{7, 1, "private-tenant.07.orders", ErrChannelForbidden},
		{7, 1, "private-tenant.7", ErrChannelForbidden},
		{7, 1, "private-tenant.7.", ErrChannelForbidden},
		{7, 1, "private-tenant.-7.orders", ErrChannelForbidden},
		{7, 1, "private-orders", ErrChannelForbidden},
		// Encrypted channels (issue 21) keep the same tenant rule.
		{7, 1, "private-encrypted-tenant.7.orders", nil},
		{7, 1, "private-encrypted-tenant.8.orders", ErrChannelForbidden},
		{7, 2, "private-encrypted-tenant.7.user.1", ErrChannelForbidden},
		{7, 1, "private-encrypted-orders", ErrChannelForbidden},
		{7, 1, "private-encrypted-cache-tenant.7.orders", nil},
		// Cache channels likewise.
		{7, 1, "private-cache-tenant.7.orders", nil},
		{7, 1, "presence-cache-tenant.7.room", nil},
		{7, 1, "private-cache-tenant.8.orders", ErrChannelForbidden},
		{7, 1, "private-cache-orders", ErrChannelForbidden},
		{7, 1, "cache-news", ErrChannelPublic},
		// Laravel's default user channel, inside the tenant's namespace.
		{7, 5, "private-tenant.7.App.Models.User.5", nil},
		{7, 6, "private-tenant.7.App.Models.User.5", ErrChannelForbidden},
		{7, 5, "private-tenant.8.App.Models.User.5", ErrChannelForbidden},
		{7, 5, "private-tenant.7.App.Models.User.x", ErrChannelForbidden},
		{7, 5, "private-tenant.7.App.Models.User", ErrChannelForbidden},
		{7, 5, "private-App.Models.User.5", ErrChannelForbidden},
		{7, 1, "presence-room", ErrChannelForbidden},
		{7, 1, "private-tenant.7.a b", ErrChannelInvalid},
		{7, 1, "", ErrChannelInvalid},
		{7, 1, "orders", ErrChannelPublic},
		{0, 1, "private-tenant.0.orders", ErrChannelForbidden},
		{7, 0, "private-tenant.7.orders", ErrChannelForbidden},
		{7, 1, "private-tenant.99999999999999999999.x", ErrChannelForbidden},
	}
	for _, tt := range tests {
		err := AuthorizeChannel(tt.tenant, tt.user, tt.channel)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("AuthorizeChannel(%d, %d, %q) = %v, want %v", tt.tenant, tt.user, tt.channel, err, tt.want)
		}
	}
}

// The reference values are the worked examples of the Pusher documentation
// (channel authorisation and HTTP API signing), so a client library signing
// the documented way is accepted by this server.
func TestSignaturesMatchProtocolExamples(t *testing.T) {
	const key, secret = "278d425bdf160c739803", "7ad3773142a6692b25b8"
	if got, want := sign.ChannelAuth(key, secret, "1234.1234", "private-foobar", ""),
		key+":58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"; got != want {
		t.Errorf("private auth = %s, want %s", got, want)
	}
	data := `{"user_id":10,"user_info":{"name":"Mr. Channels"}}`
	if got, want := sign.ChannelAuth(key, secret, "1234.1234", "presence-foobar", data),
		key+":31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80"; got != want {
		t.Errorf("presence auth = %s, want %s", got, want)
	}
	body := `{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}`
	if got := sign.BodyMD5([]byte(body)); got != "ec365a775a4cd0599faeb73354201b6f" {
		t.Errorf("body_md5 = %s", got)
	}
	q := url.Values{"auth_key": {key}, "auth_timestamp": {"1353088179"}, "auth_version": {"1.0"}, "body_md5": {"ec365a775a4cd0599faeb73354201b6f"}}
	if got, want := sign.Request(secret, "POST", "/apps/3/events", q), "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"; got != want {
		t.Errorf("request signature = %s, want %s", got, want)
	}
}

func TestSignChannel(t *testing.T) {
	a, err := SignChannel(testKey, testSecret, "1.2", "private-tenant.7.orders", nil)
	if err != nil || !sign.VerifyChannelAuth(a.Auth, testKey, testSecret, "1.2", "private-tenant.7.orders", "") || a.ChannelData != "" {
		t.Fatalf("private: %+v %v", a, err)
	}
	a, err = SignChannel(testKey, testSecret, "1.2", "presence-tenant.7.room", &PresenceMember{UserID: "5", UserInfo: map[string]string{"name": "Ann"}})
	if err != nil || a.ChannelData != `{"user_id":"5","user_info":{"name":"Ann"}}` ||
		!sign.VerifyChannelAuth(a.Auth, testKey, testSecret, "1.2", "presence-tenant.7.room", a.ChannelData) {
		t.Fatalf("presence: %+v %v", a, err)
	}
	for _, bad := range []struct {
		socket, channel string
		m               *PresenceMember
	}{
		{"12", "private-tenant.7.x", nil},
		{"1.2.3", "private-tenant.7.x", nil},
		{"1.2", "public", nil},
		{"1.2", "presence-tenant.7.x", nil},
		{"1.2", "private-tenant.7.x", &PresenceMember{UserID: "1"}},
	} {
		if _, err := SignChannel(testKey, testSecret, bad.socket, bad.channel, bad.m); err == nil {
			t.Errorf("SignChannel(%q, %q) signed", bad.socket, bad.channel)
		}
	}
}
