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
