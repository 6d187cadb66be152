package httpx

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies is what the API knows about the proxies in front of it: its own
// (the load balancers and the BFF tasks, Trusted) and a CDN's edges in
// front of those (CDN, for example Cloudflare's published ranges), which
// put the client's address in their own header (Header, for example
// CF-Connecting-IP).
type Proxies struct {
	Trusted []netip.Prefix
	CDN     []netip.Prefix
	Header  string
}

// ClientIP returns the caller's address. X-Forwarded-For is believed only
// when the socket peer is a trusted proxy, and then only up to the first
// hop that is not trusted: entries further left could be forged by the client.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	return Proxies{Trusted: trusted}.ClientIP(r)
}

// ClientIP returns the caller's address. The chain of proxies is walked
// from the socket peer leftwards through X-Forwarded-For while each hop is
// a trusted proxy or a CDN edge. The first hop reached that is a CDN edge
// (the one that connected to the load balancer) answers with its client-IP
// header when that holds exactly one address: only a CDN edge sets that
// header, so it is never believed from a client that reached the load
// balancer directly, nor when any hop between the CDN and here is
// untrusted. Otherwise the walk goes on as for X-Forwarded-For alone: the
// first untrusted hop is the client.
func (p Proxies) ClientIP(r *http.Request) netip.Addr {
	ip := remoteAddr(r)
	if !p.trusted(ip) {
		return ip
	}
	if a, ok := p.fromCDN(r, ip); ok {
		return a
	}
	hops := r.Header.Values("X-Forwarded-For")
	var all []string
	for _, h := range hops {
		all = append(all, strings.Split(h, ",")...)
	}
	for i := len(all) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(all[i]))
		if err != nil {
			// A garbled entry ends the chain we can believe.
			return ip
		}
		ip = a.Unmap()
		if !p.trusted(ip) {
			return ip
		}
		if a, ok := p.fromCDN(r, ip); ok {
			return a
		}
	}
	return ip
}

// fromCDN is the address in the CDN's client-IP header when hop (reached
// through trusted proxies only) is a CDN edge and the header holds exactly
// one address without a zone.
func (p Proxies) fromCDN(r *http.Request, hop netip.Addr) (netip.Addr, bool) {
	if p.Header == "" || !contains(p.CDN, hop) {
		return netip.Addr{}, false
	}
	vs := r.Header.Values(p.Header)
	if len(vs) != 1 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(strings.TrimSpace(vs[0]))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func (p Proxies) trusted(a netip.Addr) bool {
	return contains(p.Trusted, a) || contains(p.CDN, a)
}

// FromTrustedProxy reports whether the socket peer is a trusted proxy, so
// its X-Forwarded-Host may be believed.
func FromTrustedProxy(r *http.Request, trusted []netip.Prefix) bool {
	return contains(trusted, remoteAddr(r))
}

func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.IPv4Unspecified()
	}
	return a.Unmap()
}

func contains(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
