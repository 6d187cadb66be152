package tenancy_test

import (
	"strconv"
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
		// A port is digits in 1–65535 and nothing else (issue 14, item 9):
		// net.SplitHostPort takes any text after the last colon as a port.
		{"acme.palisade.example.com:3000.evil.example", tenancy.Unknown, ""},
		{"acme.palisade.example.com:evil", tenancy.Unknown, ""},
		{"acme.palisade.example.com:", tenancy.Unknown, ""},
		{"acme.palisade.example.com:0", tenancy.Unknown, ""},
		{"acme.palisade.example.com:65536", tenancy.Unknown, ""},
		{"acme.palisade.example.com:123456", tenancy.Unknown, ""},
		{"acme.palisade.example.com:+443", tenancy.Unknown, ""},
		{"acme.palisade.example.com:-1", tenancy.Unknown, ""},
		{"acme.palisade.example.com:443:443", tenancy.Unknown, ""},
		{"acme.palisade.example.com:65535", tenancy.Tenant, "acme"},
		{"acme.palisade.example.com:1", tenancy.Tenant, "acme"},
		{"admin.palisade.example.com:8443x", tenancy.Unknown, ""},
		{"palisade.example.com:x", tenancy.Unknown, ""},
		{":443", tenancy.Unknown, ""},
		// IPv6 literals are never one of our sites, with or without a port,
		// and malformed brackets are refused outright.
		{"[::1]", tenancy.Unknown, ""},
		{"[::1]:443", tenancy.Unknown, ""},
		{"[::1]:evil", tenancy.Unknown, ""},
		{"[acme.palisade.example.com]", tenancy.Unknown, ""},
		{"[acme.palisade.example.com]:443", tenancy.Unknown, ""},
		{"[::1", tenancy.Unknown, ""},
		{"::1", tenancy.Unknown, ""},
		{"acme.palisade.example.com]:443", tenancy.Unknown, ""},
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
	for _, s := range []string{"acme.localhost:3000", "admin.localhost", "localhost", "x.y.localhost", "[::1]:80", "acme.localhost.", "%00.localhost",
		"acme.localhost:3000.evil.example", "acme.localhost:evil", "acme.localhost:99999", "[::1]", "[fe80::1%25eth0]:80", "acme.localhost]:80"} {
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
		// Whatever follows the name is nothing or ":" and a port in range.
		if name, port, found := strings.Cut(host, ":"); found {
			n, err := strconv.Atoi(port)
			if err != nil || n < 1 || n > 65535 || strings.ContainsAny(port, "+-") || strings.Contains(name, "]") {
				t.Fatalf("Classify(%q) = tenant %q with port %q", host, slug, port)
			}
		}
	})
}
