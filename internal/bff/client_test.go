package bff_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/palisade-hq/palisade/internal/bff"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/wire"
)

// TestAPIErrorKindFallback: an answer without a kind (a proxy's page, not
// the API's JSON) gets one from its status, so pages still decide on kind.
func TestAPIErrorKindFallback(t *testing.T) {
	for status, kind := range map[int]wire.Kind{
		http.StatusUnauthorized: wire.KindUnauthenticated, http.StatusForbidden: wire.KindForbidden, http.StatusNotFound: wire.KindNotFound,
		http.StatusTooManyRequests: wire.KindRateLimited, http.StatusBadGateway: wire.KindUnavailable, http.StatusInternalServerError: wire.KindInternal, http.StatusUnprocessableEntity: wire.KindValidation,
	} {
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "plain text", status)
		}))
		client, err := bff.NewClient(api.URL)
		if err != nil {
			t.Fatal(err)
		}
		err = client.Call(nil, httptest.NewRequest("GET", "http://acme.localhost:3000/", nil), "GET", "/api/me", nil, nil)
		api.Close()
		e, ok := bff.AsAPIError(err)
		if !ok || e.Kind != kind || e.Status != status {
			t.Errorf("status %d: got %+v, want kind %s", status, err, kind)
		}
	}
	// The API's own kind wins over the status.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(httpx.ErrorBody{Error: httpx.ErrorDetail{Code: "forbidden", Kind: wire.KindMFARequired, Reason: wire.ReasonMFAPending, Message: "m"}})
	}))
	defer api.Close()
	client, _ := bff.NewClient(api.URL)
	err := client.Call(nil, httptest.NewRequest("GET", "http://acme.localhost:3000/", nil), "GET", "/api/me", nil, nil)
	if e, ok := bff.AsAPIError(err); !ok || e.Kind != wire.KindMFARequired || e.Reason != wire.ReasonMFAPending || !e.LoginNeeded() {
		t.Fatalf("got %+v", err)
	}
}

// TestAPIErrorOfThePreviousRelease: during a rolling deploy the BFF may
// reach an API of the previous release, which sent the step-up signals in
// "field" and no kind; the client reads the kind from them. And an API of
// this release still sends that field beside the kind (for the previous
// BFF), which the client does not take for an input.
func TestAPIErrorOfThePreviousRelease(t *testing.T) {
	for _, c := range []struct {
		status       int
		field        string
		kind         wire.Kind
		reason       string
		loginNeeded  bool
		keepsAsInput bool
	}{
		{http.StatusForbidden, "mfa", wire.KindMFARequired, wire.ReasonMFAPending, true, false},
		{http.StatusForbidden, "mfa_enrolment", wire.KindMFAEnrolmentRequired, wire.ReasonMFANotEnrolled, true, false},
		{http.StatusForbidden, "reauth", wire.KindReauthRequired, wire.ReasonLoginNotRecent, false, false},
		{http.StatusForbidden, "break_glass", wire.KindForbidden, wire.ReasonBreakGlassMissing, false, false},
		{http.StatusConflict, "status", wire.KindConflict, wire.ReasonFileScanPending, false, false},
		{http.StatusForbidden, "status", wire.KindForbidden, wire.ReasonFileRefused, false, false},
		// A real input stays an input, and a status that never carried
		// the signal does not get it.
		{http.StatusUnprocessableEntity, "password", wire.KindValidation, "", false, true},
		{http.StatusUnprocessableEntity, "mfa", wire.KindValidation, "", false, true},
	} {
		for _, withKind := range []bool{false, true} {
			detail := httpx.ErrorDetail{Code: "x", Field: c.field, Message: "m"}
			if withKind {
				detail.Kind, detail.Reason = c.kind, c.reason
			}
			api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(c.status)
				_ = json.NewEncoder(w).Encode(httpx.ErrorBody{Error: detail})
			}))
			client, _ := bff.NewClient(api.URL)
			err := client.Call(nil, httptest.NewRequest("GET", "http://acme.localhost:3000/", nil), "GET", "/api/me", nil, nil)
			api.Close()
			e, ok := bff.AsAPIError(err)
			wantField := ""
			if c.keepsAsInput {
				wantField = c.field
			}
			if !ok || e.Kind != c.kind || e.Reason != c.reason || e.Field != wantField || e.LoginNeeded() != c.loginNeeded {
				t.Errorf("%d field %q (kind sent: %v): got %+v, want kind %s reason %q field %q", c.status, c.field, withKind, err, c.kind, c.reason, wantField)
			}
		}
	}
}
