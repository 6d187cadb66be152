// Package channels is Palisade's realtime channel naming and channel
// authorisation: the names publishers use (Files, User), the rules the
// realtime server and the API's auth endpoint both apply, and the
// signatures that endpoint returns. It is a leaf (the standard library and
// realtime/sign only), so the API, the realtime server and every publisher
// share one spelling without the API importing the server.
package channels

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Channel name prefixes of the protocol and of Palisade's tenant scoping.
const (
	privatePrefix = "private-"
	// PresencePrefix starts a presence channel's name.
	PresencePrefix = "presence-"

	encryptedPrefix = "private-encrypted-"
	cacheMarker     = "cache-"
	tenantMarker    = "tenant."

	// ServerToUserPrefix starts the channel pusher-js subscribes to after
	// pusher:signin ("#server-to-user-<user id>"); only a socket signed in
	// as that user may subscribe, and sendToUser publishes to it.
	ServerToUserPrefix = "#server-to-user-"
	// laravelUserPrefix is Laravel's default notification channel
	// (App.Models.User.{id}); inside a tenant's namespace it belongs to that
	// user alone, like user.<id>.
	laravelUserPrefix = "App.Models.User."

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

// Kind is a channel's protocol kind, from its prefix.
type Kind uint8

// Kinds; encrypted channels are private.
const (
	KindPublic Kind = iota
	KindPrivate
	KindPresence
)

// KindOf is channel's kind.
func KindOf(channel string) Kind {
	switch {
	case strings.HasPrefix(channel, PresencePrefix):
		return KindPresence
	case strings.HasPrefix(channel, privatePrefix):
		return KindPrivate
	}
	return KindPublic
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

// IsEncrypted reports an end-to-end encrypted channel: the server relays
// its ciphertext and never sees the key.
func IsEncrypted(channel string) bool { return strings.HasPrefix(channel, encryptedPrefix) }

// IsCache reports a cache channel (cache-, private-cache-,
// private-encrypted-cache-, presence-cache-): the server keeps its last
// event for late subscribers.
func IsCache(channel string) bool {
	_, rest := splitKind(channel)
	return strings.HasPrefix(rest, cacheMarker)
}

// splitKind returns the kind prefix ("private-", "private-encrypted-",
// "presence-" or "") and the rest of the name.
func splitKind(channel string) (prefix, rest string) {
	for _, p := range []string{encryptedPrefix, privatePrefix, PresencePrefix} {
		if r, ok := strings.CutPrefix(channel, p); ok {
			return p, r
		}
	}
	return "", channel
}

// ServerToUser returns the user id of a "#server-to-user-<id>" channel.
func ServerToUser(channel string) (string, bool) {
	id, ok := strings.CutPrefix(channel, ServerToUserPrefix)
	if !ok || !ValidUserID(id) {
		return "", false
	}
	return id, true
}

// ValidUserID is the rule for a signed-in user's id: 1 to 160 characters
// of a channel name's alphabet, so "#server-to-user-<id>" stays a short,
// printable name.
func ValidUserID(id string) bool {
	return id != "" && len(id) <= 160 && ValidChannelName(id)
}

// TenantChannel is a parsed tenant-scoped channel name.
type TenantChannel struct {
	Presence  bool
	Encrypted bool
	Cache     bool
	TenantID  int64
	// Rest is what follows "<kind>-tenant.<id>.".
	Rest string
	// UserID is set when Rest is "user.<id>" (or "user.<id>.<more>"), or
	// Laravel's "App.Models.User.<id>": the channel belongs to that user
	// alone.
	UserID int64
}

// ParseTenantChannel parses "<kind>tenant.<T>.<rest>", where kind is
// "private-", "presence-" or "private-encrypted-", optionally followed by
// "cache-" (so "private-encrypted-cache-tenant.<T>.x" is one too). The
// tenant id must be a canonical positive decimal (no sign, no leading zero),
// so one tenant has one spelling. A rest that starts with "user." (or
// Laravel's "App.Models.User.") must name a canonical user id.
func ParseTenantChannel(channel string) (TenantChannel, error) {
	var tc TenantChannel
	if !ValidChannelName(channel) {
		return tc, fmt.Errorf("%w: %q", ErrChannelInvalid, channel)
	}
	prefix, after := splitKind(channel)
	switch prefix {
	case PresencePrefix:
		tc.Presence = true
	case encryptedPrefix:
		tc.Encrypted = true
	case privatePrefix:
	default:
		return tc, fmt.Errorf("%w: %q is not a tenant channel", ErrChannelForbidden, channel)
	}
	if r, ok := strings.CutPrefix(after, cacheMarker); ok {
		tc.Cache, after = true, r
	}
	after, ok := strings.CutPrefix(after, tenantMarker)
	if !ok {
		return tc, fmt.Errorf("%w: %q is not a tenant channel", ErrChannelForbidden, channel)
	}
	idText, rest, ok := strings.Cut(after, ".")
	if !ok || rest == "" {
		return tc, fmt.Errorf("%w: %q has no name after the tenant id", ErrChannelForbidden, channel)
	}
	id, ok := ParseID(idText)
	if !ok {
		return tc, fmt.Errorf("%w: %q has no canonical tenant id", ErrChannelForbidden, channel)
	}
	tc.TenantID, tc.Rest = id, rest
	u, isUser := strings.CutPrefix(rest, "user.")
	if !isUser {
		u, isUser = strings.CutPrefix(rest, laravelUserPrefix)
	}
	if isUser || rest == "user" || rest == strings.TrimSuffix(laravelUserPrefix, ".") {
		uText, _, _ := strings.Cut(u, ".")
		uid, ok := ParseID(uText)
		if !ok {
			return tc, fmt.Errorf("%w: %q has no canonical user id", ErrChannelForbidden, channel)
		}
		tc.UserID = uid
	}
	return tc, nil
}

// ParseID parses a canonical positive decimal id (no sign, no leading
// zero), the only spelling of a tenant or user id in a channel name.
func ParseID(s string) (int64, bool) {
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
// yes. The rule: private-tenant.<T>.user.<U> (and Laravel's
// private-tenant.<T>.App.Models.User.<U>) belongs to user U of tenant T alone
// (and so does the presence- twin); any other private-tenant.<T>.*,
// presence-tenant.<T>.*, private-encrypted-tenant.<T>.* and their cache-
// variants is open to every member of tenant T; every other
// private or presence channel is refused, and a public channel gets
// ErrChannelPublic because it needs no signature.
func AuthorizeChannel(tenantID, userID int64, channel string) error {
	if tenantID <= 0 || userID <= 0 {
		return fmt.Errorf("%w: no tenant or user", ErrChannelForbidden)
	}
	if !ValidChannelName(channel) {
		return fmt.Errorf("%w: %q", ErrChannelInvalid, channel)
	}
	if KindOf(channel) == KindPublic {
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

// Tenant is the private channel "private-tenant.<T>.<name>", open to every
// member of tenant T; name must not start with "user." (see User).
func Tenant(tenantID int64, name string) string {
	return privatePrefix + tenantMarker + strconv.FormatInt(tenantID, 10) + "." + name
}

// User is user U's own channel in tenant T, "private-tenant.<T>.user.<U>":
// only U is signed into it. Pages get it live (notices, their uploads'
// scan results).
func User(tenantID, userID int64) string {
	return Tenant(tenantID, "user."+strconv.FormatInt(userID, 10))
}

// Files is tenant T's files channel, where every member's page hears of
// scan results.
func Files(tenantID int64) string { return Tenant(tenantID, "files") }

// EchoName is a private channel's name as laravel-echo's private() takes
// it, without "private-": what pages are given to subscribe with.
func EchoName(channel string) string { return strings.TrimPrefix(channel, privatePrefix) }
