package iameval

import (
	"strings"
	"testing"
)

// The cases follow the AWS IAM documentation ("Policy evaluation logic",
// "IAM JSON policy elements: Condition operators"), not this code.

func mustParse(t *testing.T, doc string) Policy {
	t.Helper()
	p, err := ParseJSON("test", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func decide(t *testing.T, req Request, identity, resource []Policy) Decision {
	t.Helper()
	d, err := Evaluate(req, identity, resource)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"s3:*", "s3:GetObject", true},
		{"s3:Get*", "s3:GetObject", true},
		{"s3:Get*", "s3:PutObject", false},
		{"s3:?etObject", "s3:GetObject", true},
		{"s3:?etObject", "s3:GGetObject", false},
		{"arn:aws:s3:::pal-tenant-*", "arn:aws:s3:::pal-tenant-12", true},
		{"arn:aws:s3:::pal-tenant-*", "arn:aws:s3:::pal-tenant-12/a/b.pdf", true}, // * crosses "/"
		{"arn:aws:s3:::pal-tenant-*/*", "arn:aws:s3:::pal-tenant-12", false},
		{"arn:aws:s3:::pal-tenant-*/*", "arn:aws:s3:::pal-tenant-12/x", true},
		{"*", "", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"", "x", false},
	} {
		if got := Match(c.p, c.s); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.p, c.s, got, c.want)
		}
	}
}

func TestActionsIgnoreCaseResourcesDoNot(t *testing.T) {
	p := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"S3:getobject","Resource":"arn:aws:s3:::b/*"}}`)
	if d := decide(t, Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}, []Policy{p}, nil); !d.Allowed {
		t.Errorf("action names are case-insensitive: %v", d)
	}
	if d := decide(t, Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::B/k"}, []Policy{p}, nil); d.Allowed {
		t.Errorf("resource ARNs are case-sensitive: %v", d)
	}
}

func TestImplicitDenyAndExplicitDenyWins(t *testing.T) {
	allow := mustParse(t, `{"Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
	deny := mustParse(t, `{"Statement":[{"Sid":"D","Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}`)
	req := Request{Action: "s3:DeleteBucket", Resource: "arn:aws:s3:::b"}
	if d := decide(t, req, nil, nil); d.Allowed || len(d.By) != 0 {
		t.Errorf("no policy: %v, want implicit deny", d)
	}
	if d := decide(t, req, []Policy{allow}, nil); !d.Allowed {
		t.Errorf("allow alone: %v", d)
	}
	d := decide(t, req, []Policy{allow, deny}, nil)
	if d.Allowed || !strings.Contains(d.String(), "test/D") {
		t.Errorf("allow + deny: %v, want explicit deny by D", d)
	}
	// A deny in a resource policy beats an identity allow too.
	bucketDeny := mustParse(t, `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b"}]}`)
	if d := decide(t, req, []Policy{allow}, []Policy{bucketDeny}); d.Allowed {
		t.Errorf("bucket-policy deny: %v", d)
	}
	// Same account: a resource-policy allow is enough on its own.
	bucketAllow := mustParse(t, `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:role/r"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}]}`)
	if d := decide(t, Request{Action: "s3:ListBucket", Resource: "arn:aws:s3:::b", Principal: "arn:aws:iam::1:role/r"}, nil, []Policy{bucketAllow}); !d.Allowed {
		t.Errorf("bucket-policy allow for the named principal: %v", d)
	}
	if d := decide(t, Request{Action: "s3:ListBucket", Resource: "arn:aws:s3:::b", Principal: "arn:aws:iam::1:role/other"}, nil, []Policy{bucketAllow}); d.Allowed {
		t.Errorf("bucket-policy allow for another principal: %v", d)
	}
}

func TestNotActionNotResource(t *testing.T) {
	// "Deny everything but reading": NotAction inverts the action match.
	p := mustParse(t, `{"Statement":[
		{"Effect":"Allow","Action":"s3:*","Resource":"*"},
		{"Sid":"OnlyRead","Effect":"Deny","NotAction":["s3:Get*","s3:List*"],"Resource":"*"},
		{"Sid":"NotThatBucket","Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::ok","arn:aws:s3:::ok/*"]}]}`)
	for _, c := range []struct {
		action, resource string
		want             bool
	}{
		{"s3:GetObject", "arn:aws:s3:::ok/x", true},
		{"s3:ListBucket", "arn:aws:s3:::ok", true},
		{"s3:PutObject", "arn:aws:s3:::ok/x", false},    // NotAction deny
		{"s3:GetObject", "arn:aws:s3:::other/x", false}, // NotResource deny
	} {
		d := decide(t, Request{Action: c.action, Resource: c.resource}, []Policy{p}, nil)
		if d.Allowed != c.want {
			t.Errorf("%s on %s: %v, want allowed=%v", c.action, c.resource, d, c.want)
		}
	}
}

func TestConditionsMissingKeys(t *testing.T) {
	// The tenant bucket policy's shape: a StringNotEquals on a tag denies an
	// untagged object (the key is absent, so "not equal" holds).
	p := mustParse(t, `{"Statement":[{"Sid":"DenyUnlessClean","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*",
		"Condition":{"StringNotEquals":{"s3:ExistingObjectTag/ScanStatus":"Clean"},"ArnNotEquals":{"aws:PrincipalArn":["arn:aws:iam::1:role/scanner"]}}}]}`)
	allow := mustParse(t, `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`)
	get := func(principal string, tags map[string][]string) Decision {
		return decide(t, Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Principal: principal, Context: tags}, []Policy{allow}, []Policy{p})
	}
	app, scanner := "arn:aws:iam::1:role/app", "arn:aws:iam::1:role/scanner"
	if d := get(app, nil); d.Allowed {
		t.Errorf("untagged object, app role: %v, want denied", d)
	}
	if d := get(app, map[string][]string{"s3:ExistingObjectTag/ScanStatus": {"Infected"}}); d.Allowed {
		t.Errorf("Infected object, app role: %v, want denied", d)
	}
	if d := get(app, map[string][]string{"s3:ExistingObjectTag/ScanStatus": {"Clean"}}); !d.Allowed {
		t.Errorf("Clean object, app role: %v, want allowed", d)
	}
	if d := get(scanner, nil); !d.Allowed {
		t.Errorf("untagged object, exempt scanner role (aws:PrincipalArn from the caller): %v, want allowed", d)
	}
	// A positive operator on a missing key does not hold; IfExists does.
	for _, c := range []struct {
		op   string
		want bool
	}{{"StringEquals", false}, {"StringEqualsIfExists", true}, {"StringLike", false}, {"StringNotLike", true}, {"ArnEquals", false}, {"ArnNotEquals", true}, {"Bool", false}, {"BoolIfExists", true}} {
		ok, err := Condition{Operator: c.op, Key: "k", Values: []string{"v"}}.holds(Request{})
		if err != nil || ok != c.want {
			t.Errorf("%s on a missing key = %v, %v; want %v", c.op, ok, err, c.want)
		}
	}
	// Null tests presence.
	if ok, _ := (Condition{Operator: "Null", Key: "k", Values: []string{"true"}}).holds(Request{}); !ok {
		t.Error("Null true on a missing key must hold")
	}
	if ok, _ := (Condition{Operator: "Null", Key: "k", Values: []string{"false"}}).holds(Request{Context: map[string][]string{"k": {"x"}}}); !ok {
		t.Error("Null false on a present key must hold")
	}
}

func TestSecureTransport(t *testing.T) {
	p := mustParse(t, `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":false}}}]}`)
	allow := mustParse(t, `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
	req := func(tls string) Request {
		return Request{Action: "s3:PutObject", Resource: "arn:aws:s3:::b/k", Context: map[string][]string{"aws:SecureTransport": {tls}}}
	}
	if d := decide(t, req("false"), []Policy{allow}, []Policy{p}); d.Allowed {
		t.Errorf("plain HTTP: %v, want denied", d)
	}
	if d := decide(t, req("true"), []Policy{allow}, []Policy{p}); !d.Allowed {
		t.Errorf("TLS: %v, want allowed", d)
	}
}

func TestStringLikeValuesAreORed(t *testing.T) {
	c := Condition{Operator: "StringLike", Key: "s3:prefix", Values: []string{"a/*", "b/*"}}
	for s, want := range map[string]bool{"a/x": true, "b/y": true, "c/z": false} {
		if ok, _ := c.holds(Request{Context: map[string][]string{"s3:prefix": {s}}}); ok != want {
			t.Errorf("StringLike %q = %v, want %v", s, ok, want)
		}
	}
}

func TestErrorsAreNotMatches(t *testing.T) {
	p := mustParse(t, `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":"10"}}}]}`)
	if _, err := Evaluate(Request{Action: "s3:ListBucket", Resource: "x"}, []Policy{p}, nil); err == nil {
		t.Error("an unsupported operator must be an error, not a silent match")
	}
	noRes := mustParse(t, `{"Statement":[{"Effect":"Allow","Action":"s3:*"}]}`)
	if _, err := Evaluate(Request{Action: "s3:ListBucket", Resource: "x"}, []Policy{noRes}, nil); err == nil {
		t.Error("an identity statement without Resource must be an error")
	}
	if _, err := ParseJSON("bad", []byte(`{"Statement":[{"Effect":"Allow","Action":7,"Resource":"*"}]}`)); err == nil {
		t.Error("a number as Action must not parse")
	}
}

func TestGranted(t *testing.T) {
	p := mustParse(t, `{"Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"*"},{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}`)
	got := strings.Join(Granted([]Policy{p}), ",")
	if got != "s3:GetObject,s3:PutObject" {
		t.Errorf("Granted = %s", got)
	}
}

func TestForAnyValue(t *testing.T) {
	c := Condition{Operator: "ForAnyValue:StringEquals", Key: "s3:RequestObjectTagKeys", Values: []string{"ScanStatus", "Quarantine"}}
	for _, x := range []struct {
		keys []string
		want bool
	}{{nil, false}, {[]string{"Owner"}, false}, {[]string{"Owner", "ScanStatus"}, true}, {[]string{"Quarantine"}, true}} {
		ctx := map[string][]string{}
		if x.keys != nil {
			ctx["s3:RequestObjectTagKeys"] = x.keys
		}
		if ok, err := c.holds(Request{Context: ctx}); err != nil || ok != x.want {
			t.Errorf("ForAnyValue:StringEquals with keys %v = %v, %v; want %v", x.keys, ok, err, x.want)
		}
	}
	for _, op := range []string{"ForAllValues:StringEquals", "ForAnyValue:StringNotEquals"} {
		if _, err := (Condition{Operator: op, Key: "k", Values: []string{"v"}}).holds(Request{Context: map[string][]string{"k": {"v"}}}); err == nil {
			t.Errorf("%s: want an unsupported-operator error", op)
		}
	}
}
