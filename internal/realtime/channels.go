package realtime

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Channel name prefixes of the protocol and of Palisade's tenant scoping.
const (
	privatePrefix  = "private-"
	presencePrefix = "presence-"

	tenantPrivatePrefix  = "private-tenant."
	tenantPresencePrefix = "presence-tenant."

	maxChannelNameLen = 200
)

// Errors of channel authorisation. AuthorizeChannel wraps one of them with
// the reason, so callers can both match the kind and log the detail.
var (
	// ErrChannelForbidden: the user may not subscribe to this channel.
	ErrChannelForbidden = errors.New("channel forbidden")
	// ErrChannelInvalid: the name breaks the protocol's naming rules.
	ErrChannelInvalid = errors.New("invalid channel name")
	// ErrChannelPublic: a public channel needs no authorisation, so none is
	// signed.
	ErrChannelPublic = errors.New("public channel needs no authorisation")
)

type channelKind uint8

const (
	kindPublic channelKind = iota
	kindPrivate
	kindPresence
)

func kindOf(channel string) channelKind {
	switch {
	case strings.HasPrefix(channel, presencePrefix):
		return kindPresence
	case strings.HasPrefix(channel, privatePrefix):
		return kindPrivate
	}
	return kindPublic
}

// ValidChannelName applies the protocol's rule: 1 to 200 characters out of
// letters, digits and _ - = @ , . ;
func ValidChannelName(name string) bool {
	if name == "" || len(name) > maxChannelNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_', c == '-', c == '=', c == '@', c == ',', c == '.', c == ';':
		default:
			return false
		}
	}
	return true
}

// TenantChannel is a parsed tenant-scoped channel name.
type TenantChannel struct {
	Presence bool
	TenantID int64
	// Rest is what follows "<kind>-tenant.<id>.".
	Rest string
	// UserID is set when Rest is "user.<id>" (or "user.<id>.<more>"): the
	// channel belongs to that user alone.
	UserID int64
}

// ParseTenantChannel parses "private-tenant.<T>.<rest>" and
// "presence-tenant.<T>.<rest>". The tenant id must be a canonical positive
// decimal (no sign, no leading zero), so one tenant has one spelling. A rest
// that starts with "user." must name a canonical user id.
func ParseTenantChannel(channel string) (TenantChannel, error) {
	var tc TenantChannel
	if !ValidChannelName(channel) {
		return tc, fmt.Errorf("%w: %q", ErrChannelInvalid, channel)
	}
	var after string
	switch {
	case strings.HasPrefix(channel, tenantPrivatePrefix):
		after = channel[len(tenantPrivatePrefix):]
	case strings.HasPrefix(channel, tenantPresencePrefix):
		after = channel[len(tenantPresencePrefix):]
		tc.Presence = true
	default:
		return tc, fmt.Errorf("%w: %q is not a tenant channel", ErrChannelForbidden, channel)
	}
	idText, rest, ok := strings.Cut(after, ".")
	if !ok || rest == "" {
		return tc, fmt.Errorf("%w: %q has no name after the tenant id", ErrChannelForbidden, channel)
	}
	id, ok := parseID(idText)
	if !ok {
		return tc, fmt.Errorf("%w: %q has no canonical tenant id", ErrChannelForbidden, channel)
	}
	tc.TenantID, tc.Rest = id, rest
	if u, isUser := strings.CutPrefix(rest, "user."); isUser || rest == "user" {
		uText, _, _ := strings.Cut(u, ".")
		uid, ok := parseID(uText)
		if !ok {
			return tc, fmt.Errorf("%w: %q has no canonical user id", ErrChannelForbidden, channel)
		}
		tc.UserID = uid
	}
	return tc, nil
}

func parseID(s string) (int64, bool) {
	if s == "" || s[0] == '0' || len(s) > 19 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

// AuthorizeChannel decides whether user userID of tenant tenantID may
// subscribe to channel; the auth endpoint calls it before signing. nil means
// yes. The rule: private-tenant.<T>.user.<U> belongs to user U of tenant T
// alone (and so does the presence- twin); any other private-tenant.<T>.* and
// presence-tenant.<T>.* is open to every member of tenant T; every other
// private or presence channel is refused, and a public channel gets
// ErrChannelPublic because it needs no signature.
func AuthorizeChannel(tenantID, userID int64, channel string) error {
	if tenantID <= 0 || userID <= 0 {
		return fmt.Errorf("%w: no tenant or user", ErrChannelForbidden)
	}
	if !ValidChannelName(channel) {
		return fmt.Errorf("%w: %q", ErrChannelInvalid, channel)
	}
	if kindOf(channel) == kindPublic {
		return ErrChannelPublic
	}
	tc, err := ParseTenantChannel(channel)
	if err != nil {
		return err
	}
	if tc.TenantID != tenantID {
		return fmt.Errorf("%w: channel of tenant %d, user of tenant %d", ErrChannelForbidden, tc.TenantID, tenantID)
	}
	if tc.UserID != 0 && tc.UserID != userID {
		return fmt.Errorf("%w: channel of user %d, requested by user %d", ErrChannelForbidden, tc.UserID, userID)
	}
	return nil
}
