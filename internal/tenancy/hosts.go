// Package tenancy maps request hosts to Palisade's sites, mirroring the
// public ALB's host rules: admin.<base> is HQ, <slug>.<base> is a tenant,
// the bare base (or www) is the sign-up site.
package tenancy

import (
	"net"
	"net/url"
	"strings"

	"github.com/palisade-hq/palisade/internal/core"
)

// Kind is the site a host belongs to.
type Kind int

const (
	Unknown Kind = iota
	Apex
	Admin
	Tenant
	Realtime
)

// Hosts knows the base domain.
type Hosts struct {
	Scheme string // http or https
	Base   string // host name, e.g. palisade.example.com or localhost
	Port   string // public port, "" for the scheme's default
}

// FromBaseURL builds Hosts from PALISADE_BASE_URL (already validated).
func FromBaseURL(base string) Hosts {
	u, _ := url.Parse(base)
	// A fully qualified "palisade.example.com." names the same domain; Host
	// headers are compared without the trailing dot, so the base must be too.
	return Hosts{Scheme: u.Scheme, Base: strings.TrimSuffix(strings.ToLower(u.Hostname()), "."), Port: u.Port()}
}

// Classify resolves a Host header. Anything that is not exactly the base,
// admin, wss or one well-formed label under the base is Unknown.
func (h Hosts) Classify(host string) (Kind, string) {
	if len(host) > 255 {
		return Unknown, ""
	}
	name := host
	if hst, _, err := net.SplitHostPort(host); err == nil {
		name = hst
	}
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if name == h.Base || name == "www."+h.Base {
		return Apex, ""
	}
	label, ok := strings.CutSuffix(name, "."+h.Base)
	if !ok || label == "" || strings.Contains(label, ".") {
		return Unknown, ""
	}
	switch label {
	case "admin":
		return Admin, ""
	case "wss":
		return Realtime, ""
	}
	if core.ValidateSlug(label) != nil {
		return Unknown, ""
	}
	return Tenant, label
}

func (h Hosts) origin(host string) string {
	if h.Port != "" {
		host = net.JoinHostPort(host, h.Port)
	}
	return h.Scheme + "://" + host
}

// TenantURL is a tenant's origin, e.g. https://acme.palisade.example.com.
func (h Hosts) TenantURL(slug string) string { return h.origin(slug + "." + h.Base) }

// AdminURL is HQ's origin.
func (h Hosts) AdminURL() string { return h.origin("admin." + h.Base) }

// ApexURL is the sign-up site's origin.
func (h Hosts) ApexURL() string { return h.origin(h.Base) }

// RealtimeURL is the WebSocket origin the browser connects to.
func (h Hosts) RealtimeURL() string { return h.origin("wss." + h.Base) }

// TenantWildcard is the CSP source matching every tenant origin.
func (h Hosts) TenantWildcard() string { return h.origin("*." + h.Base) }
