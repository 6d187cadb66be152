package deploytest

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/palisade-hq/palisade/infra/tfeval"
)

// sgRule is one aws_vpc_security_group_{ingress,egress}_rule.
type sgRule struct {
	addr       string
	group      string // "sg-api", "sg-internal-alb", ...
	egress     bool
	from, to   int64
	cidr       string
	peer       string // referenced security group
	prefixList string
	used       bool
}

// sgName names a security group instance the way the model's stand-ins do
// (module.alb.service_security_group_ids is mocked as sg-<service>).
// (module.alb.service_security_group_ids is mocked as sg-<service>,
// module.scanner.security_group_id as sg-scanner).
func sgName(mod, addr string, key cty.Value) string {
	name := strings.TrimPrefix(addr, "aws_security_group.")
	switch {
	case name == "service" && key != cty.NilVal:
		return "sg-" + key.AsString()
	case mod == "scanner" && name == "scan":
		return "sg-scanner"
	}
	return "sg-" + strings.ReplaceAll(name, "_", "-")
}

func groupOf(mod string, b tfeval.Block, attr string) string {
	if addr, key, _, ok := b.ResourceRef(attr); ok && strings.HasPrefix(addr, "aws_security_group.") {
		return sgName(mod, addr, key)
	}
	v, err := b.Attr(attr)
	if err != nil || v.IsNull() {
		return ""
	}
	return str(v)
}

func (m *model) securityGroupRules(t *testing.T) []*sgRule {
	t.Helper()
	var out []*sgRule
	for _, mod := range []string{"alb", "data", "network", "scanner"} {
		in, err := m.child(mod)
		if err != nil {
			t.Fatal(err)
		}
		for _, typ := range []string{"aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"} {
			for _, r := range in.Module.OfType(typ) {
				list, err := in.Instances(r)
				if err != nil {
					t.Fatal(err)
				}
				for _, ri := range list {
					b := ri.Body
					rule := &sgRule{addr: mod + "/" + r.Addr() + "[" + ri.KeyString() + "]", egress: strings.Contains(typ, "egress"),
						group: groupOf(mod, b, "security_group_id"), peer: groupOf(mod, b, "referenced_security_group_id")}
					num := func(attr string) int64 {
						v, err := b.Attr(attr)
						if err != nil || v.IsNull() || !v.IsKnown() {
							return -1
						}
						n, _ := v.AsBigFloat().Int64()
						return n
					}
					rule.from, rule.to = num("from_port"), num("to_port")
					if proto, _ := b.Attr("ip_protocol"); str(proto) == "-1" {
						rule.from, rule.to = 0, 65535
					}
					if v, _ := b.Attr("cidr_ipv4"); !v.IsNull() {
						rule.cidr = str(v)
					}
					if v, _ := b.Attr("prefix_list_id"); !v.IsNull() {
						rule.prefixList = "pl-s3"
					}
					out = append(out, rule)
				}
			}
		}
	}
	return out
}

// hop is one connection from a security group to a destination.
type hop struct {
	from string // security group
	port int64
	// exactly one of: a peer security group, or addresses (CIDR the
	// destination lives in), or the S3 prefix list
	to       string
	toCIDRs  []string
	toPrefix bool
}

func (h hop) String() string {
	switch {
	case h.to != "":
		return fmt.Sprintf("%s → %s:%d", h.from, h.to, h.port)
	case h.toPrefix:
		return fmt.Sprintf("%s → S3 prefix list:%d", h.from, h.port)
	}
	return fmt.Sprintf("%s → %v:%d", h.from, h.toCIDRs, h.port)
}

func cidrContains(outer, inner string) bool {
	_, o, err1 := net.ParseCIDR(outer)
	_, i, err2 := net.ParseCIDR(inner)
	if err1 != nil || err2 != nil {
		return false
	}
	ol, _ := o.Mask.Size()
	il, _ := i.Mask.Size()
	return ol <= il && o.Contains(i.IP)
}

// allowedBy returns the egress rules of h.from that let h out (one per
// destination range) and, for a security-group peer, the peer's ingress
// rule that admits it; nil when a part is missing.
func allowedBy(rules []*sgRule, h hop) (egress []*sgRule, ingress *sgRule) {
	inPorts := func(r *sgRule) bool { return r.from <= h.port && h.port <= r.to }
	find := func(match func(r *sgRule) bool) *sgRule {
		for _, r := range rules {
			if r.egress && r.group == h.from && inPorts(r) && match(r) {
				return r
			}
		}
		return nil
	}
	switch {
	case h.to != "":
		if r := find(func(r *sgRule) bool { return r.peer == h.to }); r != nil {
			egress = append(egress, r)
		}
	case h.toPrefix:
		if r := find(func(r *sgRule) bool { return r.prefixList != "" }); r != nil {
			egress = append(egress, r)
		}
	default:
		// Every destination range needs a rule (RDS and ElastiCache may
		// sit in either data subnet).
		for _, c := range h.toCIDRs {
			r := find(func(r *sgRule) bool { return r.cidr != "" && cidrContains(r.cidr, c) })
			if r == nil {
				return nil, nil
			}
			egress = append(egress, r)
		}
	}
	return egress, admits(rules, h.to, h.from, h.port)
}

// admits is the ingress rule of group that lets peer in on port.
func admits(rules []*sgRule, group, peer string, port int64) *sgRule {
	for _, r := range rules {
		if !r.egress && r.group == group && r.from <= port && port <= r.to && r.peer == peer {
			return r
		}
	}
	return nil
}

// TestNetworkPaths follows every connection each role's configuration
// makes to a security-group path in Terraform, and reports the rules no
// connection uses.
func TestNetworkPaths(t *testing.T) {
	m := loadModel(t)
	rules := m.securityGroupRules(t)
	netw, err := m.child("network")
	if err != nil {
		t.Fatal(err)
	}
	cidrs := func(output string) []string {
		v, err := netw.Output(output)
		if err != nil {
			t.Fatal(err)
		}
		return strs(v)
	}
	dataCIDRs := cidrs("data_subnet_cidrs")
	vpc, _ := netw.Output("vpc_cidr")

	check := func(svc, what string, hops ...hop) {
		t.Helper()
		for _, h := range hops {
			eg, in := allowedBy(rules, h)
			switch {
			case eg == nil:
				t.Errorf("%s: %s: no egress rule for %s", svc, what, h)
			case h.to != "" && in == nil:
				t.Errorf("%s: %s: %s leaves but %s admits no such ingress", svc, what, h, h.to)
			}
			for _, r := range eg {
				r.used = true
			}
			if in != nil {
				in.used = true
			}
		}
	}
	// A data store's own security group must admit the client too.
	admitted := func(svc, what, group string, port int64) {
		t.Helper()
		sg := "sg-" + svc
		if svc == "migrate" {
			sg = "sg-api" // as above: the pipeline runs it in the api's group
		}
		r := admits(rules, group, sg, port)
		if r == nil {
			t.Errorf("%s: %s: %s admits no ingress from %s on %d", svc, what, group, sg, port)
			return
		}
		r.used = true
	}
	// What answers on a URL: the internal ALB (and behind it the api), a
	// service by its security group, or nothing (a task's own loopback).
	urlHops := func(svc, variable, raw string, target string, targetPort int64) {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			t.Errorf("%s: %s = %q is not a URL", svc, variable, raw)
			return
		}
		port := int64(80)
		if u.Scheme == "https" {
			port = 443
		}
		if p := u.Port(); p != "" {
			port, _ = strconv.ParseInt(p, 10, 64)
		}
		host := u.Hostname()
		switch {
		case host == "127.0.0.1" || host == "localhost" || host == "::1":
			t.Errorf("%s: %s = %q is the task's own loopback: in ECS nothing of %s listens there (set it in the task definition)", svc, variable, raw, target)
		case host == internalALB:
			check(svc, variable+" via the internal ALB", hop{from: "sg-" + svc, port: port, to: "sg-internal-alb"},
				hop{from: "sg-internal-alb", port: targetPort, to: "sg-" + target})
		default:
			// A service discovery name (Service Connect / Cloud Map) reaches
			// the target's tasks directly.
			check(svc, variable+" ("+host+")", hop{from: "sg-" + svc, port: port, to: "sg-" + target})
		}
	}
	realtimePort := m.containers["realtime"].port
	apiPort := m.containers["api"].port
	// AWS APIs without an interface endpoint in the VPC leave through the
	// NAT gateways: HTTPS to the internet.
	endpoints := map[string]bool{"s3": true}
	for _, e := range strs(netw.Var("interface_endpoints")) {
		endpoints[e] = true
	}
	internet := func(svc, from string, services ...string) {
		t.Helper()
		var out []string
		for _, api := range services {
			if !endpoints[api] {
				out = append(out, api)
			}
		}
		if len(out) > 0 {
			check(svc, "AWS APIs without an interface endpoint "+strings.Join(out, ", ")+" (NAT)", hop{from: from, port: 443, toCIDRs: []string{"0.0.0.0/0"}})
		}
	}
	for _, svc := range sortedKeys(m.containers) {
		c := m.containers[svc]
		role := c.role()
		from := "sg-" + svc
		if svc == "migrate" {
			// The pipeline runs it in the api's security group
			// (migrate_security_group_ids).
			from = "sg-api"
		}
		// Every Fargate task pulls its image, reads its secrets and ships
		// its logs over its own ENI on 443 (ECR, Secrets Manager, logs
		// through the interface endpoints; image layers from S3).
		check(svc, "AWS APIs (interface endpoints)", hop{from: from, port: 443, toCIDRs: []string{str(vpc)}})
		check(svc, "S3 (gateway endpoint)", hop{from: from, port: 443, toPrefix: true})
		// ECS Exec (enable_execute_command): the SSM agent's channels and
		// the session key; mail through the SES v2 API.
		apis := []string{"ssmmessages", "kms"}
		if c.env["PALISADE_MAIL_DRIVER"] == "ses" {
			apis = append(apis, "email")
		}
		internet(svc, from, apis...)
		if _, ok := c.secrets["PALISADE_DB_DSN"]; ok {
			check(svc, "MariaDB", hop{from: from, port: 3306, toCIDRs: dataCIDRs})
			admitted(svc, "MariaDB", "sg-db", 3306)
		}
		if _, ok := c.secrets["PALISADE_REDIS_URL"]; ok {
			check(svc, "Redis", hop{from: from, port: 6379, toCIDRs: dataCIDRs})
			admitted(svc, "Redis", "sg-redis", 6379)
		}
		if role == "web" || role == "hq" {
			urlHops(svc, "PALISADE_API_URL", c.env["PALISADE_API_URL"], "api", apiPort)
		}
		// api and worker publish events (they hold the app secret that
		// signs the Pusher HTTP API).
		if _, ok := c.secrets["PALISADE_REALTIME_APP_SECRET"]; ok && role != "realtime" {
			raw := c.env["PALISADE_REALTIME_API_URL"]
			if raw == "" {
				raw = "http://127.0.0.1:8080" // the code's default
			}
			urlHops(svc, "PALISADE_REALTIME_API_URL", raw, "realtime", realtimePort)
		}
		if a := c.env["PALISADE_CLAMD_ADDR"]; strings.HasPrefix(a, "tcp://") {
			t.Logf("%s: clamd at %s (a sidecar in the task shares its network namespace)", svc, a)
		}
	}
	// The recording scan function runs in the VPC (sg-scanner): S3, Secrets
	// Manager and SES on 443, MariaDB from its DSN, realtime's HTTP API.
	if fn, ok := m.lambdas["scan"]; ok && fn.env["PALISADE_DB_DSN"] != "" {
		const svc, from = "lambda-scan", "sg-scanner"
		check(svc, "AWS APIs (interface endpoints, S3)", hop{from: from, port: 443, toCIDRs: []string{str(vpc)}})
		apis := []string{"s3"}
		if fn.env["PALISADE_MAIL_DRIVER"] == "ses" {
			apis = append(apis, "email")
		}
		internet(svc, from, apis...)
		check(svc, "MariaDB", hop{from: from, port: 3306, toCIDRs: dataCIDRs})
		r := admits(rules, "sg-db", from, 3306)
		if r == nil {
			t.Errorf("%s: MariaDB: sg-db admits no ingress from %s on 3306", svc, from)
		} else {
			r.used = true
		}
		if raw := fn.env["PALISADE_REALTIME_API_URL"]; raw != "" {
			u, err := url.Parse(raw)
			if err != nil || u.Port() == "" {
				t.Errorf("%s: PALISADE_REALTIME_API_URL = %q has no port", svc, raw)
			} else {
				port, _ := strconv.ParseInt(u.Port(), 10, 64)
				check(svc, "PALISADE_REALTIME_API_URL ("+u.Hostname()+")", hop{from: from, port: port, to: "sg-realtime"})
			}
		}
	}
	// Load balancers: internet → public ALB → public targets; internal ALB → api.
	for _, svc := range []string{"tenant", "hq", "realtime"} {
		check("public ALB", "to "+svc, hop{from: "sg-public-alb", port: m.containers[svc].port, to: "sg-" + svc})
	}
	check("internal ALB", "to api", hop{from: "sg-internal-alb", port: apiPort, to: "sg-api"})
	for _, r := range rules {
		if !r.egress && (r.group == "sg-public-alb" || r.group == "sg-endpoints") {
			r.used = true // from the internet / from the VPC: no egress side to pair
		}
	}
	for _, r := range rules {
		if r.used {
			continue
		}
		what := "ingress"
		if r.egress {
			what = "egress"
		}
		dest := r.cidr + r.peer + r.prefixList
		t.Errorf("%s: %s %s on %d-%d to/from %s is used by no connection of the roles (least privilege: remove it, or the test is missing a connection)", r.addr, r.group, what, r.from, r.to, dest)
	}
}
