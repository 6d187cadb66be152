package httpx_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
)

// fuzzRequest has the shapes API request bodies use: strings, numbers,
// booleans, lists, a nested object and an optional pointer.
type fuzzRequest struct {
	Name        string            `json:"name"`
	Size        int64             `json:"size"`
	ContentType string            `json:"content_type"`
	Admin       bool              `json:"admin"`
	Roles       []string          `json:"roles"`
	Meta        map[string]string `json:"meta"`
	Inner       *struct {
		N int `json:"n"`
	} `json:"inner"`
}

// knownField reports whether encoding/json maps key to a field of
// fuzzRequest (it matches names case-insensitively).
func knownField(key string) bool {
	t := reflect.TypeFor[fuzzRequest]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if strings.EqualFold(name, key) {
			return true
		}
	}
	return false
}

func decode(body []byte, contentType string) (fuzzRequest, error) {
	r := httptest.NewRequest(http.MethodPost, "/api/x", bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	var dst fuzzRequest
	err := httpx.DecodeJSON(httptest.NewRecorder(), r, &dst)
	return dst, err
}

// FuzzDecodeJSON: the API's one JSON body reader. Every refusal is a
// validation error (a 422 with a message, never a 500); everything accepted
// is one JSON value of at most MaxJSONBody bytes, with no unknown field and
// nothing after it, sent as JSON, and it survives a re-encode unchanged.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []struct{ body, ct string }{
		{`{"name":"q3.pdf","size":123,"content_type":"application/pdf"}`, "application/json"},
		{`{"name":"q3.pdf","size":123}`, "application/json; charset=utf-8"},
		{`{"name":"a","roles":["owner","admin"],"meta":{"k":"v"},"inner":{"n":1},"admin":true}`, ""},
		{`{"NAME":"case"}`, "application/json"},
		{`{"name":"a","bogus":1}`, "application/json"},
		{`{"name":"a"} {"name":"b"}`, "application/json"},
		{`{"name":"a"} x`, "application/json"},
		{`{"name":"a"}` + "\n\t ", "application/json"},
		{`{"size":"12"}`, "application/json"},
		{`{"size":1e400}`, "application/json"},
		{`{"size":9223372036854775808}`, "application/json"},
		{`{"inner":{"n":1.5}}`, "application/json"},
		{`{"name":"\ud800"}`, "application/json"},
		{`{"name":"a"`, "application/json"},
		{`[]`, "application/json"},
		{`null`, "application/json"},
		{``, "application/json"},
		{`{"name":"a"}`, "text/plain"},
		{`{"name":"a"}`, "application/json; charset"},
		{`{"name":"` + strings.Repeat("a", httpx.MaxJSONBody) + `"}`, "application/json"},
	} {
		f.Add([]byte(s.body), s.ct)
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		dst, err := decode(body, contentType)
		if err != nil {
			var ce *core.Error
			if !errors.As(err, &ce) || ce.Kind != core.KindInvalid || ce.Message == "" {
				t.Fatalf("DecodeJSON(%q, %q) = %#v, want a validation error with a message", body, contentType, err)
			}
			if httpx.StatusOf(ce.Kind) >= 500 {
				t.Fatalf("DecodeJSON(%q) maps to status %d", body, httpx.StatusOf(ce.Kind))
			}
			return
		}
		if len(body) > httpx.MaxJSONBody {
			t.Fatalf("accepted a %d-byte body, over the %d limit", len(body), httpx.MaxJSONBody)
		}
		if contentType != "" {
			if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/json" {
				t.Fatalf("accepted Content-Type %q", contentType)
			}
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal(body, &top); err != nil {
			if trimmed := bytes.TrimSpace(body); string(trimmed) != "null" {
				t.Fatalf("accepted %q, which is not one JSON object: %v", body, err)
			}
		}
		for k := range top {
			if !knownField(k) {
				t.Fatalf("accepted unknown field %q in %q", k, body)
			}
		}
		// Round trip: what was decoded re-encodes and decodes to the same.
		again, err := json.Marshal(dst)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", dst, err)
		}
		dst2, err := decode(again, "application/json")
		if err != nil || !reflect.DeepEqual(dst, dst2) {
			t.Fatalf("round trip of %q: %s -> %+v, %v; want %+v", body, again, dst2, err, dst)
		}
	})
}

// peerOf is the socket address as ClientIP must read it.
func peerOf(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.IPv4Unspecified()
	}
	return a.Unmap()
}

func trustedBy(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// FuzzClientIP: the X-Forwarded-For walk behind trusted proxies. The
// answer is the socket peer unless the peer is trusted; otherwise it is the
// peer or one hop of the header, every hop to its right is a well-formed
// trusted proxy, and it is itself untrusted unless nothing further left
// could be believed. A client can therefore only ever choose what appears
// left of the first untrusted hop, which is never returned.
func FuzzClientIP(f *testing.F) {
	for _, s := range [][4]string{
		{"203.0.113.5:4000", "1.2.3.4", "", "10.0.0.0/16"},
		{"10.0.11.7:4000", "6.6.6.6, 198.51.100.9, 10.0.1.20", "", "10.0.0.0/16"},
		{"10.0.11.7:4000", "10.0.1.20", "", "10.0.0.0/16"},
		{"10.0.11.7:4000", "nonsense, 10.0.1.1", "", "10.0.0.0/16"},
		{"10.0.11.7:4000", "198.51.100.9", "10.0.3.3", "10.0.0.0/16,fd00::/8"},
		{"[::ffff:10.0.11.7]:4000", "::ffff:198.51.100.9", "", "10.0.0.0/16"},
		{"[fd00::1]:80", "2001:db8::1, fd00::2", "fe80::1%eth0", "fd00::/8"},
		{"garbage", "1.1.1.1", "", "0.0.0.0/0"},
		{"127.0.0.1", ",,,", " , ", "127.0.0.1"},
		{"10.0.0.1:1", "", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, remote, xff1, xff2, cidrs string) {
		trusted, err := config.ParseCIDRs(cidrs)
		if err != nil {
			return
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		var hops []string
		for _, h := range []string{xff1, xff2} {
			if h != "" {
				r.Header.Add("X-Forwarded-For", h)
				hops = append(hops, strings.Split(h, ",")...)
			}
		}
		peer := peerOf(remote)
		got := httpx.ClientIP(r, trusted)
		if !got.IsValid() || got.Is4In6() {
			t.Fatalf("ClientIP = %v, not a valid unmapped address", got)
		}
		fromProxy := httpx.FromTrustedProxy(r, trusted)
		if fromProxy != trustedBy(peer, trusted) {
			t.Fatalf("FromTrustedProxy(%q) = %v, peer %v trusted = %v", remote, fromProxy, peer, !fromProxy)
		}
		if !fromProxy {
			if got != peer {
				t.Fatalf("untrusted peer %v, but ClientIP = %v from X-Forwarded-For %q", peer, got, hops)
			}
			return
		}
		// Find the hop the answer came from: the rightmost match left of
		// which nothing has been believed. i == len(hops) is the peer.
		i := len(hops)
		for ; i > 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i-1]))
			if err != nil || !trustedBy(a.Unmap(), trusted) {
				break
			}
		}
		// hops[i:] are all trusted proxies; hops[i-1] (if any) is the
		// first hop that is either garbled or untrusted.
		want := peer
		if i < len(hops) {
			a, _ := netip.ParseAddr(strings.TrimSpace(hops[i]))
			want = a.Unmap()
		}
		if i > 0 {
			if a, err := netip.ParseAddr(strings.TrimSpace(hops[i-1])); err == nil {
				want = a.Unmap() // the first untrusted hop is the client
			}
		}
		if got != want {
			t.Fatalf("peer %v, X-Forwarded-For %q, trusted %v: ClientIP = %v, want %v", peer, hops, trusted, got, want)
		}
		if trustedBy(got, trusted) {
			// Only when the whole believable chain is trusted proxies:
			// the header ran out or the next hop left is garbled.
			if i > 0 {
				if _, err := netip.ParseAddr(strings.TrimSpace(hops[i-1])); err == nil {
					t.Fatalf("ClientIP = trusted %v although hop %q left of it parses", got, hops[i-1])
				}
			}
		}
	})
}

// FuzzCDNClientIP: the CDN's client-IP header behind trusted proxies. The
// header is the answer exactly when walking from the socket peer leftwards
// through well-formed trusted or CDN hops reaches a CDN edge and the
// header is one address; in every other case the answer is the
// X-Forwarded-For walk with the CDN's ranges trusted like the rest, so a
// client that did not come through the CDN can never choose it.
func FuzzCDNClientIP(f *testing.F) {
	for _, s := range [][5]string{
		{"10.0.11.7:4000", "173.245.48.9", "203.0.113.7", "10.0.0.0/16", "173.245.48.0/20"},
		{"10.0.11.7:4000", "198.51.100.9", "203.0.113.7", "10.0.0.0/16", "173.245.48.0/20"},
		{"10.0.11.7:4000", "173.245.48.9, 198.51.100.9", "203.0.113.7", "10.0.0.0/16", "173.245.48.0/20"},
		{"173.245.48.9:443", "", "2001:db8::7", "10.0.0.0/16", "173.245.48.0/20,2400:cb00::/32"},
		{"203.0.113.5:4000", "173.245.48.9", "203.0.113.7", "10.0.0.0/16", "173.245.48.0/20"},
		{"10.0.11.7:4000", "garbage, 173.245.48.9", "fe80::1%eth0", "10.0.0.0/16", "173.245.48.0/20"},
		{"10.0.11.7:4000", "203.0.113.8, 173.245.48.9", "", "10.0.0.0/16", "173.245.48.0/20"},
		{"[::ffff:10.0.11.7]:1", "::ffff:173.245.48.9", "::ffff:203.0.113.7", "10.0.0.0/16", "173.245.48.0/20"},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	f.Fuzz(func(t *testing.T, remote, xff, cf, cidrs, cdnCIDRs string) {
		trusted, err := config.ParseCIDRs(cidrs)
		if err != nil {
			return
		}
		cdn, err := config.ParseCIDRs(cdnCIDRs)
		if err != nil {
			return
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		if cf != "" {
			r.Header.Set("CF-Connecting-IP", cf)
		}
		p := httpx.Proxies{Trusted: trusted, CDN: cdn, Header: "CF-Connecting-IP"}
		got := p.ClientIP(r)
		if !got.IsValid() || got.Is4In6() {
			t.Fatalf("ClientIP = %v, not a valid unmapped address", got)
		}
		all := append(append([]netip.Prefix(nil), trusted...), cdn...)
		plain := httpx.ClientIP(r, all)
		// Walk as the model: the peer, then the hops from the right, while
		// each is well-formed and trusted; stop at the first CDN edge.
		chain := []string{remote}
		if xff != "" {
			hops := strings.Split(xff, ",")
			for i := len(hops) - 1; i >= 0; i-- {
				chain = append(chain, hops[i])
			}
		}
		viaCDN := false
		for i, h := range chain {
			var a netip.Addr
			if i == 0 {
				a = peerOf(h)
			} else if a, err = netip.ParseAddr(strings.TrimSpace(h)); err != nil {
				break
			}
			a = a.Unmap()
			if !trustedBy(a, all) {
				break
			}
			if trustedBy(a, cdn) {
				viaCDN = true
				break
			}
		}
		want := plain
		if h, err := netip.ParseAddr(strings.TrimSpace(cf)); viaCDN && err == nil && h.Zone() == "" {
			want = h.Unmap()
		}
		if got != want {
			t.Fatalf("peer %q, X-Forwarded-For %q, CF-Connecting-IP %q, trusted %v, CDN %v: ClientIP = %v, want %v (through the CDN: %v)", remote, xff, cf, trusted, cdn, got, want, viaCDN)
		}
		if !trustedBy(peerOf(remote), all) && got != peerOf(remote) {
			t.Fatalf("untrusted peer %q, but ClientIP = %v", remote, got)
		}
	})
}
