package deploytest

import (
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/infra/iameval"
	"github.com/palisade-hq/palisade/internal/files"
)

// TestTenantBucketPolicy evaluates the bucket policy provisioning writes
// (internal/files.Policy, with the exempt roles the task definition gives
// the app) together with the roles' identity policies from Terraform.
func TestTenantBucketPolicy(t *testing.T) {
	m := loadModel(t)
	// The worker provisions buckets (sign-up jobs) and the api re-provisions
	// on demand; both must write the same policy.
	exempt := map[string]string{}
	for _, svc := range []string{"api", "worker"} {
		exempt[svc] = m.containers[svc].env["PALISADE_S3_EXEMPT_ROLE_ARNS"]
	}
	if exempt["api"] != exempt["worker"] {
		t.Errorf("PALISADE_S3_EXEMPT_ROLE_ARNS differs: api %q, worker %q; the bucket policy would flip with whoever provisions last", exempt["api"], exempt["worker"])
	}
	var exemptARNs []string
	for _, a := range strings.Split(exempt["worker"], ",") {
		if a = strings.TrimSpace(a); a != "" {
			exemptARNs = append(exemptARNs, a)
		}
	}
	prefix := m.containers["worker"].env["PALISADE_S3_BUCKET_PREFIX"]
	bucket := prefix + "42"
	taggers := m.containers["worker"].env["PALISADE_S3_TAGGER_ROLE_ARNS"]
	if a := m.containers["api"].env["PALISADE_S3_TAGGER_ROLE_ARNS"]; a != taggers {
		t.Errorf("PALISADE_S3_TAGGER_ROLE_ARNS differs: api %q, worker %q", a, taggers)
	}
	var taggerARNs []string
	for _, a := range strings.Split(taggers, ",") {
		if a = strings.TrimSpace(a); a != "" {
			taggerARNs = append(taggerARNs, a)
		}
	}
	doc, err := files.Policy(bucket, exemptARNs, taggerARNs)
	if err != nil {
		t.Fatal(err)
	}
	bp, err := iameval.ParseJSON("bucket policy of "+bucket, doc)
	if err != nil {
		t.Fatal(err)
	}
	object := "arn:aws:s3:::" + bucket + "/tenant/file.pdf"

	type caller struct {
		name string
		r    *role
	}
	app := caller{"api task role", m.taskRoles["api"]}
	worker := caller{"worker task role", m.taskRoles["worker"]}
	scanner := caller{"scan Lambda role", m.lambdaRoles["scan"]}
	get := func(c caller, tag string, tls bool) iameval.Decision {
		t.Helper()
		ctx := map[string][]string{"aws:SecureTransport": {map[bool]string{true: "true", false: "false"}[tls]}}
		if tag != "" {
			ctx["s3:ExistingObjectTag/ScanStatus"] = []string{tag}
		}
		d, err := iameval.Evaluate(iameval.Request{Action: "s3:GetObject", Resource: object, Principal: c.r.arn, Context: ctx}, c.r.policies, []iameval.Policy{bp})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, c := range []struct {
		who  caller
		tag  string
		tls  bool
		want bool
	}{
		{app, "", true, false},
		{app, "Infected", true, false},
		{app, "Error", true, false},
		{app, "Clean", true, true},
		{app, "Clean", false, false},
		{scanner, "", true, true},
		{scanner, "Clean", false, false},
	} {
		if d := get(c.who, c.tag, c.tls); d.Allowed != c.want {
			t.Errorf("GetObject by the %s (%s), tag %q, TLS %v: %v; want allowed=%v", c.who.name, c.who.r.arn, c.tag, c.tls, d, c.want)
		}
	}
	// A worker that scans with its own clamd reads untagged objects too.
	if m.containers["worker"].env["PALISADE_CLAMD_ADDR"] != "" {
		if d := get(worker, "", true); !d.Allowed {
			t.Errorf("the worker has PALISADE_CLAMD_ADDR, so it scans, but cannot read an untagged upload: %v", d)
		}
	}
	// Only roles that scan are exempt.
	for _, a := range exemptARNs {
		if a != scanner.r.arn && a != worker.r.arn {
			t.Errorf("exempt role %s is neither the scanner nor the worker", a)
		}
	}
}

// TestOnlyTheScannerWritesTags: the ScanStatus tag is the verdict the read
// rule trusts, so every role Terraform creates other than the scan Lambda's
// is denied every object-tag write on a tenant bucket, whatever its own
// policies grant, and nobody may upload an object carrying a scan tag.
func TestOnlyTheScannerWritesTags(t *testing.T) {
	m := loadModel(t)
	split := func(v string) []string {
		var out []string
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				out = append(out, a)
			}
		}
		return out
	}
	w := m.containers["worker"].env
	bucket := w["PALISADE_S3_BUCKET_PREFIX"] + "42"
	doc, err := files.Policy(bucket, split(w["PALISADE_S3_EXEMPT_ROLE_ARNS"]), split(w["PALISADE_S3_TAGGER_ROLE_ARNS"]))
	if err != nil {
		t.Fatal(err)
	}
	bp, err := iameval.ParseJSON("bucket policy of "+bucket, doc)
	if err != nil {
		t.Fatal(err)
	}
	object := "arn:aws:s3:::" + bucket + "/tenant/file.pdf"
	tls := map[string][]string{"aws:SecureTransport": {"true"}}
	// Even a role with s3:* on the bucket (an administrator, a future
	// policy mistake) is denied by the bucket policy.
	everything, err := iameval.ParseJSON("s3:*", []byte(`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	scanner := m.lambdaRoles["scan"]
	callers := map[string]*role{"scan Lambda": scanner}
	for k, r := range m.taskRoles {
		callers[k+" task"] = r
	}
	for k, r := range m.lambdaRoles {
		callers[k+" Lambda"] = r
	}
	for _, name := range sortedKeys(callers) {
		r := callers[name]
		for _, action := range files.TagWriteActions {
			for _, ident := range [][]iameval.Policy{r.policies, {everything}} {
				d, err := iameval.Evaluate(iameval.Request{Action: action, Resource: object, Principal: r.arn, Context: tls}, ident, []iameval.Policy{bp})
				if err != nil {
					t.Fatal(err)
				}
				if r != scanner && d.Allowed {
					t.Errorf("%s by the %s (%s): %v; only the scanner may write tags", action, name, r.arn, d)
				}
			}
		}
		// An upload that brings its own verdict is refused for everyone.
		for _, keys := range [][]string{{"ScanStatus"}, {"Owner", "Quarantine"}} {
			ctx := map[string][]string{"aws:SecureTransport": {"true"}, "s3:RequestObjectTagKeys": keys}
			d, err := iameval.Evaluate(iameval.Request{Action: "s3:PutObject", Resource: object, Principal: r.arn, Context: ctx}, []iameval.Policy{everything}, []iameval.Policy{bp})
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed {
				t.Errorf("PutObject with tags %v by the %s: %v; want denied", keys, name, d)
			}
		}
		d, err := iameval.Evaluate(iameval.Request{Action: "s3:PutObject", Resource: object, Principal: r.arn, Context: tls}, []iameval.Policy{everything}, []iameval.Policy{bp})
		if err != nil || !d.Allowed {
			t.Errorf("PutObject without tags by the %s (given s3:*): %v, %v; the tag rule must not block plain uploads", name, d, err)
		}
	}
	// The scanner itself is allowed by its own policies to tag.
	for _, action := range []string{"s3:PutObjectTagging", "s3:PutObjectVersionTagging"} {
		d, err := iameval.Evaluate(iameval.Request{Action: action, Resource: object, Principal: scanner.arn, Context: tls}, scanner.policies, []iameval.Policy{bp})
		if err != nil || !d.Allowed {
			t.Errorf("%s by the scan Lambda: %v, %v; the scanner must tag its verdict", action, d, err)
		}
	}
	if got := split(w["PALISADE_S3_TAGGER_ROLE_ARNS"]); len(got) != 1 || got[0] != scanner.arn {
		t.Errorf("PALISADE_S3_TAGGER_ROLE_ARNS = %v, want exactly the scan Lambda's role %s", got, scanner.arn)
	}
}
