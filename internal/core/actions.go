package core

import "strings"

// actionNames are the audit actions people meet most, in words. Any other
// action is said by ActionName's fallback, so no code reaches a page as is.
var actionNames = map[string]string{ // #nosec G101 -- audit action codes and their wording, no credential
	"api_token.created":              "API token created",
	"api_token.refused":              "API token refused",
	"api_token.revoked":              "API token revoked",
	"api_token.scope":                "API token used beyond its access",
	"auth.login":                     "Logged in",
	"auth.login.throttled":           "Login paused after failed attempts",
	"auth.logout":                    "Logged out",
	"auth.mfa":                       "Passed two-step verification",
	"auth.passkey.clone_warning":     "Passkey may have been copied",
	"auth.password_change":           "Password change",
	"auth.password_changed":          "Password changed",
	"auth.password_reset.completed":  "Password reset",
	"auth.password_reset.requested":  "Password reset requested",
	"auth.reauth":                    "Confirmed their password",
	"file.created":                   "File uploaded",
	"file.deleted":                   "File deleted",
	"file.download_refused":          "Download refused",
	"file.download_url_issued":       "File downloaded",
	"file.quarantined":               "File blocked: malware found",
	"file.scanned":                   "File scanned",
	"file.upload_requested":          "Upload started",
	"file.upload_url_issued":         "Upload started",
	"hq.break_glass.opened":          "Palisade HQ support access opened",
	"hq.break_glass.revoked":         "Palisade HQ support access ended",
	"hq.file.download":               "Palisade HQ downloaded a file",
	"hq.file.list":                   "Palisade HQ listed the files",
	"hq.tenant.created":              "Created by Palisade HQ",
	"hq.tenant.deletion_approved":    "Deletion approved by Palisade HQ",
	"hq.tenant.deletion_cancelled":   "Deletion cancelled by Palisade HQ",
	"hq.tenant.deletion_requested":   "Deletion requested by Palisade HQ",
	"hq.tenant.exported":             "Exported by Palisade HQ",
	"hq.tenant.owner_invited":        "Owner invited by Palisade HQ",
	"hq.tenant.reactivated":          "Reactivated by Palisade HQ",
	"hq.tenant.sessions_revoked":     "Sessions ended by Palisade HQ",
	"hq.tenant.suspended":            "Suspended by Palisade HQ",
	"hq.tenant.updated":              "Changed by Palisade HQ",
	"invitation.accept":              "Invitation accepted",
	"invitation.accepted":            "Invitation accepted",
	"invitation.created":             "Invitation sent",
	"invitation.revoked":             "Invitation revoked",
	"member.removed":                 "Member removed",
	"member.updated":                 "Member changed",
	"mfa.passkey.added":              "Passkey added",
	"mfa.passkey.removed":            "Passkey removed",
	"mfa.recovery_codes.regenerated": "New recovery codes made",
	"mfa.totp.cancelled":             "Authenticator app setup cancelled",
	"mfa.totp.disabled":              "Authenticator app removed",
	"mfa.totp.enabled":               "Authenticator app turned on",
	"session.cross_tenant":           "Session used on another organisation",
	"session.revoked":                "Session ended",
	"session.revoked_others":         "Other sessions ended",
	"tenant.deleted":                 "Organisation deleted",
	"tenant.mfa_policy":              "Two-step policy changed",
	"tenant.signup":                  "Organisation created",
}

// acronyms keep their capitals in the fallback.
var acronyms = map[string]string{"hq": "HQ", "mfa": "MFA", "totp": "TOTP", "api": "API", "url": "URL", "ip": "IP", "id": "ID", "s3": "S3"}

// ActionName says an audit action in words: "Invitation sent" for
// invitation.created; an action without a name of its own is spelt out
// from its code ("passkey.added" → "Passkey added").
func ActionName(action string) string {
	if n, ok := actionNames[action]; ok {
		return n
	}
	words := strings.FieldsFunc(action, func(r rune) bool { return r == '.' || r == '_' || r == '-' })
	for i, w := range words {
		if a, ok := acronyms[strings.ToLower(w)]; ok {
			words[i] = a
		} else if i == 0 && w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	if len(words) == 0 {
		return "Something happened"
	}
	return strings.Join(words, " ")
}
