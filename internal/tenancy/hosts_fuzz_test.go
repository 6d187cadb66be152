package tenancy_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/tenancy"
)

// FuzzHostRoundTrip: tenant resolution for any base domain the deployment
// may have, from any Host header. Properties: a tenant slug comes back only
// when it passes the sign-up slug rule (core.ValidateSlug), and the host of
// that tenant's own URL resolves to the same tenant; resolution ignores
// case, a port and a trailing dot, as DNS and browsers do; and the site
// kinds never overlap (admin, wss and the apex are never a tenant).
func FuzzHostRoundTrip(f *testing.F) {
	for _, s := range [][2]string{
		{"https://palisade.example.com", "acme.palisade.example.com"},
		{"https://palisade.example.com", "ACME.Palisade.Example.Com.:443"},
		{"http://localhost:3000", "acme.localhost:3000"},
		{"http://localhost:3000", "admin.localhost"},
		{"http://localhost:3000", "wss.localhost"},
		{"http://localhost:3000", "www.localhost"},
		{"https://palisade.example.com", "a.b.palisade.example.com"},
		{"https://palisade.example.com", "acme.palisade.example.com.evil.com"},
		{"https://palisade.example.com", "-acme.palisade.example.com"},
		{"https://palisade.example.com", "ac.palisade.example.com"},
		{"https://palisade.example.com", "api.palisade.example.com"},
		{"http://[::1]:8080", "acme.::1"},
		{"https://example.com", "xn--80ak6aa92e.example.com"},
		// A fully qualified base (trailing dot) once sent every host to Unknown.
		{"https://palisade.example.com.", "acme.palisade.example.com"},
		// Strict ports (issue 14, item 9).
		{"http://localhost:3000", "acme.localhost:3000.evil.example"},
		{"http://localhost:3000", "acme.localhost:evil"},
		{"http://localhost:3000", "[::1]:3000"},
		// CI's fuzzer: a base on port 0 gave an admin host that was unknown
		// (the configuration now refuses it).
		{"http://0:0", "admin.0:0"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, base, host string) {
		// Only a base the configuration accepts is ever used.
		if _, err := config.Load(context.Background(), func(k string) string {
			return map[string]string{"PALISADE_ENV": "dev", "PALISADE_BASE_URL": base}[k]
		}, nil, nil); err != nil || base == "" || strings.TrimSpace(base) != base {
			return
		}
		h := tenancy.FromBaseURL(base)
		kind, slug := h.Classify(host)
		if kind != tenancy.Tenant {
			if slug != "" {
				t.Fatalf("Classify(%q) = kind %v with slug %q", host, kind, slug)
			}
		} else {
			if err := core.ValidateSlug(slug); err != nil {
				t.Fatalf("Classify(%q) under %q gave slug %q that sign-up refuses: %v", host, base, slug, err)
			}
			tu, err := url.Parse(h.TenantURL(slug))
			if err != nil {
				t.Fatalf("TenantURL(%q) = %q: %v", slug, h.TenantURL(slug), err)
			}
			if k2, s2 := h.Classify(tu.Host); k2 != tenancy.Tenant || s2 != slug {
				t.Fatalf("tenant %q's URL %q resolves to %v %q", slug, tu, k2, s2)
			}
		}
		// Case, a trailing dot and a port do not change the answer.
		for _, v := range []string{strings.ToUpper(host), strings.ToLower(host)} {
			if len(v) != len(host) {
				continue // some upper/lower cases change the byte length
			}
			if k2, s2 := h.Classify(v); k2 != kind || s2 != slug {
				t.Fatalf("Classify(%q) = %v %q but Classify(%q) = %v %q", host, kind, slug, v, k2, s2)
			}
		}
		if !strings.ContainsAny(host, ":[]") && !strings.HasSuffix(host, ".") && len(host) < 240 {
			for _, v := range []string{host + ".", host + ":8443"} {
				if k2, s2 := h.Classify(v); k2 != kind || s2 != slug {
					t.Fatalf("Classify(%q) = %v %q but Classify(%q) = %v %q", host, kind, slug, v, k2, s2)
				}
			}
		}
		for _, fixed := range []struct {
			url  string
			want tenancy.Kind
		}{{h.AdminURL(), tenancy.Admin}, {h.RealtimeURL(), tenancy.Realtime}, {h.ApexURL(), tenancy.Apex}} {
			fu, err := url.Parse(fixed.url)
			if err != nil {
				t.Fatalf("%q: %v", fixed.url, err)
			}
			if k, _ := h.Classify(fu.Host); k != fixed.want {
				t.Fatalf("base %q: %s classifies as %v, want %v", base, fu.Host, k, fixed.want)
			}
		}
	})
}
