// Package netguard keeps requests that Palisade makes on a tenant's behalf
// (webhooks, URL previews, anything whose address a tenant chooses) away
// from the platform's own network: loopback, the VPC's private ranges, the
// link-local metadata service and the like.
//
// Two checks work together. CheckURL refuses a bad URL early with a clear
// message for the user. The dialer's Control hook then checks the address
// actually being connected to, after DNS resolution, for every connection
// including redirects; that defeats DNS rebinding, where a name resolves to
// a public address when checked and to a private one when used.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrBlocked is wrapped by every refusal.
var ErrBlocked = errors.New("address not allowed")

// blocked lists every range a tenant-chosen URL must never reach. IPv4-
// mapped IPv6 addresses are unmapped before the check, so ::ffff:127.0.0.1
// is caught as loopback.
var blocked = mustPrefixes(
	"0.0.0.0/8",       // "this network"; 0.0.0.0 reaches the local host
	"10.0.0.0/8",      // private (the VPC is 10.0.0.0/16)
	"100.64.0.0/10",   // carrier-grade NAT
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local, including 169.254.169.254 (instance metadata) and 169.254.170.2 (ECS task metadata)
	"172.16.0.0/12",   // private
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // documentation
	"192.88.99.0/24",  // 6to4 relay anycast
	"192.168.0.0/16",  // private
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // documentation
	"203.0.113.0/24",  // documentation
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, and 255.255.255.255 broadcast
	"::/128",          // unspecified
	"::1/128",         // loopback
	"64:ff9b::/96",    // NAT64: would reach any IPv4 address, private ones included
	"64:ff9b:1::/48",  // local-use NAT64
	"100::/64",        // discard
	"2001::/32",       // Teredo
	"2001:db8::/32",   // documentation
	"2002::/16",       // 6to4: embeds an IPv4 address
	"fc00::/7",        // unique local, including fd00:ec2::254 (the IPv6 metadata service)
	"fe80::/10",       // link-local
	"ff00::/8",        // multicast
)

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// Guard checks URLs and addresses. The zero value blocks every range above
// and resolves names with the system resolver.
type Guard struct {
	// Allow exempts ranges from the block list; dev and tests use it for a
	// receiver on loopback. Production leaves it empty.
	Allow []netip.Prefix
	// Resolver resolves names for CheckURL and the dialer; nil means the
	// system resolver.
	Resolver *net.Resolver
	// Ports, when not empty, are the only ports a URL may name (besides the
	// scheme's default).
	Ports []int
}

// CheckAddr reports whether a may be connected to.
func (g *Guard) CheckAddr(a netip.Addr) error {
	a = a.Unmap()
	for _, p := range g.Allow {
		if p.Contains(a) {
			return nil
		}
	}
	if !a.IsValid() {
		return fmt.Errorf("%w: invalid address", ErrBlocked)
	}
	for _, p := range blocked {
		if p.Contains(a) {
			return fmt.Errorf("%w: %s is in %s, a private, loopback, link-local or reserved range", ErrBlocked, a, p)
		}
	}
	return nil
}

// CheckURL validates a URL a tenant gave: http or https only, no embedded
// credentials, a host name or public address, an allowed port, and every
// address the name resolves to public. The error message is fit for the
// user. The connect-time check still applies afterwards.
func (g *Guard) CheckURL(ctx context.Context, raw string) (*url.URL, error) {
	if len(raw) > 2048 {
		return nil, fmt.Errorf("%w: the URL is longer than 2048 characters", ErrBlocked)
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: not a URL", ErrBlocked)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("%w: the URL must start with https:// or http://", ErrBlocked)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: the URL must not contain a user name or password", ErrBlocked)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("%w: the URL has no host", ErrBlocked)
	}
	if p := u.Port(); p != "" && len(g.Ports) > 0 {
		ok := false
		for _, allowed := range g.Ports {
			if p == fmt.Sprint(allowed) {
				ok = true
			}
		}
		if !ok {
			return nil, fmt.Errorf("%w: port %s is not allowed", ErrBlocked, p)
		}
	}
	// A literal address, in any spelling net/netip accepts, is checked as is.
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return u, g.CheckAddr(a)
	}
	// Decimal, octal and hex forms of IPv4 (http://2130706433/) are refused
	// outright: resolvers and libraries disagree on what they mean.
	if strings.Trim(host, "0123456789.x") == "" || strings.HasPrefix(host, "0x") {
		return nil, fmt.Errorf("%w: numeric host %q is not a normal address", ErrBlocked, host)
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return nil, fmt.Errorf("%w: %s is this machine", ErrBlocked, host)
	}
	addrs, err := g.resolver().LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("%w: %s does not resolve", ErrBlocked, host)
	}
	for _, a := range addrs {
		if err := g.CheckAddr(a); err != nil {
			return nil, fmt.Errorf("%s resolves to a blocked address: %w", host, err)
		}
	}
	return u, nil
}

func (g *Guard) resolver() *net.Resolver {
	if g.Resolver != nil {
		return g.Resolver
	}
	return net.DefaultResolver
}

// Control is a net.Dialer Control hook: it runs after the name is resolved
// and before connect(2), with the exact address about to be used.
func (g *Guard) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrBlocked, address)
	}
	return g.CheckAddr(ap.Addr())
}

// Dialer returns a dialer that refuses blocked addresses at connect time.
func (g *Guard) Dialer() *net.Dialer {
	return &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Resolver: g.Resolver, Control: g.Control}
}

// Client returns an HTTP client for tenant-chosen URLs: guarded dialer,
// no proxy from the environment (a proxy would connect on our behalf,
// out of the hook's sight), bounded timeouts, and redirects re-checked and
// limited to five.
func (g *Guard) Client(timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           g.Dialer().DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          50,
		IdleConnTimeout:       60 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("stopped after 5 redirects")
			}
			_, err := g.CheckURL(req.Context(), req.URL.String())
			return err
		},
	}
}
