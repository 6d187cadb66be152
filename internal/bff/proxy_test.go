package bff_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/bff"
)

// TestProxyForwardsHeaders checks what the API receives through the proxy.
func TestProxyForwardsHeaders(t *testing.T) {
	var got http.Header
	var gotPath, gotHost string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, gotPath, gotHost = r.Header.Clone(), r.URL.RequestURI(), r.Host
		http.SetCookie(w, &http.Cookie{Name: "palisade_session", Value: "new", HttpOnly: true})
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer upstream.Close()
	c, err := bff.NewClient(upstream.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := bff.Proxy(c, slog.New(slog.DiscardHandler), func(path string) bool { return !strings.HasPrefix(path, "/api/hq/") })
	front := httptest.NewServer(p)
	defer front.Close()

	req, _ := http.NewRequest("POST", front.URL+"/api/files/upload-url?x=1", strings.NewReader(`{}`))
	req.Host = "acme.palisade.test"
	req.Header.Set("Cookie", "palisade_session=abc")
	req.Header.Set("Authorization", "Bearer pal_test")
	req.Header.Set("X-Forwarded-For", "198.51.100.1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if gotPath != "/api/files/upload-url?x=1" {
		t.Errorf("path %q", gotPath)
	}
	if got.Get("Cookie") != "palisade_session=abc" || got.Get("Authorization") != "Bearer pal_test" {
		t.Errorf("credentials not forwarded: %v", got)
	}
	if xff := got.Get("X-Forwarded-For"); xff != "198.51.100.1, 127.0.0.1" {
		t.Errorf("X-Forwarded-For %q, want the browser's address appended", xff)
	}
	if got.Get("X-Forwarded-Host") != "acme.palisade.test" {
		t.Errorf("X-Forwarded-Host %q", got.Get("X-Forwarded-Host"))
	}
	if gotHost == "acme.palisade.test" {
		t.Errorf("Host passed through; the API should be addressed by its own name")
	}
	if sc := res.Header.Get("Set-Cookie"); !strings.HasPrefix(sc, "palisade_session=new") {
		t.Errorf("Set-Cookie not passed back: %q", sc)
	}

	res, err = http.Get(front.URL + "/api/hq/tenants")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("blocked path answered %d", res.StatusCode)
	}
}
