package channels

import (
	"crypto/sha256"
	"encoding/base64"
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
	// SharedSecret (base64) is the key of an encrypted channel, sent only to
	// the authorised subscriber; the realtime server never has it.
	SharedSecret string `json:"shared_secret,omitempty"`
}

// ErrNoEncryptionKey: an encrypted channel was asked for, but no master key
// is configured.
var ErrNoEncryptionKey = errors.New("encrypted channels need an encryption master key")

// EncryptionMasterKeyLen is the size of the master key of encrypted
// channels, as the Pusher libraries require.
const EncryptionMasterKeyLen = 32

// ChannelSharedSecret is an encrypted channel's key: SHA-256 of the channel
// name followed by the master key, as the Pusher server libraries derive it,
// so events they encrypt open in pusher-js with what the auth endpoint gave.
func ChannelSharedSecret(masterKey []byte, channel string) []byte {
	h := sha256.New()
	h.Write([]byte(channel))
	h.Write(masterKey)
	return h.Sum(nil)
}

// SignEncryptedChannel signs a private-encrypted- channel and adds its
// shared secret.
func SignEncryptedChannel(key, secret string, masterKey []byte, socketID, channel string) (AuthResponse, error) {
	if !IsEncrypted(channel) {
		return AuthResponse{}, fmt.Errorf("sign channel: %q is not an encrypted channel", channel)
	}
	if len(masterKey) != EncryptionMasterKeyLen {
		return AuthResponse{}, fmt.Errorf("sign channel: %w (32 bytes)", ErrNoEncryptionKey)
	}
	resp, err := signChannel(key, secret, socketID, channel, nil)
	if err != nil {
		return resp, err
	}
	resp.SharedSecret = base64.StdEncoding.EncodeToString(ChannelSharedSecret(masterKey, channel))
	return resp, nil
}

// UserData is what the user authentication endpoint signs for
// pusher:signin. ID is the Palisade user id as a string.
type UserData struct {
	ID        string   `json:"id"`
	UserInfo  any      `json:"user_info,omitempty"`
	Watchlist []string `json:"watchlist,omitempty"`
}

// UserAuthResponse is the JSON body pusher-js's userAuthentication expects.
type UserAuthResponse struct {
	Auth     string `json:"auth"`
	UserData string `json:"user_data"`
}

// SignUser builds the user authentication endpoint's answer for socketID.
func SignUser(key, secret, socketID string, u UserData) (UserAuthResponse, error) {
	if !ValidSocketID(socketID) {
		return UserAuthResponse{}, fmt.Errorf("sign user: %w: %q", ErrBadSocketID, socketID)
	}
	if !ValidUserID(u.ID) {
		return UserAuthResponse{}, fmt.Errorf("sign user: invalid user id %q", u.ID)
	}
	b, err := json.Marshal(u)
	if err != nil {
		return UserAuthResponse{}, fmt.Errorf("sign user: %w", err)
	}
	return UserAuthResponse{Auth: sign.UserAuth(key, secret, socketID, string(b)), UserData: string(b)}, nil
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
	if IsEncrypted(channel) {
		return AuthResponse{}, fmt.Errorf("sign channel: %w: use SignEncryptedChannel", ErrNoEncryptionKey)
	}
	return signChannel(key, secret, socketID, channel, member)
}

func signChannel(key, secret, socketID, channel string, member *PresenceMember) (AuthResponse, error) {
	if !ValidSocketID(socketID) {
		return AuthResponse{}, fmt.Errorf("sign channel: %w: %q", ErrBadSocketID, socketID)
	}
	if !ValidChannelName(channel) {
		return AuthResponse{}, fmt.Errorf("sign channel: %w: %q", ErrChannelInvalid, channel)
	}
	var data string
	switch KindOf(channel) {
	case KindPublic:
		return AuthResponse{}, fmt.Errorf("sign channel: %w", ErrChannelPublic)
	case KindPresence:
		if member == nil || member.UserID == "" {
			return AuthResponse{}, errors.New("sign channel: a presence channel needs a member with a user id")
		}
		b, err := json.Marshal(member)
		if err != nil {
			return AuthResponse{}, fmt.Errorf("sign channel: member: %w", err)
		}
		data = string(b)
	case KindPrivate:
		if member != nil {
			return AuthResponse{}, errors.New("sign channel: a private channel takes no member data")
		}
	}
	return AuthResponse{Auth: sign.ChannelAuth(key, secret, socketID, channel, data), ChannelData: data}, nil
}

// UserIDString is how Palisade spells a user id in presence data.
func UserIDString(id int64) string { return strconv.FormatInt(id, 10) }
