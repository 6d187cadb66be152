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
	name, ok := hostName(host)
	if !ok {
		return Unknown, ""
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

// hostName takes a Host header apart strictly: a name, or a bracketed IPv6
// literal, then optionally ":" and a port of digits in 1–65535. Anything
// else ("acme.localhost:3000.evil.example", "acme.localhost:evil", an
// unbracketed IPv6 address, a zone id) is not a host of ours: net's
// SplitHostPort takes any text after the last colon as the port.
func hostName(host string) (string, bool) {
	name, port := host, ""
	hasPort := false
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return "", false
		}
		name, port = host[1:end], host[end+1:]
		if ip := net.ParseIP(name); ip == nil || ip.To4() != nil && !strings.Contains(name, ":") {
			return "", false
		}
		if port != "" {
			if port[0] != ':' {
				return "", false
			}
			port, hasPort = port[1:], true
		}
	} else if i := strings.IndexByte(host, ':'); i >= 0 {
		name, port, hasPort = host[:i], host[i+1:], true
	}
	if hasPort && !validPort(port) {
		return "", false
	}
	return name, name != ""
}

// validPort is 1–5 ASCII digits naming a port from 1 to 65535.
func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	n := 0
	for _, c := range []byte(p) {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n >= 1 && n <= 65535
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
