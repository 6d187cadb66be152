// Package iameval evaluates AWS IAM policies offline, far enough for tests
// to ask "would AWS allow this request?" of the policies Terraform writes
// and of the bucket policy the application writes.
//
// It follows the documented evaluation logic for one account: a request is
// allowed when some statement of an identity or resource policy allows it
// and no statement of either denies it (an explicit deny always wins; no
// matching allow is an implicit deny). Statements match on Action or
// NotAction, Resource or NotResource, Principal or NotPrincipal (resource
// policies) and Condition. Actions match case-insensitively, resources
// case-sensitively, both with the `*` and `?` wildcards.
//
// Condition operators: String(Not)Equals, String(Not)EqualsIgnoreCase,
// String(Not)Like, Arn(Not)Equals, Arn(Not)Like, Bool, Null and the
// ...IfExists forms; several values of one key are ORed, several keys and
// operators are ANDed. A key absent from the request makes a positive
// operator false and a negated one (StringNotEquals, ArnNotEquals, ...)
// true, as AWS does: that is why "StringNotEquals ScanStatus Clean" denies
// an untagged object. Unknown operators are an error, never a silent match.
// Permission boundaries, SCPs, session policies and cross-account rules
// are out of scope.
package iameval

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Effect of a statement.
const (
	Allow = "Allow"
	Deny  = "Deny"
)

// Policy is one policy document.
type Policy struct {
	Name       string // for messages: where it came from
	Statements []Statement
}

// Statement is one policy statement. Exactly one of Actions/NotActions and
// at most one of Resources/NotResources is set.
type Statement struct {
	Sid          string
	Effect       string
	Actions      []string
	NotActions   []string
	Resources    []string
	NotResources []string
	// Principals and NotPrincipals are the ARNs (or "*") a resource policy
	// names, all kinds together; identity policies leave both empty.
	Principals    []string
	NotPrincipals []string
	Conditions    []Condition
}

// Condition is one operator/key pair with its values.
type Condition struct {
	Operator string
	Key      string
	Values   []string
}

// Request is what a caller asks AWS to do.
type Request struct {
	Action    string // "s3:GetObject"
	Resource  string // ARN
	Principal string // the caller's role ARN
	// Context holds the condition keys of the request, e.g.
	// "aws:SecureTransport": {"true"}, "s3:ExistingObjectTag/ScanStatus": {"Clean"}.
	// aws:PrincipalArn is taken from Principal when absent.
	Context map[string][]string
}

// Decision is the outcome and the statements behind it.
type Decision struct {
	Allowed bool
	// By names the deciding statements ("policy/sid"): the deny that
	// refused it, or the allows that permitted it.
	By []string
}

func (d Decision) String() string {
	if d.Allowed {
		return "allowed by " + strings.Join(d.By, ", ")
	}
	if len(d.By) == 0 {
		return "implicitly denied (no statement allows it)"
	}
	return "explicitly denied by " + strings.Join(d.By, ", ")
}

// Evaluate decides a request against identity policies (attached to the
// caller) and resource policies (attached to the resource, e.g. a bucket
// policy), in one account.
func Evaluate(req Request, identity []Policy, resource []Policy) (Decision, error) {
	var allows, denies []string
	visit := func(p Policy, isResource bool) error {
		for i, s := range p.Statements {
			ok, err := s.matches(req, isResource)
			if err != nil {
				return fmt.Errorf("%s statement %s: %w", p.Name, label(s, i), err)
			}
			if !ok {
				continue
			}
			by := p.Name + "/" + label(s, i)
			switch s.Effect {
			case Deny:
				denies = append(denies, by)
			case Allow:
				allows = append(allows, by)
			default:
				return fmt.Errorf("%s statement %s: effect %q is neither Allow nor Deny", p.Name, label(s, i), s.Effect)
			}
		}
		return nil
	}
	for _, p := range identity {
		if err := visit(p, false); err != nil {
			return Decision{}, err
		}
	}
	for _, p := range resource {
		if err := visit(p, true); err != nil {
			return Decision{}, err
		}
	}
	if len(denies) > 0 {
		return Decision{Allowed: false, By: denies}, nil
	}
	return Decision{Allowed: len(allows) > 0, By: allows}, nil
}

func label(s Statement, i int) string {
	if s.Sid != "" {
		return s.Sid
	}
	return fmt.Sprintf("#%d", i)
}

func (s Statement) matches(req Request, isResource bool) (bool, error) {
	if len(s.Actions) > 0 && len(s.NotActions) > 0 || len(s.Actions) == 0 && len(s.NotActions) == 0 {
		return false, fmt.Errorf("needs exactly one of Action and NotAction")
	}
	if len(s.Actions) > 0 && !anyMatch(s.Actions, req.Action, true) {
		return false, nil
	}
	if len(s.NotActions) > 0 && anyMatch(s.NotActions, req.Action, true) {
		return false, nil
	}
	if len(s.Resources) > 0 && len(s.NotResources) > 0 {
		return false, fmt.Errorf("has both Resource and NotResource")
	}
	if len(s.Resources) > 0 && !anyMatch(s.Resources, req.Resource, false) {
		return false, nil
	}
	if len(s.NotResources) > 0 && anyMatch(s.NotResources, req.Resource, false) {
		return false, nil
	}
	if !isResource && (len(s.Resources) == 0 && len(s.NotResources) == 0) {
		return false, fmt.Errorf("an identity policy statement needs Resource or NotResource")
	}
	if isResource {
		if len(s.Principals) == 0 && len(s.NotPrincipals) == 0 {
			return false, fmt.Errorf("a resource policy statement needs Principal or NotPrincipal")
		}
		if len(s.Principals) > 0 && !principalMatch(s.Principals, req.Principal) {
			return false, nil
		}
		if len(s.NotPrincipals) > 0 && principalMatch(s.NotPrincipals, req.Principal) {
			return false, nil
		}
	}
	for _, c := range s.Conditions {
		ok, err := c.holds(req)
		if err != nil {
			return false, err
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

func principalMatch(list []string, principal string) bool {
	for _, p := range list {
		if p == "*" || p == principal {
			return true
		}
	}
	return false
}

func anyMatch(patterns []string, s string, foldCase bool) bool {
	for _, p := range patterns {
		if foldCase {
			if Match(strings.ToLower(p), strings.ToLower(s)) {
				return true
			}
		} else if Match(p, s) {
			return true
		}
	}
	return false
}

// Match reports whether s matches the IAM pattern p, where `*` is any run
// of characters (also none, also across `/` and `:`) and `?` one character.
func Match(p, s string) bool {
	// Iterative glob with backtracking to the last star: linear enough for
	// policy-sized inputs and free of recursion.
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

func (c Condition) holds(req Request) (bool, error) {
	op := c.Operator
	// ForAnyValue: on a multivalued key (s3:RequestObjectTagKeys) is how
	// this evaluator reads every key anyway: any request value matching
	// any policy value; a missing key matches nothing. ForAllValues is not
	// supported (it holds for a missing key, which would be easy to get
	// wrong silently).
	if rest, ok := strings.CutPrefix(op, "ForAnyValue:"); ok {
		if strings.Contains(rest, "Not") || strings.HasSuffix(rest, "IfExists") || rest == "Null" {
			return false, fmt.Errorf("condition operator %s is not supported by this evaluator", c.Operator)
		}
		if _, present := req.Context[c.Key]; !present {
			return false, nil
		}
		op = rest
	}
	ifExists := strings.HasSuffix(op, "IfExists")
	op = strings.TrimSuffix(op, "IfExists")
	got, present := req.Context[c.Key]
	if !present && c.Key == "aws:PrincipalArn" && req.Principal != "" {
		got, present = []string{req.Principal}, true
	}
	if op == "Null" {
		want := len(c.Values) > 0 && strings.EqualFold(c.Values[0], "true")
		return want == !present, nil
	}
	negated := strings.Contains(op, "Not")
	var cmp func(want, have string) bool
	switch op {
	case "StringEquals", "StringNotEquals":
		cmp = func(w, h string) bool { return w == h }
	case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
		cmp = strings.EqualFold
	case "StringLike", "StringNotLike", "ArnLike", "ArnNotLike":
		cmp = Match
	case "ArnEquals", "ArnNotEquals":
		// ArnEquals also takes wildcards, like ArnLike.
		cmp = Match
	case "Bool":
		cmp = strings.EqualFold
	default:
		return false, fmt.Errorf("condition operator %s is not supported by this evaluator", c.Operator)
	}
	if !present {
		// A missing key: ...IfExists and the negated operators hold,
		// the positive ones do not.
		return ifExists || negated, nil
	}
	// Any request value matching any policy value (single-valued keys
	// here, so no ForAllValues/ForAnyValue qualifiers are needed).
	matched := false
	for _, h := range got {
		for _, w := range c.Values {
			if cmp(w, h) {
				matched = true
			}
		}
	}
	if negated {
		return !matched, nil
	}
	return matched, nil
}

// ParseJSON reads a policy document in AWS's JSON form, where Action,
// Resource, Principal and condition values may each be a string or a list.
func ParseJSON(name string, doc []byte) (Policy, error) {
	var raw struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal(doc, &raw); err != nil {
		return Policy{}, fmt.Errorf("%s: %w", name, err)
	}
	var stmts []map[string]json.RawMessage
	if err := json.Unmarshal(raw.Statement, &stmts); err != nil {
		var one map[string]json.RawMessage
		if err2 := json.Unmarshal(raw.Statement, &one); err2 != nil {
			return Policy{}, fmt.Errorf("%s: Statement: %w", name, err)
		}
		stmts = []map[string]json.RawMessage{one}
	}
	p := Policy{Name: name}
	for i, m := range stmts {
		var s Statement
		var err error
		str := func(k string) string {
			var v string
			if b, ok := m[k]; ok && err == nil {
				err = json.Unmarshal(b, &v)
			}
			return v
		}
		list := func(k string) []string {
			b, ok := m[k]
			if !ok || err != nil {
				return nil
			}
			var out []string
			err = stringOrList(b, &out)
			return out
		}
		s.Sid, s.Effect = str("Sid"), str("Effect")
		s.Actions, s.NotActions = list("Action"), list("NotAction")
		s.Resources, s.NotResources = list("Resource"), list("NotResource")
		if err != nil {
			return Policy{}, fmt.Errorf("%s statement %d: %w", name, i, err)
		}
		if s.Principals, err = principals(m["Principal"]); err != nil {
			return Policy{}, fmt.Errorf("%s statement %d: Principal: %w", name, i, err)
		}
		if s.NotPrincipals, err = principals(m["NotPrincipal"]); err != nil {
			return Policy{}, fmt.Errorf("%s statement %d: NotPrincipal: %w", name, i, err)
		}
		if b, ok := m["Condition"]; ok {
			var cond map[string]map[string]json.RawMessage
			if err := json.Unmarshal(b, &cond); err != nil {
				return Policy{}, fmt.Errorf("%s statement %d: Condition: %w", name, i, err)
			}
			for _, op := range sortedKeys(cond) {
				for _, key := range sortedKeys(cond[op]) {
					var vals []string
					if err := stringOrList(cond[op][key], &vals); err != nil {
						return Policy{}, fmt.Errorf("%s statement %d: Condition %s %s: %w", name, i, op, key, err)
					}
					s.Conditions = append(s.Conditions, Condition{Operator: op, Key: key, Values: vals})
				}
			}
		}
		p.Statements = append(p.Statements, s)
	}
	return p, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// stringOrList accepts "x", ["x","y"] and also true/false (Bool values).
func stringOrList(b json.RawMessage, out *[]string) error {
	var one any
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	switch v := one.(type) {
	case string:
		*out = []string{v}
	case bool:
		*out = []string{fmt.Sprint(v)}
	case []any:
		for _, e := range v {
			switch e := e.(type) {
			case string:
				*out = append(*out, e)
			case bool:
				*out = append(*out, fmt.Sprint(e))
			default:
				return fmt.Errorf("list element %v is not a string", e)
			}
		}
	default:
		return fmt.Errorf("%s is neither a string nor a list of strings", b)
	}
	return nil
}

// principals reads "*" or {"AWS": ..., "Service": ...} into one list.
func principals(b json.RawMessage) ([]string, error) {
	if b == nil {
		return nil, nil
	}
	var star string
	if json.Unmarshal(b, &star) == nil {
		if star != "*" {
			return nil, fmt.Errorf("a string principal must be \"*\", got %q", star)
		}
		return []string{"*"}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	var out []string
	for _, k := range sortedKeys(m) {
		var vals []string
		if err := stringOrList(m[k], &vals); err != nil {
			return nil, err
		}
		out = append(out, vals...)
	}
	return out, nil
}

// Granted lists every action pattern an Allow statement of the policies
// names, for least-privilege reports.
func Granted(policies []Policy) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range policies {
		for _, s := range p.Statements {
			if s.Effect != Allow {
				continue
			}
			for _, a := range s.Actions {
				if !seen[a] {
					seen[a] = true
					out = append(out, a)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}
