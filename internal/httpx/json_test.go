package httpx_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"syscall"
	"testing"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/wire"
)

// TestWriteErrorKinds: every domain error reaches the client with its
// wire kind and reason beside the code; the reasons that are steps of
// logging in are kinds of their own, and field is the input's name (or,
// for one release, the signal the previous release sent there:
// wire.LegacyField).
func TestWriteErrorKinds(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		code   string
		kind   wire.Kind
		reason string
		field  string
	}{
		{core.Invalid("email", "is not valid"), 422, "invalid", wire.KindValidation, "", "email"},
		{core.ErrNotFound, 404, "not_found", wire.KindNotFound, "", ""},
		{core.Errorf(core.KindConflict, "taken"), 409, "conflict", wire.KindConflict, "", ""},
		{core.Errorf(core.KindForbidden, "no"), 403, "forbidden", wire.KindForbidden, "", ""},
		{&core.Error{Kind: core.KindForbidden, Reason: wire.ReasonMFAPending, Message: "code"}, 403, "forbidden", wire.KindMFARequired, wire.ReasonMFAPending, "mfa"},
		{&core.Error{Kind: core.KindForbidden, Reason: wire.ReasonMFANotEnrolled, Message: "enrol"}, 403, "forbidden", wire.KindMFAEnrolmentRequired, wire.ReasonMFANotEnrolled, "mfa_enrolment"},
		{&core.Error{Kind: core.KindForbidden, Reason: wire.ReasonLoginNotRecent, Message: "again"}, 403, "forbidden", wire.KindReauthRequired, wire.ReasonLoginNotRecent, "reauth"},
		{&core.Error{Kind: core.KindForbidden, Reason: wire.ReasonBreakGlassMissing, Message: "grant"}, 403, "forbidden", wire.KindForbidden, wire.ReasonBreakGlassMissing, "break_glass"},
		{core.Errorf(core.KindSuspended, "suspended"), 403, "tenant_suspended", wire.KindForbidden, wire.ReasonTenantSuspended, ""},
		{&core.Error{Kind: core.KindUnauthenticated, Field: "password", Message: "wrong"}, 401, "unauthenticated", wire.KindUnauthenticated, "", "password"},
		{&core.Error{Kind: core.KindThrottled, RetryAfterSeconds: 3, Message: "slow down"}, 429, "throttled", wire.KindRateLimited, "", ""},
		{errors.New("bug"), 500, "internal", wire.KindInternal, "", ""},
		{syscall.ECONNREFUSED, 503, "unavailable", wire.KindUnavailable, wire.ReasonDependencyDown, ""},
	} {
		rec := httptest.NewRecorder()
		httpx.WriteError(rec, httptest.NewRequest("GET", "/", nil), slog.New(slog.DiscardHandler), c.err)
		var got httpx.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		e := got.Error
		if rec.Code != c.status || e.Code != c.code || e.Kind != c.kind || e.Reason != c.reason || e.Field != c.field || e.Message == "" {
			t.Errorf("%v: got %d %+v, want %d code %s kind %s reason %q field %q", c.err, rec.Code, e, c.status, c.code, c.kind, c.reason, c.field)
		}
		if !json.Valid(rec.Body.Bytes()) || rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("%v: not JSON: %s", c.err, rec.Body)
		}
	}
}

// TestErrorKindsClosed: every kind the writer can produce is one of
// wire.Kinds, which the OpenAPI enum mirrors.
func TestErrorKindsClosed(t *testing.T) {
	for _, k := range []core.Kind{core.KindInvalid, core.KindNotFound, core.KindConflict, core.KindForbidden, core.KindUnauthenticated,
		core.KindSuspended, core.KindThrottled, core.KindInternal, "something new"} {
		for _, reason := range []string{"", wire.ReasonMFAPending, wire.ReasonMFANotEnrolled, wire.ReasonLoginNotRecent} {
			got := httpx.KindOf(&core.Error{Kind: k, Reason: reason})
			found := false
			for _, w := range wire.Kinds() {
				found = found || w == got
			}
			if !found {
				t.Errorf("%s/%s maps to %q, not a wire kind", k, reason, got)
			}
		}
	}
}
