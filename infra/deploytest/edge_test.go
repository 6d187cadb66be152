package deploytest

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/httpx"
)

// TestClientIPBehindCloudflare (issue 16, item 1) reads the API's client
// address the way the booted api does (internal/app: PALISADE_TRUSTED_PROXIES,
// PALISADE_CDN_PROXIES and PALISADE_CLIENT_IP_HEADER through config.Load
// into httpx.Proxies), from exactly the environment of production's api
// task definition, for the request chain production has: browser →
// Cloudflare edge → public ALB (public subnets) → tenant or hq task
// (private subnets) → internal ALB (private subnets) → api. The user is
// CF-Connecting-IP when the hop before the public ALB is Cloudflare, and a
// client that reached the ALB some other way cannot name itself.
func TestClientIPBehindCloudflare(t *testing.T) {
	m := loadModel(t)
	network, err := m.child("network")
	if err != nil {
		t.Fatal(err)
	}
	subnet := func(output string) netip.Prefix {
		t.Helper()
		v, err := network.Output(output)
		if err != nil {
			t.Fatal(err)
		}
		list := strs(v)
		if len(list) == 0 {
			t.Fatalf("network output %s is empty", output)
		}
		p, err := netip.ParsePrefix(list[0])
		if err != nil {
			t.Fatalf("network output %s: %v", output, err)
		}
		return p
	}
	host := func(p netip.Prefix, n int) string {
		a := p.Addr()
		for range n {
			a = a.Next()
		}
		return a.String()
	}
	public, private := subnet("public_subnet_cidrs"), subnet("private_subnet_cidrs")
	publicALB, webTask, internalALB := host(public, 10), host(private, 20), host(private, 30)

	api, ok := m.containers["api"]
	if !ok {
		t.Fatal("no api task definition")
	}
	for _, svc := range []string{"tenant", "hq"} {
		if got := m.containers[svc].env["PALISADE_CLIENT_IP_HEADER"]; got != api.env["PALISADE_CLIENT_IP_HEADER"] || got == "" {
			t.Errorf("%s passes %q on to the API, which reads %q", svc, got, api.env["PALISADE_CLIENT_IP_HEADER"])
		}
	}
	for _, svc := range []string{"worker", "scheduler", "realtime"} {
		for _, v := range []string{"PALISADE_CLIENT_IP_HEADER", "PALISADE_CDN_PROXIES"} {
			if _, ok := m.containers[svc].env[v]; ok {
				t.Errorf("%s gets %s, which it does not read", svc, v)
			}
		}
	}
	for _, v := range []string{"PALISADE_CLIENT_IP_HEADER", "PALISADE_CDN_PROXIES", "PALISADE_TRUSTED_PROXIES"} {
		if !slices.ContainsFunc(config.RoleVariables("api"), func(x config.Variable) bool { return x.Name == v }) {
			t.Errorf("the api role does not read %s, which Terraform sets", v)
		}
	}
	cfg, err := config.Load(context.Background(), func(k string) string { return api.env[k] }, nil, nil)
	if err != nil {
		t.Fatalf("the api task definition's environment does not load: %v", err)
	}
	if cfg.ClientIPHeader != "CF-Connecting-IP" {
		t.Fatalf("PALISADE_CLIENT_IP_HEADER = %q, want CF-Connecting-IP", cfg.ClientIPHeader)
	}
	if err := config.CheckRequired("api", cfg, func(k string) string {
		if v, ok := api.env[k]; ok {
			return v
		}
		if _, ok := api.secrets[k]; ok {
			return "from Secrets Manager"
		}
		return ""
	}); err != nil {
		t.Errorf("api: %v", err)
	}
	trusted, err := config.ParseCIDRs(cfg.TrustedProxies)
	if err != nil {
		t.Fatal(err)
	}
	cdn, err := config.ParseCIDRs(cfg.CDNProxies)
	if err != nil {
		t.Fatal(err)
	}
	proxies := httpx.Proxies{Trusted: trusted, CDN: cdn, Header: cfg.ClientIPHeader}

	cases := []struct {
		name, edge, cf, want string
	}{
		{"through a Cloudflare IPv4 edge", "173.245.48.9", "203.0.113.7", "203.0.113.7"},
		{"through a Cloudflare IPv6 edge", "2606:4700:10::6816:1", "2001:db8::7", "2001:db8::7"},
		{"straight to the ALB: the header is not believed", "198.51.100.9", "203.0.113.7", "198.51.100.9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/api/auth/login", nil)
			r.RemoteAddr = internalALB + ":41000"
			// What the client sent, the public ALB's append (the edge), the
			// BFF's append (the public ALB node), the internal ALB's (the task).
			r.Header.Set("X-Forwarded-For", strings.Join([]string{"6.6.6.6", c.edge, publicALB, webTask}, ", "))
			r.Header.Set(cfg.ClientIPHeader, c.cf)
			if got := proxies.ClientIP(r).String(); got != c.want {
				t.Fatalf("client = %s, want %s (trusted %v, CDN %d ranges)", got, c.want, trusted, len(cdn))
			}
		})
	}
}
