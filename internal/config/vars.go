package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Variable is one PALISADE_* setting as the struct tags describe it.
type Variable struct {
	Name    string // with the prefix
	Default string
	Secret  bool
	Help    string
}

// Variables lists every setting in the struct's order.
func Variables() []Variable {
	t := reflect.TypeOf(Config{})
	out := make([]Variable, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		help := f.Tag.Get("help")
		if help == "" {
			help = fieldHelp[f.Name]
		}
		out = append(out, Variable{Name: Prefix + f.Tag.Get("env"), Default: f.Tag.Get("default"), Secret: f.Tag.Get("secret") == "true", Help: help})
	}
	return out
}

// OperatorPassword is read by `palisade hq create-operator` alone, never
// through Config: it is a one-off input, not a setting.
const OperatorPassword = Prefix + "OPERATOR_PASSWORD" // #nosec G101 -- a variable's name, not a value

// testPrefix names the test suite's own variables (internal/testenv).
const testPrefix = Prefix + "TEST_"

// Unknown is a PALISADE_* variable that nothing reads, with the known name
// closest to it.
type Unknown struct {
	Name, Closest string
}

func (u Unknown) String() string {
	if u.Closest == "" {
		return fmt.Sprintf("%s is not a Palisade variable and is ignored (see docs/configuration.md)", u.Name)
	}
	return fmt.Sprintf("%s is not a Palisade variable and is ignored; did you mean %s?", u.Name, u.Closest)
}

// UnknownVariables finds the PALISADE_* names in environ (KEY=value
// entries, as os.Environ returns them) that no setting has: a misspelt
// variable would otherwise be silently ignored.
func UnknownVariables(environ []string) []Unknown {
	known := []string{OperatorPassword}
	for _, v := range Variables() {
		known = append(known, v.Name)
	}
	var out []Unknown
	seen := map[string]bool{}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, Prefix) || strings.HasPrefix(name, testPrefix) || slices.Contains(known, name) || seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, Unknown{Name: name, Closest: closest(name, known)})
	}
	slices.SortFunc(out, func(a, b Unknown) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// closest is the known name at the smallest edit distance from name, or ""
// when even that one differs in more than half of name's characters.
func closest(name string, known []string) string {
	best, bestD := "", len(name)/2+1
	for _, k := range known {
		if d := editDistance(strings.TrimPrefix(name, Prefix), strings.TrimPrefix(k, Prefix)); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Variable groups, by what uses them; a name ending in * is a prefix.
var (
	varsCommon   = []string{"ENV", "LOG_LEVEL"}
	varsServer   = []string{"METRICS_ADDR", "SHUTDOWN_TIMEOUT"}
	varsHTTP     = []string{"HTTP_ADDR", "SHUTDOWN_DELAY"}
	varsDB       = []string{"DB_*"}
	varsRedis    = []string{"REDIS_*"}
	varsMail     = []string{"MAIL_*", "SMTP_URL", "SES_*"}
	varsPublish  = []string{"REALTIME_APP_*", "REALTIME_API_URL"}
	varsFiles    = []string{"S3_*", "KMS_KEY_ID", "FILES_*", "CLAMD_ADDR", "CLAMD_TIMEOUT", "SCAN_MAX_BYTES", "OUTBOUND_ALLOW"}
	varsScanner  = []string{"CLAMD_*", "CLAMAV_*", "SCAN_MAX_BYTES", "S3_*"}
	roleVarsSpec = map[string][][]string{
		"api": {varsCommon, varsServer, varsHTTP, varsDB, varsRedis, varsMail, varsPublish, varsFiles, {"BASE_URL", "TRUSTED_PROXIES", "CDN_PROXIES", "CLIENT_IP_HEADER", "SESSION_*", "LOGIN_*",
			"INVITATION_TTL", "RATE_LIMIT_*", "PASSWORD_RESET_TTL", "REALTIME_URL", "REALTIME_ENCRYPTION_MASTER_KEY", "HQ_DELETION_GRACE", "HQ_BREAK_GLASS_MAX"}},
		"web":      {varsCommon, varsServer, varsHTTP, {"BASE_URL", "API_URL", "CLIENT_IP_HEADER", "REALTIME_URL", "REALTIME_APP_KEY", "S3_ENDPOINT", "S3_PUBLIC_ENDPOINT"}},
		"hq":       {varsCommon, varsServer, varsHTTP, varsDB, {"BASE_URL", "API_URL", "CLIENT_IP_HEADER", "HEALTH_*"}},
		"realtime": {varsCommon, varsServer, {"HTTP_ADDR", "OUTBOUND_ALLOW"}, varsRedis, {"REALTIME_*"}},
		"worker": {varsCommon, varsServer, varsDB, varsRedis, varsMail, varsPublish, varsFiles,
			{"BASE_URL", "REALTIME_WEBHOOK_URL", "WORKER_*", "HQ_DELETION_GRACE"}},
		"scheduler":          {varsCommon, varsServer, varsRedis, {"SCHEDULER_EVERY"}},
		"migrate":            {varsCommon, varsDB},
		"audit":              {varsCommon, varsDB},
		"scan":               {varsCommon, varsScanner, varsDB, varsMail, varsPublish, {"BASE_URL"}},
		"update-definitions": {varsCommon, varsScanner},
		"files":              {varsCommon, varsDB, {"S3_*", "KMS_KEY_ID"}},
	}
)

// RoleVariables lists the variables role reads, in the struct's order. dev
// runs every role, so it reads them all.
func RoleVariables(role string) []Variable {
	all := Variables()
	if role == "dev" {
		return all
	}
	spec, ok := roleVarsSpec[role]
	if !ok {
		return nil
	}
	var out []Variable
	for _, v := range all {
		for _, p := range slices.Concat(spec...) {
			if matchVar(p, v.Name) {
				out = append(out, v)
				break
			}
		}
	}
	return out
}

func matchVar(pattern, name string) bool {
	name = strings.TrimPrefix(name, Prefix)
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(name, p)
	}
	return name == pattern
}

// VariablesHelp is the variables part of a role's --help: name, default
// and meaning, secrets marked.
func VariablesHelp(role string) string {
	vars := RoleVariables(role)
	width := 0
	for _, v := range vars {
		width = max(width, len(v.Name))
	}
	var b strings.Builder
	for _, v := range vars {
		def := v.Default
		if def == "" {
			def = "(empty)"
		}
		if v.Secret {
			def += ", secret"
		}
		fmt.Fprintf(&b, "  %-*s  [%s] %s\n", width, v.Name, def, v.Help)
	}
	return b.String()
}
