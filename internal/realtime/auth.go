package realtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/palisade-hq/palisade/internal/realtime/sign"
)

// ErrBadSocketID: the socket id is not "<digits>.<digits>".
var ErrBadSocketID = errors.New("invalid socket id")

// ValidSocketID checks the protocol's socket id form.
func ValidSocketID(id string) bool {
	dot := -1
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c == '.' && dot < 0 && i > 0:
			dot = i
		case c >= '0' && c <= '9':
		default:
			return false
		}
	}
	return dot > 0 && dot < len(id)-1 && len(id) <= 41
}

// AuthResponse is the JSON body the auth endpoint returns to pusher-js.
type AuthResponse struct {
	Auth        string `json:"auth"`
	ChannelData string `json:"channel_data,omitempty"`
}

// PresenceMember is a presence channel member as the auth endpoint signs it.
type PresenceMember struct {
	UserID   string `json:"user_id"`
	UserInfo any    `json:"user_info,omitempty"`
}

// SignChannel builds the auth endpoint's answer for socketID on channel. For
// a presence channel member must be set (its user id is the Palisade user id
// as a string); for a private channel it must be nil. Call AuthorizeChannel
// first: SignChannel signs whatever it is given.
func SignChannel(key, secret, socketID, channel string, member *PresenceMember) (AuthResponse, error) {
	if !ValidSocketID(socketID) {
		return AuthResponse{}, fmt.Errorf("sign channel: %w: %q", ErrBadSocketID, socketID)
	}
	if !ValidChannelName(channel) {
		return AuthResponse{}, fmt.Errorf("sign channel: %w: %q", ErrChannelInvalid, channel)
	}
	var data string
	switch kindOf(channel) {
	case kindPublic:
		return AuthResponse{}, fmt.Errorf("sign channel: %w", ErrChannelPublic)
	case kindPresence:
		if member == nil || member.UserID == "" {
			return AuthResponse{}, errors.New("sign channel: a presence channel needs a member with a user id")
		}
		b, err := json.Marshal(member)
		if err != nil {
			return AuthResponse{}, fmt.Errorf("sign channel: member: %w", err)
		}
		data = string(b)
	case kindPrivate:
		if member != nil {
			return AuthResponse{}, errors.New("sign channel: a private channel takes no member data")
		}
	}
	return AuthResponse{Auth: sign.ChannelAuth(key, secret, socketID, channel, data), ChannelData: data}, nil
}

// UserIDString is how Palisade spells a user id in presence data.
func UserIDString(id int64) string { return strconv.FormatInt(id, 10) }
