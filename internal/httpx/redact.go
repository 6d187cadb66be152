package httpx

import "strings"

// Redacted stands in a log line for a path segment that may be a secret.
const Redacted = "[redacted]"

// LogPath is a request path fit for a log line. Links that log someone in
// or let them set a password carry a token in the path (/invitations/<token>,
// and any future /…/<token> route) or in the query (?token=); the query is
// never logged, and a path segment that may be a token is replaced by
// Redacted: the segment after "invitations" unless it is a numeric id or
// a route word such as "accept" (a truncated or mistyped token is still
// most of a secret), and any long
// segment that looks random (token characters only, with a digit or a
// capital letter, which route words never have).
func LogPath(p string) string {
	if p == "" {
		return p
	}
	segs := strings.Split(p, "/")
	changed := false
	for i, seg := range segs {
		if seg == "" {
			continue
		}
		if (i > 0 && segs[i-1] == "invitations" && !allDigits(seg) && !routeWord(seg)) || looksLikeToken(seg) {
			segs[i] = Redacted
			changed = true
		}
	}
	if !changed {
		return p
	}
	return strings.Join(segs, "/")
}

// routeWord: a short word of lowercase letters and hyphens, as in routes.
func routeWord(s string) bool {
	if len(s) > 16 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && c != '-' {
			return false
		}
	}
	return s != ""
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// looksLikeToken: 16 or more characters of the alphabets tokens are written
// in (base64url, hex, percent-encoding), with a digit or a capital letter;
// or anything of 48 characters or more.
func looksLikeToken(seg string) bool {
	if len(seg) >= 48 {
		return true
	}
	if len(seg) < 16 {
		return false
	}
	mixed := false
	for _, c := range seg {
		switch {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'Z':
			mixed = true
		case c >= 'a' && c <= 'z', c == '-', c == '_', c == '%', c == '=', c == '~', c == '.':
		default:
			return false
		}
	}
	return mixed
}
