package config

import (
	"fmt"
	"reflect"
	"strings"
)

// Markdown documents every variable from the struct tags, so
// docs/configuration.md cannot drift from the code (a test compares them).
func Markdown() string {
	var b strings.Builder
	b.WriteString("# Configuration\n\n")
	b.WriteString("Every setting is a `PALISADE_*` environment variable, read into one typed struct\n")
	b.WriteString("(`internal/config`), validated at start-up with an error that names the variable, and\n")
	b.WriteString("logged with secrets masked. A value of the form `aws-sm://<secret-id>[#json-key]` is read\n")
	b.WriteString("from AWS Secrets Manager at start-up. `palisade dev` sets its own defaults (SQLite,\n")
	b.WriteString("in-process Redis, outbox mail, loopback trusted proxies); the environment still wins,\n")
	b.WriteString("for every variable (`PALISADE_REALTIME_WEBHOOK_URL` and `PALISADE_S3_WEBHOOK_TOKEN` too).\n\n")
	b.WriteString("`palisade <role> --help` (or `-h`) prints the role's usage, the variables it reads and\n")
	b.WriteString("those it requires in staging and production, and starts nothing. At start-up every role\n")
	b.WriteString("warns about a `PALISADE_*` variable that Palisade does not know, naming the closest known\n")
	b.WriteString("one (`PALISADE_SESSION_IDEL_TIMEOUT`: did you mean `PALISADE_SESSION_IDLE_TIMEOUT`?).\n")
	b.WriteString("`palisade dev` logs one line of text per record; the other roles log JSON. Secret values\n")
	b.WriteString("(those marked below, and passwords inside URLs and DSNs) are masked in every log line.\n\n")
	b.WriteString("This page is generated: `go test ./internal/config -run TestConfigurationDoc -update`.\n\n")
	b.WriteString("| Variable | Default | Secret | Meaning |\n|---|---|---|---|\n")
	t := reflect.TypeOf(Config{})
	for i := range t.NumField() {
		f := t.Field(i)
		def := f.Tag.Get("default")
		if def == "" {
			def = "—"
		} else {
			def = "`" + def + "`"
		}
		secret := ""
		if f.Tag.Get("secret") == "true" {
			secret = "yes"
		}
		help := f.Tag.Get("help")
		if help == "" {
			help = fieldHelp[f.Name]
		}
		fmt.Fprintf(&b, "| `%s%s` | %s | %s | %s |\n", Prefix, f.Tag.Get("env"), def, secret, strings.ReplaceAll(help, "|", "\\|"))
	}
	return b.String()
}

// fieldHelp explains the variables whose tags carry no help text.
var fieldHelp = map[string]string{ // #nosec G101 -- help texts keyed by field name; names like RealtimeAppSecret are not values
	"BaseURL":                      "public origin of the apex domain; tenants live at `<slug>.<host>`, HQ at `admin.<host>`",
	"DBDriver":                     "`mysql` (MariaDB, production) or `sqlite`",
	"DBDSN":                        "MariaDB DSN (`user:pass@tcp(host:3306)/db`) or SQLite file path",
	"RedisURL":                     "`redis://` or `rediss://` URL",
	"RedisPrefix":                  "prefix of every Redis key, so environments and tests can share a server",
	"APIURL":                       "where web and hq reach the internal API",
	"SessionIdle":                  "session idle timeout",
	"SessionAbsolute":              "session absolute lifetime",
	"LoginMaxPerAccount":           "failed logins per account within the window before 429",
	"LoginMaxPerIP":                "failed logins per client address within the window before 429 (a success does not reset it)",
	"LoginWindow":                  "throttle window, from the first failure",
	"InvitationTTL":                "how long an invitation link works",
	"PasswordResetTTL":             "how long a password-reset link works",
	"MailFrom":                     "sender of Palisade's mail",
	"RealtimeAppID":                "Pusher app id of the realtime server",
	"RealtimeAppKey":               "Pusher app key (public; browsers connect to `/app/<key>`)",
	"RealtimeAppSecret":            "Pusher app secret (signs channel auth and the HTTP API)",
	"RealtimeURL":                  "WebSocket origin browsers connect to; empty means `wss.<base domain>`",
	"RealtimeAPIURL":               "where api and worker publish events (the realtime role's HTTP API)",
	"RealtimeMaxConnections":       "connections per app over all realtime replicas; beyond it sockets close with 4004",
	"RealtimeTenantMaxConnections": "sockets subscribed to one tenant's channels over all replicas; -1 means no limit",
	"RealtimeMaxMessageBytes":      "largest WebSocket message or HTTP API event data the realtime server accepts",
	"RealtimeClientEventsPerSec":   "client events one socket may send per second (beyond: error 4301)",
	"RateLimitPeriod":              "window of the GCRA rate limits below",
	"RateLimitAPIPerIP":            "API requests per client address per period",
	"RateLimitAPIPerTenant":        "API requests per tenant per period",
	"RateLimitAuthPerIP":           "authentication requests (login, reset, MFA) per client address per period",
	"RateLimitAuthPerTenant":       "authentication requests per tenant per period",
	"ClamdAddr":                    "clamd address (`tcp://host:port` or `unix:///path`); without it uploads stay pending",
	"DevOwnerEmail":                "`dev`: the demo tenant owner's email",
	"DevOwnerPassword":             "`dev`: the demo owner's password (generated and printed when empty)",
	"DevOperatorEmail":             "`dev`: the HQ operator's email",
	"DevOperatorPassword":          "`dev`: the HQ operator's password (generated and printed when empty)",
	"DevDataDir":                   "`dev`: where data lives",
	"DevPublicAddr":                "`dev`: the public port with host routing (`acme.localhost`, `admin.localhost`)",
	"DevAPIAddr":                   "`dev`: the internal API's address",
	"DevRealtimeAddr":              "`dev`: the realtime server's address",
}
