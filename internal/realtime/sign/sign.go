// Package sign holds the HMAC-SHA256 signatures of the Pusher protocol: the
// channel authorisation string a client presents when it subscribes to a
// private or presence channel, the query signature of the HTTP events API,
// and the webhook signature. Server, publisher and auth endpoint share it so
// the three can never disagree on a byte.
package sign

import (
	"crypto/hmac"
	"crypto/md5" // #nosec G501 -- the Pusher HTTP API's body_md5 is MD5 by protocol; integrity comes from the HMAC-SHA256 over it
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"
)

// HMAC returns the lower-case hex HMAC-SHA256 of msg under secret.
func HMAC(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// Equal compares two signatures in constant time.
func Equal(a, b string) bool {
	return hmac.Equal([]byte(a), []byte(b))
}

// ChannelAuth returns the value of the "auth" field of a pusher:subscribe
// message: "<key>:<hex hmac of socketID:channel[:channelData]>". channelData is
// the presence channel's JSON member data and is empty for private channels.
func ChannelAuth(key, secret, socketID, channel, channelData string) string {
	msg := socketID + ":" + channel
	if channelData != "" {
		msg += ":" + channelData
	}
	return key + ":" + HMAC(secret, msg)
}

// VerifyChannelAuth reports whether auth is the signature ChannelAuth would
// produce for these values.
func VerifyChannelAuth(auth, key, secret, socketID, channel, channelData string) bool {
	return Equal(auth, ChannelAuth(key, secret, socketID, channel, channelData))
}

// BodyMD5 returns the lower-case hex MD5 of an HTTP API request body, which
// the protocol sends as body_md5.
func BodyMD5(body []byte) string {
	sum := md5.Sum(body) // #nosec G401 -- protocol-mandated body_md5, covered by the HMAC-SHA256 signature
	return hex.EncodeToString(sum[:])
}

// RequestString is the text the HTTP API signs: the method, the path and the
// query parameters (all but auth_signature) sorted by key, joined with "&",
// with their values as sent (not URL-escaped), one per line.
func RequestString(method, path string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k == "auth_signature" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(strings.ToUpper(method))
	b.WriteByte('\n')
	b.WriteString(path)
	b.WriteByte('\n')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(strings.ToLower(k))
		b.WriteByte('=')
		b.WriteString(params.Get(k))
	}
	return b.String()
}

// Request returns auth_signature for an HTTP API request.
func Request(secret, method, path string, params url.Values) string {
	return HMAC(secret, RequestString(method, path, params))
}

// Webhook returns the X-Pusher-Signature header value for a webhook body.
func Webhook(secret string, body []byte) string {
	return HMAC(secret, string(body))
}

// UserAuth returns the "auth" field of a pusher:signin message:
// "<key>:<hex hmac of socketID::user::userData>", userData being the exact
// JSON text the client sends beside it.
func UserAuth(key, secret, socketID, userData string) string {
	return key + ":" + HMAC(secret, socketID+"::user::"+userData)
}

// VerifyUserAuth reports whether auth is UserAuth's signature for these values.
func VerifyUserAuth(auth, key, secret, socketID, userData string) bool {
	return Equal(auth, UserAuth(key, secret, socketID, userData))
}
