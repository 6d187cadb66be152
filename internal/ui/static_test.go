package ui_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/ui"
)

// /static/ serves its files and never lists a directory.
func TestStaticServesFilesOnly(t *testing.T) {
	h := ui.Static()
	for path, want := range map[string]int{
		"/static/app.css":          http.StatusOK,
		"/static/":                 http.StatusNotFound,
		"/static/vendor/":          http.StatusNotFound,
		"/static/vendor":           http.StatusNotFound,
		"/static/missing.js":       http.StatusNotFound,
		"/static/../ui.go":         http.StatusNotFound,
		"/static/app.css/":         http.StatusNotFound,
		"/static/%2e%2e/templates": http.StatusNotFound,
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "http://acme.localhost"+path, nil)
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("%s: %d, want %d", path, rec.Code, want)
		}
		if strings.Contains(rec.Body.String(), "<pre>") || strings.Contains(rec.Body.String(), `<a href="`) {
			t.Errorf("%s lists a directory:\n%s", path, rec.Body.String())
		}
	}
}

// The outbox's mails have clickable links, and nothing else becomes markup.
func TestLinkify(t *testing.T) {
	got := string(ui.Linkify("Open <b>this</b>:\nhttp://acme.localhost:3000/invitations/abc?x=1&y=2\nthen https://example.com."))
	for _, want := range []string{
		"Open &lt;b&gt;this&lt;/b&gt;:",
		`<a href="http://acme.localhost:3000/invitations/abc?x=1&amp;y=2" rel="noopener noreferrer">http://acme.localhost:3000/invitations/abc?x=1&amp;y=2</a>`,
		`<a href="https://example.com" rel="noopener noreferrer">https://example.com</a>.`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("linkify lacks %q:\n%s", want, got)
		}
	}
	if got := string(ui.Linkify(`javascript:alert(1) "><script>`)); strings.Contains(got, "<a") || strings.Contains(got, "<script") {
		t.Errorf("linkify made markup of %q", got)
	}
}
