package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/realtime/sign"
)

// realtimeRecorder stands in for the realtime server's HTTP API and
// records the terminate_connections calls the api makes, checking their
// signatures as the server would.
type realtimeRecorder struct {
	t     *testing.T
	mu    sync.Mutex
	paths []string
}

func (rr *realtimeRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("auth_key") != "test-key" || !sign.Equal(q.Get("auth_signature"), sign.Request("test-secret", r.Method, r.URL.Path, q)) {
		rr.t.Errorf("unsigned realtime call %s %s", r.Method, r.URL)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	rr.mu.Lock()
	rr.paths = append(rr.paths, r.Method+" "+r.URL.Path)
	rr.mu.Unlock()
	_, _ = w.Write([]byte("{}"))
}

// take returns the calls since the last take.
func (rr *realtimeRecorder) take() []string {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	p := rr.paths
	rr.paths = nil
	return p
}

// TestAccessEndTerminatesRealtime: whenever a user's or a tenant's sessions
// end (log out everywhere, a password change or reset, HQ ending a
// tenant's sessions, suspension), the api terminates the matching realtime
// sockets, so pusher-js reconnects and must be authorised again.
func TestAccessEndTerminatesRealtime(t *testing.T) {
	rr := &realtimeRecorder{t: t}
	rt := httptest.NewServer(rr)
	defer rt.Close()
	s := newStack(t, "sqlite", map[string]string{"PALISADE_REALTIME_API_URL": rt.URL})
	a, tn := s.signUp("acme", "owner@acme.test")
	var me struct {
		User core.User `json:"user"`
	}
	a.do("GET", "/api/me", nil).json(t, &me)
	user := fmt.Sprintf("POST /apps/test-app/users/%d/terminate_connections", me.User.ID)
	tenant := fmt.Sprintf("POST /apps/test-app/tenants/%d/terminate_connections", tn.ID)
	expect := func(what string, wantPaths ...string) {
		t.Helper()
		got := rr.take()
		if fmt.Sprint(got) != fmt.Sprint(wantPaths) {
			t.Errorf("%s: realtime calls %v, want %v", what, got, wantPaths)
		}
	}
	rr.take()

	want(t, a.do("POST", "/api/sessions/revoke-others", nil), http.StatusOK)
	expect("log out everywhere else", user)

	want(t, a.do("POST", "/api/auth/password", map[string]string{"current_password": testPassword, "new_password": "a brand new passphrase"}), http.StatusOK)
	expect("password change", user)

	anon := s.browser("acme.localhost:3000")
	want(t, anon.do("POST", "/api/auth/password-reset", map[string]string{"email": "owner@acme.test"}), http.StatusAccepted)
	token := linkToken(t, s.lastMail("owner@acme.test").Body, "token=")
	want(t, anon.do("POST", "/api/auth/password-reset/confirm", map[string]string{"token": token, "password": "yet another passphrase"}), http.StatusOK)
	expect("password reset", user)
	// A refused reset ends nothing.
	want(t, anon.do("POST", "/api/auth/password-reset/confirm", map[string]string{"token": token, "password": "and one more passphrase"}), http.StatusUnprocessableEntity)
	expect("refused password reset")

	op := s.operator("ops@palisade.test")
	rr.take()
	want(t, op.do("POST", fmt.Sprintf("/api/hq/tenants/%d/sessions/revoke", tn.ID), nil), http.StatusOK)
	expect("HQ ends the tenant's sessions", tenant)
	want(t, op.do("POST", fmt.Sprintf("/api/hq/tenants/%d/suspend", tn.ID), map[string]string{"reason": "unpaid invoice"}), http.StatusOK)
	expect("suspension", tenant)
}
