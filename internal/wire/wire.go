// Package wire is the error contract of the internal API: the kinds an
// error response carries and the reasons that tell its cases apart. The
// API writes them and the BFF client reads them; this package imports
// nothing, so both sides share the names without depending on each other.
// api/openapi.yaml lists the same kinds (TestOpenAPIErrorKinds).
package wire

// Kind is the "kind" of an error response: what the client should do
// about it. The set is closed; clients branch on it, never on the message
// or on "field" (which only names the input at fault).
type Kind string

const (
	// KindValidation: the input is wrong; "field" names the input when one
	// is at fault.
	KindValidation Kind = "validation"
	// KindUnauthenticated: no valid login (or a wrong password); log in.
	KindUnauthenticated Kind = "unauthenticated"
	// KindMFARequired: the password was given, the second factor not yet;
	// prove it (code, recovery code or passkey) to finish logging in.
	KindMFARequired Kind = "mfa_required"
	// KindMFAEnrolmentRequired: a second factor is required and none is
	// set up; enrol one to continue.
	KindMFAEnrolmentRequired Kind = "mfa_enrolment_required"
	// KindReauthRequired: the action needs a recent login; re-authenticate
	// and send it again.
	KindReauthRequired Kind = "reauth_required"
	KindForbidden      Kind = "forbidden"
	KindNotFound       Kind = "not_found"
	KindConflict       Kind = "conflict"
	// KindRateLimited: too many requests or attempts; Retry-After says
	// when to try again.
	KindRateLimited Kind = "rate_limited"
	// KindUnavailable: a dependency is away for a moment; the same request
	// may be retried.
	KindUnavailable Kind = "unavailable"
	// KindInternal: a bug on the server's side; the message has the
	// request id.
	KindInternal Kind = "internal"
)

// Kinds is every kind, in the order of the OpenAPI enum.
func Kinds() []Kind {
	return []Kind{KindValidation, KindUnauthenticated, KindMFARequired, KindMFAEnrolmentRequired, KindReauthRequired,
		KindForbidden, KindNotFound, KindConflict, KindRateLimited, KindUnavailable, KindInternal}
}

// Reasons are the "reason" of an error response: a stable code for the
// specific case, set where a client may need to tell cases of one kind
// apart, absent otherwise.
const (
	ReasonMFAPending        = "mfa_pending"         // mfa_required
	ReasonMFANotEnrolled    = "mfa_not_enrolled"    // mfa_enrolment_required
	ReasonLoginNotRecent    = "login_not_recent"    // reauth_required
	ReasonTenantSuspended   = "tenant_suspended"    // forbidden: the organisation is suspended
	ReasonBreakGlassMissing = "break_glass_missing" // forbidden: tenant content without an active grant
	ReasonFileScanPending   = "file_scan_pending"   // conflict: the file is not scanned yet
	ReasonFileRefused       = "file_refused"        // forbidden: the file is infected or could not be scanned
	ReasonCrossOrigin       = "cross_origin"        // forbidden: a cross-origin request that changes state (BFF)
	ReasonDependencyDown    = "dependency_down"     // unavailable: the database or Redis is away
	ReasonBadGateway        = "bad_gateway"         // unavailable: the BFF could not reach the API
)

// ReasonKind is the kind a reason implies when it is a kind of its own:
// the three steps of logging in further are forbidden in HTTP terms
// (403), but the client must act on them differently.
func ReasonKind(reason string) (Kind, bool) {
	switch reason {
	case ReasonMFAPending:
		return KindMFARequired, true
	case ReasonMFANotEnrolled:
		return KindMFAEnrolmentRequired, true
	case ReasonLoginNotRecent:
		return KindReauthRequired, true
	}
	return "", false
}

// Before kinds existed, the API carried these signals in "field". Web, HQ
// and the API deploy through separate pipelines and roll back on their
// own, so for one release both sides speak both (the expand step of
// docs/operations.md's expand/contract rule): the API still writes the
// old field next to the kind, and the BFF reads a kind from the old field
// when an API of the previous release sent none. Remove both (the
// contract step) in the release after the one that introduced kinds
// (CHANGELOG, Unreleased).
var legacyFields = map[string]string{
	ReasonMFAPending:        "mfa",
	ReasonMFANotEnrolled:    "mfa_enrolment",
	ReasonLoginNotRecent:    "reauth",
	ReasonBreakGlassMissing: "break_glass",
	ReasonFileScanPending:   "status",
	ReasonFileRefused:       "status",
}

// LegacyField is the "field" the previous release sent for the reason, or
// "" when it sent none.
func LegacyField(reason string) string { return legacyFields[reason] }

// LegacyReason is the reason an answer of the previous release meant by
// its field and status ("", false when it meant none).
func LegacyReason(status int, field string) (string, bool) {
	switch {
	case status == 403 && field == "mfa":
		return ReasonMFAPending, true
	case status == 403 && field == "mfa_enrolment":
		return ReasonMFANotEnrolled, true
	case status == 403 && field == "reauth":
		return ReasonLoginNotRecent, true
	case status == 403 && field == "break_glass":
		return ReasonBreakGlassMissing, true
	case status == 409 && field == "status":
		return ReasonFileScanPending, true
	case status == 403 && field == "status":
		return ReasonFileRefused, true
	}
	return "", false
}
