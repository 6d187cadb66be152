package httpx_test

import (
	"net/http/httptest"
	"testing"

	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/httpx"
)

func TestClientIP(t *testing.T) {
	trusted, _ := config.ParseCIDRs("10.0.0.0/16")
	cases := []struct {
		name, peer, xff, want string
	}{
		{"untrusted peer's header is ignored", "203.0.113.5:4000", "1.2.3.4", "203.0.113.5"},
		{"trusted peer, one hop", "10.0.11.7:4000", "198.51.100.9", "198.51.100.9"},
		{"client-forged entries left of the first untrusted hop are ignored", "10.0.11.7:4000", "6.6.6.6, 198.51.100.9, 10.0.1.20", "198.51.100.9"},
		{"all hops trusted: leftmost", "10.0.11.7:4000", "10.0.1.20", "10.0.1.20"},
		{"garbage ends the chain", "10.0.11.7:4000", "nonsense", "10.0.11.7"},
		{"no header", "10.0.11.7:4000", "", "10.0.11.7"},
		{"ipv4-mapped peer", "[::ffff:10.0.11.7]:4000", "198.51.100.9", "198.51.100.9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.peer
			if c.xff != "" {
				r.Header.Set("X-Forwarded-For", c.xff)
			}
			if got := httpx.ClientIP(r, trusted).String(); got != c.want {
				t.Fatalf("got %s, want %s", got, c.want)
			}
		})
	}
}

// cloudflareTest is a slice of Cloudflare's published ranges, enough for
// the cases below (the deployed list is infra's cloudflare_ip_ranges).
const cloudflareTest = "173.245.48.0/20,103.21.244.0/22,2400:cb00::/32"

// TestClientIPBehindCDN: the CDN's client-IP header is believed only from
// a CDN edge that reached the API through trusted proxies alone.
func TestClientIPBehindCDN(t *testing.T) {
	trusted, _ := config.ParseCIDRs("10.0.0.0/16")
	cdn, _ := config.ParseCIDRs(cloudflareTest)
	p := httpx.Proxies{Trusted: trusted, CDN: cdn, Header: "CF-Connecting-IP"}
	cases := []struct {
		name, peer, xff string
		cf              []string
		want            string
	}{
		{"through the CDN and the load balancer", "10.0.11.7:4000", "173.245.48.9", []string{"203.0.113.7"}, "203.0.113.7"},
		{"through the CDN, the ALB and a BFF task", "10.0.2.5:4000", "6.6.6.6, 198.51.100.1, 173.245.48.9, 10.0.11.7", []string{"203.0.113.7"}, "203.0.113.7"},
		{"IPv6 client through an IPv6 edge", "10.0.11.7:4000", "2400:cb00:2049:1::a29f:1804", []string{"2001:db8::7"}, "2001:db8::7"},
		{"CDN edge is the peer itself", "173.245.48.9:443", "", []string{"203.0.113.7"}, "203.0.113.7"},
		{"direct to the load balancer: header not believed", "10.0.11.7:4000", "198.51.100.9", []string{"203.0.113.7"}, "198.51.100.9"},
		{"forged CDN hop left of the client: not believed", "10.0.11.7:4000", "173.245.48.9, 198.51.100.9", []string{"203.0.113.7"}, "198.51.100.9"},
		{"untrusted peer: header not believed", "198.51.100.9:4000", "173.245.48.9", []string{"203.0.113.7"}, "198.51.100.9"},
		{"edge peer, untrusted hop between", "10.0.11.7:4000", "173.245.48.9, 198.51.100.9, 10.0.1.1", []string{"203.0.113.7"}, "198.51.100.9"},
		{"header missing: the edge's X-Forwarded-For", "10.0.11.7:4000", "203.0.113.8, 173.245.48.9", nil, "203.0.113.8"},
		{"header garbled: the edge's X-Forwarded-For", "10.0.11.7:4000", "203.0.113.8, 173.245.48.9", []string{"not-an-ip"}, "203.0.113.8"},
		{"header twice: the edge's X-Forwarded-For", "10.0.11.7:4000", "203.0.113.8, 173.245.48.9", []string{"203.0.113.7", "198.51.100.1"}, "203.0.113.8"},
		{"header with a zone: not believed", "10.0.11.7:4000", "203.0.113.8, 173.245.48.9", []string{"fe80::1%eth0"}, "203.0.113.8"},
		{"ipv4-mapped header value", "10.0.11.7:4000", "173.245.48.9", []string{"::ffff:203.0.113.7"}, "203.0.113.7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.peer
			if c.xff != "" {
				r.Header.Set("X-Forwarded-For", c.xff)
			}
			for _, v := range c.cf {
				r.Header.Add("CF-Connecting-IP", v)
			}
			if got := p.ClientIP(r).String(); got != c.want {
				t.Fatalf("got %s, want %s", got, c.want)
			}
			// Without the header setting the CDN is a trusted proxy like any other.
			plain := httpx.Proxies{Trusted: trusted, CDN: cdn}
			if c.cf != nil && c.want == c.cf[0] && plain.ClientIP(r).String() == c.want {
				t.Fatalf("the answer does not depend on the header")
			}
		})
	}
}
