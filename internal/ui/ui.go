// Package ui holds the server-rendered pages of web and hq: html/template
// files parsed once at start-up, and the static assets they use.
package ui

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Page is what every template receives.
type Page struct {
	Title string
	Site  string // "web", "apex" or "hq"
	// Who is logged in, if anyone.
	UserName string
	Role     string
	Tenant   string
	// Flash is a notice; Error a problem to fix; Field the input at fault.
	Flash string
	Error string
	Field string
	// Alerts are alarms shown on every page until their cause is fixed.
	Alerts []string
	// Form echoes submitted values (never passwords).
	Form map[string]string
	Data any
	// Realtime, when set, subscribes the page to the member's live channel.
	Realtime *Realtime
}

// Realtime is what the browser needs to open its live channel.
type Realtime struct {
	Key  string `json:"key"`
	Host string `json:"host"`
	Port int    `json:"port"`
	TLS  bool   `json:"tls"`
	// Channel is the Echo name (without "private-").
	Channel string `json:"channel"`
}

// JSON is the meta tag's content.
func (r Realtime) JSON() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// Renderer renders named pages.
type Renderer struct {
	pages map[string]*template.Template
}

var funcs = template.FuncMap{
	"time": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"deref": func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	},
	"add": func(a, b int) int { return a + b },
}

// New parses every page with the layout and fails if any is broken.
func New() (*Renderer, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	r := &Renderer{pages: map[string]*template.Template{}}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", n, err)
		}
		r.pages[name] = t
	}
	return r, nil
}

// Has reports whether a page exists; the servers check their pages at start.
func (r *Renderer) Has(name string) bool { _, ok := r.pages[name]; return ok }

// Render writes a page with status. It renders into a buffer first, so a
// template error becomes a clean 500 instead of half a page.
func (r *Renderer) Render(w http.ResponseWriter, status int, name string, p Page) {
	t, ok := r.pages[name]
	if !ok {
		http.Error(w, "missing page "+name, http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		http.Error(w, "page error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// Static serves /static/.
func Static() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}
