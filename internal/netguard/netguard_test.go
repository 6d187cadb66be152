package netguard_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/netguard"
)

// fakeDNS answers A and AAAA queries from a table, over the in-memory
// stream connection Go's resolver uses when Dial returns a non-packet conn.
// answers[name] is a list of answer sets; each query of the name takes the
// next set (the last repeats), which is how a rebinding server behaves.
type fakeDNS struct {
	mu      sync.Mutex
	answers map[string][][]netip.Addr
	asked   map[string]int
}

func (f *fakeDNS) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		client, server := net.Pipe()
		go f.serve(server)
		return client, nil
	}}
}

func (f *fakeDNS) serve(c net.Conn) {
	defer c.Close()
	for {
		var n uint16
		if err := binary.Read(c, binary.BigEndian, &n); err != nil {
			return
		}
		q := make([]byte, n)
		if _, err := io.ReadFull(c, q); err != nil {
			return
		}
		resp := f.answer(q)
		out := binary.BigEndian.AppendUint16(nil, uint16(len(resp)))
		if _, err := c.Write(append(out, resp...)); err != nil {
			return
		}
	}
}

func (f *fakeDNS) answer(q []byte) []byte {
	// Question: labels from byte 12, then QTYPE and QCLASS.
	i, labels := 12, []string{}
	for q[i] != 0 {
		l := int(q[i])
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	qend := i + 5
	qtype := binary.BigEndian.Uint16(q[i+1:])
	name := strings.ToLower(strings.Join(labels, "."))
	f.mu.Lock()
	sets := f.answers[name]
	var set []netip.Addr
	if len(sets) > 0 {
		k := f.asked[name+string(rune(qtype))]
		set = sets[min(k, len(sets)-1)]
		f.asked[name+string(rune(qtype))]++
	}
	f.mu.Unlock()
	var rrs [][]byte
	for _, a := range set {
		if (qtype == 1) != a.Is4() {
			continue
		}
		rr := []byte{0xc0, 0x0c}
		rr = binary.BigEndian.AppendUint16(rr, qtype)
		rr = binary.BigEndian.AppendUint16(rr, 1)
		rr = binary.BigEndian.AppendUint32(rr, 0)
		b := a.AsSlice()
		rr = binary.BigEndian.AppendUint16(rr, uint16(len(b)))
		rrs = append(rrs, append(rr, b...))
	}
	rcode := uint16(0)
	if sets == nil {
		rcode = 3 // NXDOMAIN
	}
	h := append([]byte{}, q[:2]...)
	h = binary.BigEndian.AppendUint16(h, 0x8180|rcode)
	h = binary.BigEndian.AppendUint16(h, 1)
	h = binary.BigEndian.AppendUint16(h, uint16(len(rrs)))
	h = binary.BigEndian.AppendUint32(h, 0)
	out := append(h, q[12:qend]...)
	for _, rr := range rrs {
		out = append(out, rr...)
	}
	return out
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func newDNS() *fakeDNS {
	return &fakeDNS{asked: map[string]int{}, answers: map[string][][]netip.Addr{
		"loopback.test":   {addrs("127.0.0.1")},
		"metadata.test":   {addrs("169.254.169.254")},
		"vpc.test":        {addrs("10.0.11.7")},
		"v6loop.test":     {addrs("::1")},
		"mixed.test":      {addrs("93.184.216.34", "10.1.2.3")},
		"public.test":     {addrs("93.184.216.34", "2606:2800:220:1::1")},
		"rebind.test":     {addrs("93.184.216.34"), addrs("127.0.0.1")},
		"ula.test":        {addrs("fd00:ec2::254")},
		"mapped.test":     {addrs("::ffff:169.254.169.254")},
		"nat64.test":      {addrs("64:ff9b::a00:1")},
		"private172.test": {addrs("172.20.1.1")},
	}}
}

// TestCheckURLRefusesInternalTargets: webhook URLs to loopback, the
// metadata service, the VPC and IPv6 loopback are refused, whether written
// as addresses or as names that resolve to them.
func TestCheckURLRefusesInternalTargets(t *testing.T) {
	g := &netguard.Guard{Resolver: newDNS().resolver()}
	ctx := context.Background()
	for _, u := range []string{
		"http://127.0.0.1/hook", "http://127.1.2.3:8080/", "https://169.254.169.254/latest/meta-data/",
		"http://169.254.170.2/v2/credentials", "http://10.0.0.1/", "http://10.255.255.255:443/", "http://172.16.0.1/",
		"http://192.168.1.1/", "http://[::1]/", "http://[::1]:9000/x", "http://[::ffff:127.0.0.1]/", "http://[fe80::1]/",
		"http://[fd00:ec2::254]/", "http://0.0.0.0/", "http://100.64.0.1/", "http://2130706433/", "http://0x7f000001/",
		"http://017700000001/", "http://127.1/", "http://localhost/", "http://api.localhost:8000/",
		"http://loopback.test/", "https://metadata.test/latest/", "http://vpc.test/", "http://v6loop.test/",
		"http://mixed.test/", "http://ula.test/", "http://mapped.test/", "http://nat64.test/", "http://private172.test/",
		"ftp://public.test/", "file:///etc/passwd", "gopher://public.test/", "http://user:pw@public.test/", "http:///nohost",
		"http://nxdomain.test/",
	} {
		if _, err := g.CheckURL(ctx, u); !errors.Is(err, netguard.ErrBlocked) {
			t.Errorf("%s: got %v, want a refusal", u, err)
		}
	}
	for _, u := range []string{"https://public.test/hook", "http://93.184.216.34:8443/x", "https://[2606:2800:220:1::1]/"} {
		if _, err := g.CheckURL(ctx, u); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
}

// TestDialRefusesAtConnectTime: the guarded client refuses loopback at the
// moment of connecting, including after DNS rebinding (the name passes
// CheckURL as a public address, then resolves to 127.0.0.1 when dialled),
// and a real server on loopback never sees a request.
func TestDialRefusesAtConnectTime(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	dns := newDNS()
	g := &netguard.Guard{Resolver: dns.resolver()}
	ctx := context.Background()

	// Rebinding: the first lookup (the check) sees a public address...
	if _, err := g.CheckURL(ctx, "http://rebind.test:"+port+"/"); err != nil {
		t.Fatalf("first lookup of rebind.test should look public: %v", err)
	}
	// ...the second (the dial) gets loopback, and the dial hook refuses it.
	c := g.Client(5 * time.Second)
	for _, u := range []string{
		"http://rebind.test:" + port + "/",
		"http://loopback.test:" + port + "/",
		srv.URL + "/",
		"http://[::ffff:127.0.0.1]:" + port + "/",
	} {
		res, err := c.Get(u)
		if err == nil {
			res.Body.Close()
			t.Errorf("%s: request went through (%s)", u, res.Status)
			continue
		}
		if !errors.Is(err, netguard.ErrBlocked) {
			t.Errorf("%s: got %v, want ErrBlocked", u, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback server received %d requests", n)
	}

	// An explicit allowance (dev and tests) lets loopback through.
	dev := &netguard.Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	res, err := dev.Client(5 * time.Second).Get(srv.URL)
	if err != nil {
		t.Fatalf("allowed loopback: %v", err)
	}
	res.Body.Close()
	if hits.Load() != 1 {
		t.Fatal("allowed request did not arrive")
	}
}

// TestRedirectToInternalRefused: a public-looking hook that redirects to
// the metadata service is stopped at the redirect.
func TestRedirectToInternalRefused(t *testing.T) {
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	}))
	defer redirector.Close()
	// The redirector itself is on loopback, so allow exactly its address.
	ap := netip.MustParseAddrPort(redirector.Listener.Addr().String())
	g := &netguard.Guard{Allow: []netip.Prefix{netip.PrefixFrom(ap.Addr(), 32)}}
	_, err := g.Client(5 * time.Second).Get(redirector.URL)
	if !errors.Is(err, netguard.ErrBlocked) {
		t.Fatalf("redirect to the metadata service: got %v", err)
	}
}
