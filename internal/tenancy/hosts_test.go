package tenancy_test

import (
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/tenancy"
)

func TestClassify(t *testing.T) {
	h := tenancy.FromBaseURL("https://palisade.example.com")
	cases := []struct {
		host string
		kind tenancy.Kind
		slug string
	}{
		{"palisade.example.com", tenancy.Apex, ""},
		{"www.palisade.example.com", tenancy.Apex, ""},
		{"admin.palisade.example.com", tenancy.Admin, ""},
		{"wss.palisade.example.com", tenancy.Realtime, ""},
		{"acme.palisade.example.com", tenancy.Tenant, "acme"},
		{"ACME.Palisade.Example.Com.", tenancy.Tenant, "acme"},
		{"acme.palisade.example.com:443", tenancy.Tenant, "acme"},
		{"a.b.palisade.example.com", tenancy.Unknown, ""},
		{"acme.palisade.example.com.evil.net", tenancy.Unknown, ""},
		{"evilpalisade.example.com", tenancy.Unknown, ""},
		{"api.palisade.example.com", tenancy.Unknown, ""},
		{"ac.palisade.example.com", tenancy.Unknown, ""},
		{"-acme.palisade.example.com", tenancy.Unknown, ""},
		{"", tenancy.Unknown, ""},
		{strings.Repeat("a", 300) + ".palisade.example.com", tenancy.Unknown, ""},
	}
	for _, c := range cases {
		k, s := h.Classify(c.host)
		if k != c.kind || s != c.slug {
			t.Errorf("Classify(%q) = %v %q, want %v %q", c.host, k, s, c.kind, c.slug)
		}
	}
	if got := h.TenantURL("acme"); got != "https://acme.palisade.example.com" {
		t.Errorf("TenantURL %s", got)
	}
	dev := tenancy.FromBaseURL("http://localhost:3000")
	if got := dev.TenantURL("acme"); got != "http://acme.localhost:3000" {
		t.Errorf("dev TenantURL %s", got)
	}
}

// FuzzClassify: whatever the Host header, a tenant slug comes back only as a
// single valid DNS label under the base domain.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{"acme.localhost:3000", "admin.localhost", "localhost", "x.y.localhost", "[::1]:80", "acme.localhost.", "%00.localhost"} {
		f.Add(s)
	}
	h := tenancy.FromBaseURL("http://localhost:3000")
	f.Fuzz(func(t *testing.T, host string) {
		k, slug := h.Classify(host)
		if k != tenancy.Tenant {
			if slug != "" {
				t.Fatalf("kind %v with slug %q", k, slug)
			}
			return
		}
		if len(slug) < 3 || len(slug) > 32 || strings.ContainsAny(slug, ".:/ ") || slug != strings.ToLower(slug) {
			t.Fatalf("Classify(%q) gave bad slug %q", host, slug)
		}
	})
}
