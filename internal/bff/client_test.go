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
