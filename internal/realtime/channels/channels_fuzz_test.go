package channels

import (
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/realtime/sign"
)

var (
	socketIDRE    = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)
	channelNameRE = regexp.MustCompile(`^[A-Za-z0-9_\-=@,.;]{1,200}$`)
)

// FuzzChannelAuth covers what the auth endpoint (POST /api/broadcasting/auth)
// parses from the browser: socket_id and channel_name. Properties: the two
// validators agree with the protocol's grammar; a parsed tenant channel
// spells back to exactly the name it came from (one tenant, one spelling);
// AuthorizeChannel grants a channel only to a member of the tenant it
// names, and a user channel only to that user; a granted channel signs, and
// the signature verifies for that socket and channel and no other.
func FuzzChannelAuth(f *testing.F) {
	for _, s := range []struct {
		socket, channel string
		tenant, user    int64
	}{
		{"123.456", "private-tenant.7.files", 7, 3},
		{"123.456", "presence-tenant.7.room", 7, 3},
		{"123.456", "private-tenant.7.user.3", 7, 3},
		{"123.456", "private-tenant.7.user.4", 7, 3},
		{"123.456", "private-tenant.7.user.3.inbox", 7, 3},
		{"123.456", "private-tenant.07.files", 7, 3},
		{"123.456", "private-tenant.+7.files", 7, 3},
		{"123.456", "private-tenant.8.files", 7, 3},
		{"123.456", "private-tenant.7.", 7, 3},
		{"123.456", "private-tenant.7.user", 7, 3},
		{"123.456", "private-tenant.9223372036854775807.x", 9223372036854775807, 1},
		{"123.456", "private-tenant.9223372036854775808.x", 7, 3},
		{"123.456", "private-other", 7, 3},
		{"123.456", "news", 7, 3},
		{"1.2.3", "private-tenant.7.files", 7, 3},
		{".1", "private-tenant.7.files", 7, 3},
		{"1234567890123456789012345678901234567890.1", "private-tenant.7.files", 7, 3},
		{"123.456", "private-tenant.7.a b", 7, 3},
		{"123.456", "private-tenant.7.files", 0, 3},
		{"123.456", "private-tenant.7.files", 7, -1},
	} {
		f.Add(s.socket, s.channel, s.tenant, s.user)
	}
	f.Fuzz(func(t *testing.T, socketID, channel string, tenantID, userID int64) {
		if got, want := ValidSocketID(socketID), socketIDRE.MatchString(socketID) && len(socketID) <= 41; got != want {
			t.Fatalf("ValidSocketID(%q) = %v, want %v", socketID, got, want)
		}
		if got, want := ValidChannelName(channel), channelNameRE.MatchString(channel); got != want {
			t.Fatalf("ValidChannelName(%q) = %v, want %v", channel, got, want)
		}

		tc, perr := ParseTenantChannel(channel)
		if perr == nil {
			kind := "private-tenant."
			if tc.Presence {
				kind = "presence-tenant."
			}
			if tc.TenantID <= 0 || tc.Rest == "" || kind+strconv.FormatInt(tc.TenantID, 10)+"."+tc.Rest != channel {
				t.Fatalf("ParseTenantChannel(%q) = %+v, which does not spell the name back", channel, tc)
			}
			if tc.UserID != 0 {
				u := "user." + strconv.FormatInt(tc.UserID, 10)
				if tc.UserID < 0 || (tc.Rest != u && !strings.HasPrefix(tc.Rest, u+".")) {
					t.Fatalf("ParseTenantChannel(%q) = user %d from rest %q", channel, tc.UserID, tc.Rest)
				}
			} else if strings.HasPrefix(tc.Rest, "user.") || tc.Rest == "user" {
				t.Fatalf("ParseTenantChannel(%q) accepted a user channel without a user", channel)
			}
		} else if !errors.Is(perr, ErrChannelInvalid) && !errors.Is(perr, ErrChannelForbidden) {
			t.Fatalf("ParseTenantChannel(%q): untyped error %v", channel, perr)
		}

		aerr := AuthorizeChannel(tenantID, userID, channel)
		granted := tenantID > 0 && userID > 0 && perr == nil && tc.TenantID == tenantID && (tc.UserID == 0 || tc.UserID == userID)
		if (aerr == nil) != granted {
			t.Fatalf("AuthorizeChannel(%d, %d, %q) = %v, want granted=%v (parsed %+v, %v)", tenantID, userID, channel, aerr, granted, tc, perr)
		}
		if aerr != nil {
			if !errors.Is(aerr, ErrChannelInvalid) && !errors.Is(aerr, ErrChannelForbidden) && !errors.Is(aerr, ErrChannelPublic) {
				t.Fatalf("AuthorizeChannel(%q): untyped error %v", channel, aerr)
			}
			return
		}
		var member *PresenceMember
		if tc.Presence {
			member = &PresenceMember{UserID: UserIDString(userID), UserInfo: map[string]string{"name": "Ann"}}
		}
		resp, err := SignChannel("key", "secret", socketID, channel, member)
		if !ValidSocketID(socketID) {
			if !errors.Is(err, ErrBadSocketID) {
				t.Fatalf("SignChannel with socket id %q: %v, want ErrBadSocketID", socketID, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("SignChannel(%q, %q): %v", socketID, channel, err)
		}
		if !sign.VerifyChannelAuth(resp.Auth, "key", "secret", socketID, channel, resp.ChannelData) ||
			sign.VerifyChannelAuth(resp.Auth, "key", "secret", socketID+"1", channel, resp.ChannelData) ||
			sign.VerifyChannelAuth(resp.Auth, "key", "secret", socketID, channel+"x", resp.ChannelData) {
			t.Fatalf("signature %q does not bind socket %q to channel %q", resp.Auth, socketID, channel)
		}
		if tc.Presence {
			var pd PresenceMember
			err := json.Unmarshal([]byte(resp.ChannelData), &pd)
			if err != nil || pd.UserID != UserIDString(userID) {
				t.Fatalf("signed channel_data %q reads back as %+v, %v", resp.ChannelData, pd, err)
			}
		} else if resp.ChannelData != "" {
			t.Fatalf("private channel signed with channel_data %q", resp.ChannelData)
		}
	})
}
