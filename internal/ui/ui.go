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
	"regexp"
	"strings"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
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
	// inline: the page shows Error next to the input Field names (form.go).
	inline bool
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
	// fields are the inputs each page can show an error next to.
	fields map[string]map[string]bool
}

var funcs = template.FuncMap{
	"time": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	// when is a time in a table: relative, the exact time on hover and in
	// the machine-readable datetime.
	"when": func(t time.Time) template.HTML {
		return template.HTML(`<time datetime="` + t.UTC().Format(time.RFC3339) + `" title="` + t.UTC().Format("2006-01-02 15:04 UTC") + `">` + // #nosec G203 -- only formatted times, no input
			template.HTMLEscapeString(core.RelativeTime(time.Now(), t)) + `</time>`)
	},
	"deref": func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	},
	"add":       func(a, b int) int { return a + b },
	"size":      core.HumanSize,
	"exactsize": core.ExactSize,
	"action":    core.ActionName,
	"duration":  core.HumanDuration,
	"device":    core.DeviceName,
	"place":     core.PlaceName,
	"linkify":   linkify,
}

// New parses every page with the layout and fails if any is broken.
func New() (*Renderer, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_form.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	r := &Renderer{pages: map[string]*template.Template{}, fields: map[string]map[string]bool{}}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		src, err := fs.ReadFile(templateFS, n)
		if err != nil {
			return nil, err
		}
		r.fields[name] = formFields(string(src))
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
	p.inline = p.Error != "" && p.Field != "" && r.fields[name][p.Field]
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

// Static serves the files under /static/ and nothing else: a directory
// (/static/, /static/vendor/) is a plain 404, never a listing.
func Static() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/static/")
		if st, err := fs.Stat(sub, name); err != nil || st.IsDir() || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

// linkURL is an http(s) URL in plain text, up to whitespace.
var linkURL = regexp.MustCompile(`https?://[^\s<>"']+`)

// linkify escapes text and makes its http(s) URLs clickable (the dev
// outbox's mails), so a link in a mail can be followed from HQ.
func linkify(text string) template.HTML {
	var b strings.Builder
	last := 0
	for _, m := range linkURL.FindAllStringIndex(text, -1) {
		for m[1] > m[0] && strings.ContainsRune(".,;:!?)", rune(text[m[1]-1])) {
			m[1]-- // sentence punctuation after a URL is not part of it
		}
		b.WriteString(template.HTMLEscapeString(text[last:m[0]]))
		u := template.HTMLEscapeString(text[m[0]:m[1]])
		b.WriteString(`<a href="` + u + `" rel="noopener noreferrer">` + u + `</a>`)
		last = m[1]
	}
	b.WriteString(template.HTMLEscapeString(text[last:]))
	return template.HTML(b.String()) // #nosec G203 -- every piece of text is escaped above; the only markup is the anchor around an escaped http(s) URL
}
