package infra_test

import (
	"crypto/md5" // #nosec G501 -- compares with Terraform's filemd5
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/palisade-hq/palisade/infra/tfeval"
)

// Issue 16, item 1: the Cloudflare origin lock (spec 2). The public ALB
// admits Cloudflare's published ranges alone, its HTTPS listener demands
// Cloudflare's origin-pull client certificate, the WAF counts the client
// Cloudflare names in CF-Connecting-IP, the admin host can be narrowed to
// an allow-list, and the tasks get what the app needs to find the client.

// cloudflareRanges is the alb module's cloudflare_ip_ranges as the
// environment evaluates it.
func cloudflareRanges(t *testing.T, alb *tfeval.Instance) []string {
	t.Helper()
	r := strings_(alb.Var("cloudflare_ip_ranges"))
	if len(r) < 10 {
		t.Fatalf("cloudflare_ip_ranges = %v: not Cloudflare's published list", r)
	}
	return r
}

// publicIngress lists the public ALB's ingress rules as "port cidr".
func publicIngress(t *testing.T, alb *tfeval.Instance) []string {
	t.Helper()
	var out []string
	for _, r := range alb.Module.OfType("aws_vpc_security_group_ingress_rule") {
		list, err := alb.Instances(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, ri := range list {
			if strings.Join(ri.Body.References("security_group_id"), ",") != "aws_security_group.public_alb.id" {
				continue
			}
			v4, v6 := attr(t, ri.Body, "cidr_ipv4"), attr(t, ri.Body, "cidr_ipv6")
			if ri.Body.Has("referenced_security_group_id") || ri.Body.Has("prefix_list_id") {
				t.Errorf("%s[%s]: public ALB ingress from something else than an address range", r.Addr(), ri.KeyString())
			}
			cidr := ""
			switch {
			case !v4.IsNull() && v6.IsNull():
				cidr = v4.AsString()
				if strings.Contains(cidr, ":") {
					t.Errorf("%s[%s]: IPv6 range %s in cidr_ipv4", r.Addr(), ri.KeyString(), cidr)
				}
			case v4.IsNull() && !v6.IsNull():
				cidr = v6.AsString()
				if !strings.Contains(cidr, ":") {
					t.Errorf("%s[%s]: IPv4 range %s in cidr_ipv6", r.Addr(), ri.KeyString(), cidr)
				}
			default:
				t.Errorf("%s[%s]: want exactly one of cidr_ipv4 and cidr_ipv6", r.Addr(), ri.KeyString())
			}
			from, to := attr(t, ri.Body, "from_port"), attr(t, ri.Body, "to_port")
			if from.Equals(to) != cty.True {
				t.Errorf("%s[%s]: a port range", r.Addr(), ri.KeyString())
			}
			p, _ := from.AsBigFloat().Int64()
			out = append(out, strings.Join([]string{map[int64]string{443: "443", 80: "80"}[p], cidr}, " "))
		}
	}
	return out
}

func portsTimes(cidrs []string) []string {
	var out []string
	for _, c := range cidrs {
		out = append(out, "443 "+c, "80 "+c)
	}
	return out
}

// TestCloudflareOriginLock: security group, mutual TLS and the trust
// store's CA, in both environments by default.
func TestCloudflareOriginLock(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			in := root(t, env, nil)
			alb := child(t, in, "alb")
			ranges := cloudflareRanges(t, alb)
			for _, c := range ranges {
				if c == "0.0.0.0/0" || c == "::/0" {
					t.Fatalf("cloudflare_ip_ranges holds %s", c)
				}
			}
			if !contains(ranges, "173.245.48.0/20") || !contains(ranges, "2400:cb00::/32") {
				t.Errorf("cloudflare_ip_ranges %v lacks Cloudflare's IPv4 or IPv6 ranges", ranges)
			}
			// 443 and the 80 redirect, from Cloudflare alone.
			wantSet(t, "public ALB ingress", publicIngress(t, alb), portsTimes(ranges)...)
			redirect := oneBlock(t, one(t, alb, "aws_lb_listener.http_redirect"), "default_action")
			wantString(t, "port 80 action", attr(t, redirect, "type"), "redirect")

			// Authenticated origin pulls: mutual TLS in verify mode with the
			// trust store of Cloudflare's origin-pull CA.
			https := one(t, alb, "aws_lb_listener.https")
			ma := oneBlock(t, https, "mutual_authentication")
			wantString(t, "mutual TLS mode", attr(t, ma, "mode"), "verify")
			wantBool(t, "ignore client certificate expiry", attr(t, ma, "ignore_client_certificate_expiry"), false)
			ts := one(t, alb, "aws_lb_trust_store.cloudflare")
			obj := one(t, alb, "aws_s3_object.origin_pull_ca")
			// The listener's trust store is this one (the dynamic block
			// iterates over its ARN).
			if src := string(sourceOf(alb.Module.Find("aws_lb_listener.https"))); !strings.Contains(src, "aws_lb_trust_store.cloudflare[0].arn") {
				t.Error("the HTTPS listener's mutual_authentication does not use aws_lb_trust_store.cloudflare")
			}
			for attrName, want := range map[string]string{
				"ca_certificates_bundle_s3_bucket":         "aws_s3_object.origin_pull_ca.bucket",
				"ca_certificates_bundle_s3_key":            "aws_s3_object.origin_pull_ca.key",
				"ca_certificates_bundle_s3_object_version": "aws_s3_object.origin_pull_ca.version_id",
			} {
				if !refersTo(ts, attrName, want) {
					t.Errorf("trust store %s = %v, want %s", attrName, ts.References(attrName), want)
				}
			}
			// The bundle goes to the artifacts bucket (KMS, versioned).
			if !refersTo(obj, "bucket", "var.trust_store_bucket") {
				t.Error("the CA object is not written to var.trust_store_bucket")
			}
			if a, ok := in.Module.Calls["alb"].Body.Attributes["trust_store_bucket"]; !ok || strings.Join(tfeval.TraversalStrings(a.Expr), ",") != "module.storage.artifacts_bucket_name" {
				t.Error("envs: the alb module's trust_store_bucket must be module.storage.artifacts_bucket_name (KMS-encrypted, versioned)")
			}
			file := attr(t, obj, "source").AsString()
			if filepath.Base(file) != "cloudflare-origin-pull-ca.pem" {
				t.Errorf("trust store bundle %s, want the module's cloudflare-origin-pull-ca.pem", file)
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sum := md5.Sum(data) // #nosec G401 -- Terraform's change detector
			wantString(t, "source_hash", attr(t, obj, "source_hash"), hex.EncodeToString(sum[:]))
			checkOriginPullCA(t, data)

			// The WAF's rate rule counts the client Cloudflare names.
			acl := one(t, alb, "aws_wafv2_web_acl.public")
			rate := 0
			for _, r := range blocks(t, acl, "rule") {
				for _, rb := range blocks(t, oneBlock(t, r, "statement"), "rate_based_statement") {
					rate++
					wantString(t, "rate rule key", attr(t, rb, "aggregate_key_type"), "FORWARDED_IP")
					fic := oneBlock(t, rb, "forwarded_ip_config")
					wantString(t, "rate rule header", attr(t, fic, "header_name"), "CF-Connecting-IP")
					wantString(t, "rate rule fallback", attr(t, fic, "fallback_behavior"), "MATCH")
				}
			}
			if rate != 1 {
				t.Errorf("%d rate-based rules, want 1", rate)
			}
			// No admin allow-list unless asked for.
			if n := len(instances(t, alb, "aws_wafv2_ip_set.admin")); n != 0 {
				t.Errorf("%d admin IP sets by default, want none", n)
			}
			for _, r := range blocks(t, acl, "rule") {
				if attr(t, r, "name").AsString() == "admin-allow-list" {
					t.Error("admin allow-list rule without admin_allowed_cidrs")
				}
			}
		})
	}
}

// checkOriginPullCA: the shipped bundle is Cloudflare's origin-pull CA, a
// self-signed CA certificate still valid.
func checkOriginPullCA(t *testing.T, data []byte) {
	t.Helper()
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatal("cloudflare-origin-pull-ca.pem holds no PEM certificate")
	}
	if strings.TrimSpace(string(rest)) != "" {
		t.Errorf("cloudflare-origin-pull-ca.pem holds more than one block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("origin-pull CA: %v", err)
	}
	if !cert.IsCA || !cert.BasicConstraintsValid || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("origin-pull certificate is not a CA (IsCA %v, key usage %v)", cert.IsCA, cert.KeyUsage)
	}
	if cert.Subject.CommonName != "origin-pull.cloudflare.net" || cert.Issuer.CommonName != "origin-pull.cloudflare.net" {
		t.Errorf("subject %s, issuer %s: not Cloudflare's origin-pull CA", cert.Subject, cert.Issuer)
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		t.Errorf("origin-pull CA is not self-signed: %v", err)
	}
	if fp := x509Fingerprint(cert); fp != "9a1ac2b4be15f9f27eee20a734cba4e9898f61001b3bd7c84b69b56a3e25a2b9" {
		t.Errorf("origin-pull CA fingerprint %s is not the one Cloudflare documents; a rotation must update this test and docs/operations.md", fp)
	}
	if time.Until(cert.NotAfter) < 90*24*time.Hour {
		t.Errorf("origin-pull CA expires %s: rotate it (docs/operations.md, \"Origin-pull CA rotation\")", cert.NotAfter.Format(time.DateOnly))
	}
}

// TestCloudflareClientIPEnvironment: the task definitions pass the app
// what it needs to take the client from CF-Connecting-IP: the header to
// api, tenant and hq, and Cloudflare's ranges to the API alone.
func TestCloudflareClientIPEnvironment(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			in := root(t, env, nil)
			ranges := cloudflareRanges(t, child(t, in, "alb"))
			ecs := child(t, in, "ecs")
			for svc := range instances(t, ecs, "aws_ecs_task_definition.this") {
				vars := containerEnv(t, ecs, svc)
				wantHeader, wantCDN := "", ""
				switch svc {
				case "api":
					wantHeader, wantCDN = "CF-Connecting-IP", strings.Join(ranges, ",")
				case "tenant", "hq":
					wantHeader = "CF-Connecting-IP"
				}
				if got, _ := vars["PALISADE_CLIENT_IP_HEADER"].(string); got != wantHeader {
					t.Errorf("%s: PALISADE_CLIENT_IP_HEADER = %q, want %q", svc, got, wantHeader)
				}
				if got, _ := vars["PALISADE_CDN_PROXIES"].(string); got != wantCDN {
					t.Errorf("%s: PALISADE_CDN_PROXIES = %q, want %q", svc, got, wantCDN)
				}
			}
		})
	}
}

// TestAdminAllowList: admin_allowed_cidrs blocks admin.<domain> for every
// client outside the list, as Cloudflare names the client, one IP set per
// address family.
func TestAdminAllowList(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			in := root(t, env, map[string]cty.Value{
				"admin_allowed_cidrs": cty.ListVal([]cty.Value{cty.StringVal("198.51.100.0/24"), cty.StringVal("2001:db8:1::/48"), cty.StringVal("203.0.113.9/32")}),
			})
			domain := in.Var("domain").AsString()
			alb := child(t, in, "alb")
			sets := instances(t, alb, "aws_wafv2_ip_set.admin")
			wantSet(t, "admin IP sets", keys(sets), "IPV4", "IPV6")
			wantSet(t, "admin IPv4", strings_(attr(t, sets["IPV4"].Body, "addresses")), "198.51.100.0/24", "203.0.113.9/32")
			wantSet(t, "admin IPv6", strings_(attr(t, sets["IPV6"].Body, "addresses")), "2001:db8:1::/48")
			for k, s := range sets {
				wantString(t, k+" scope", attr(t, s.Body, "scope"), "REGIONAL")
				wantString(t, k+" version", attr(t, s.Body, "ip_address_version"), k)
			}
			acl := one(t, alb, "aws_wafv2_web_acl.public")
			var rule *tfeval.Block
			for _, r := range blocks(t, acl, "rule") {
				if attr(t, r, "name").AsString() == "admin-allow-list" {
					rule = &r
				}
			}
			if rule == nil {
				t.Fatal("no admin-allow-list rule in the web ACL")
			}
			if len(blocks(t, oneBlock(t, *rule, "action"), "block")) != 1 {
				t.Error("admin-allow-list must block")
			}
			and := oneBlock(t, oneBlock(t, *rule, "statement"), "and_statement")
			stmts := blocks(t, and, "statement")
			if len(stmts) != 3 {
				t.Fatalf("admin-allow-list: %d statements, want host match and one not-in-set per family", len(stmts))
			}
			bm := oneBlock(t, stmts[0], "byte_match_statement")
			wantString(t, "admin host", attr(t, bm, "search_string"), "admin."+domain)
			wantString(t, "admin host match", attr(t, bm, "positional_constraint"), "STARTS_WITH")
			wantString(t, "admin host header", attr(t, oneBlock(t, oneBlock(t, bm, "field_to_match"), "single_header"), "name"), "host")
			wantString(t, "admin host transformation", attr(t, oneBlock(t, bm, "text_transformation"), "type"), "LOWERCASE")
			for _, s := range stmts[1:] {
				ref := oneBlock(t, oneBlock(t, oneBlock(t, s, "not_statement"), "statement"), "ip_set_reference_statement")
				if !refersTo(ref, "arn", "aws_wafv2_ip_set.admin") {
					t.Error("the not-in-set statements must reference aws_wafv2_ip_set.admin")
				}
				fic := oneBlock(t, ref, "ip_set_forwarded_ip_config")
				wantString(t, "admin client header", attr(t, fic, "header_name"), "CF-Connecting-IP")
				wantString(t, "admin header fallback", attr(t, fic, "fallback_behavior"), "NO_MATCH")
			}
		})
	}
}

// TestNoCDNEscapeHatch: without the origin lock the ALB admits
// public_ingress_cidr_blocks, with no mutual TLS, and the WAF and the app
// use the source address.
func TestNoCDNEscapeHatch(t *testing.T) {
	in := root(t, "staging", map[string]cty.Value{
		"cloudflare_origin_lock":     cty.False,
		"public_ingress_cidr_blocks": cty.ListVal([]cty.Value{cty.StringVal("0.0.0.0/0")}),
	})
	alb := child(t, in, "alb")
	wantSet(t, "public ALB ingress without the lock", publicIngress(t, alb), portsTimes([]string{"0.0.0.0/0"})...)
	if n := len(blocks(t, one(t, alb, "aws_lb_listener.https"), "mutual_authentication")); n != 0 {
		t.Error("mutual TLS without Cloudflare would refuse every browser")
	}
	if n := len(instances(t, alb, "aws_lb_trust_store.cloudflare")); n != 0 {
		t.Errorf("%d trust stores without the lock", n)
	}
	for _, r := range blocks(t, one(t, alb, "aws_wafv2_web_acl.public"), "rule") {
		for _, rb := range blocks(t, oneBlock(t, r, "statement"), "rate_based_statement") {
			wantString(t, "rate rule key without a CDN", attr(t, rb, "aggregate_key_type"), "IP")
		}
	}
	ecs := child(t, in, "ecs")
	for svc := range instances(t, ecs, "aws_ecs_task_definition.this") {
		vars := containerEnv(t, ecs, svc)
		if _, ok := vars["PALISADE_CLIENT_IP_HEADER"]; ok {
			t.Errorf("%s: PALISADE_CLIENT_IP_HEADER without a CDN", svc)
		}
		if _, ok := vars["PALISADE_CDN_PROXIES"]; ok {
			t.Errorf("%s: PALISADE_CDN_PROXIES without a CDN", svc)
		}
	}
}

func x509Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}
