package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/buildinfo"
	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/obs"
)

const usage = `usage: palisade <role> [args]

roles:
  api         internal JSON API (:8000)
  web         tenant and sign-up site (:3000)
  hq          operators' console (:3000); "hq create-operator -email E -name N" adds an operator
              (password from PALISADE_OPERATOR_PASSWORD)
  realtime    Pusher-protocol WebSocket server (:8080)
  worker      background job worker
  scheduler   periodic job scheduler
  migrate     apply database migrations and exit
  audit       "audit verify [-json]" recomputes every audit chain and reports the first
              broken link of each; exits non-zero if one is broken
  scan        S3 upload scanner: the AWS Lambda handler for EventBridge "Object Created"
              events; outside Lambda, "scan -event FILE" scans the event in FILE once
  update-definitions
              mirror the ClamAV signature databases into PALISADE_CLAMAV_DEFINITIONS_BUCKET
              (the scheduled Lambda); outside Lambda it runs once
  files       "files audit-buckets [-json]" reports tenant buckets whose settings drifted
              (versioning, encryption, public access, policy, lifecycle, notifications);
              exits non-zero on drift
  dev         every role in one process on embedded defaults
  version     print the version

Configuration comes from PALISADE_* environment variables; see docs/configuration.md.
`

// roleHelp is the first part of `palisade <role> --help`; the variables
// the role reads follow it, generated from internal/config.
var roleHelp = map[string]string{
	"api":       "usage: palisade api\n\nThe internal JSON API (:8000, or PALISADE_HTTP_ADDR).\n",
	"web":       "usage: palisade web\n\nThe tenant and sign-up site (:3000, or PALISADE_HTTP_ADDR).\n",
	"hq":        "usage: palisade hq\n       palisade hq create-operator -email E -name N   (password from PALISADE_OPERATOR_PASSWORD)\n\nThe operators' console (:3000, or PALISADE_HTTP_ADDR).\n",
	"realtime":  "usage: palisade realtime\n\nThe Pusher-protocol WebSocket server (:8080, or PALISADE_HTTP_ADDR).\n",
	"worker":    "usage: palisade worker\n\nThe background job worker.\n",
	"scheduler": "usage: palisade scheduler\n\nThe periodic job scheduler (it only enqueues).\n",
	"migrate":   "usage: palisade migrate\n\nApplies the database migrations and exits.\n",
	"audit":     "usage: palisade audit verify [-json]\n\nRecomputes every audit chain and reports the first broken link of each;\nexits non-zero if one is broken.\n",
	"scan": "usage: palisade scan [-event FILE]\n\nThe S3 upload scanner: the AWS Lambda handler for EventBridge \"Object Created\"\n" +
		"events; outside Lambda, -event FILE scans the event in FILE once.\n",
	"update-definitions": "usage: palisade update-definitions\n\nMirrors the ClamAV signature databases into PALISADE_CLAMAV_DEFINITIONS_BUCKET\n(the scheduled Lambda); outside Lambda it runs once.\n",
	"files":              "usage: palisade files audit-buckets [-json]\n\nReports tenant buckets whose settings drifted; exits non-zero on drift.\n",
	"dev":                "usage: palisade dev\n\nEvery role in one process on embedded defaults (SQLite and an S3 store under\nPALISADE_DEV_DATA_DIR, an in-process Redis, mail on HQ's Outbox page).\n",
}

// action is a role's work once its arguments are checked and the
// configuration loaded.
type action func(ctx context.Context, cfg config.Config, log *slog.Logger) error

// run is the whole program; main only adds the OS. Tests call it directly.
func run(ctx context.Context, args []string, getenv config.Getenv, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return errors.New("no role given")
	}
	role, rest := args[1], args[2:]
	switch role {
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, buildinfo.String())
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	if _, ok := roleHelp[role]; !ok {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown role %q", role)
	}
	// Help starts nothing: no configuration, no data folder, no port.
	if wantsHelp(rest) {
		fmt.Fprintf(stdout, "%s\nVariables it reads (default in brackets; docs/configuration.md has them all):\n%s", roleHelp[role], config.VariablesHelp(role))
		if req := config.Required(role, config.Config{MailDriver: "smtp"}); len(req) > 0 && role != "dev" {
			fmt.Fprintf(stdout, "\nRequired in staging and production: %s\n", strings.Join(req, ", "))
		}
		return nil
	}
	// Arguments are checked before anything is loaded or logged.
	act, err := parseArgs(role, rest, getenv, stdout)
	if err != nil {
		fmt.Fprint(stderr, roleHelp[role])
		return err
	}
	if role == "dev" {
		return runDev(ctx, getenv, stdout, stderr)
	}

	resolver := config.NewLazyAWSSecrets(func(ctx context.Context) (*secretsmanager.Client, error) {
		c, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, err
		}
		return secretsmanager.NewFromConfig(c), nil
	})
	cfg, err := config.Load(ctx, getenv, resolver, nil)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	// Staging and production name every variable a role needs; a silent
	// default there (a realtime URL on loopback) would fail much later.
	if err := config.CheckRequired(requiredRole(role, rest), cfg, getenv); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := obs.NewLogger(stdout, cfg.LogLevel, role, cfg.Secrets()...)
	for _, u := range config.UnknownVariables(os.Environ()) {
		log.Warn(u.String())
	}
	log.Info("starting", "version", buildinfo.String(), "config", cfg)
	return act(ctx, cfg, log)
}

// wantsHelp reports -h, -help or --help among a role's arguments.
func wantsHelp(rest []string) bool {
	for _, a := range rest {
		if a == "--" {
			return false
		}
		if a == "-h" || a == "-help" || a == "--help" {
			return true
		}
	}
	return false
}

// parseArgs checks a role's arguments and returns what it will do.
func parseArgs(role string, rest []string, getenv config.Getenv, stdout io.Writer) (action, error) {
	noArgs := func(a action) (action, error) {
		if len(rest) > 0 {
			return nil, fmt.Errorf("palisade %s takes no arguments (got %q)", role, strings.Join(rest, " "))
		}
		return a, nil
	}
	switch role {
	case "api":
		return noArgs(app.RunAPI)
	case "web":
		return noArgs(app.RunWeb)
	case "realtime":
		return noArgs(app.RunRealtime)
	case "worker":
		return noArgs(app.RunWorker)
	case "scheduler":
		return noArgs(app.RunScheduler)
	case "migrate":
		return noArgs(app.RunMigrate)
	case "dev":
		return noArgs(nil)
	case "update-definitions":
		return noArgs(func(ctx context.Context, cfg config.Config, log *slog.Logger) error {
			return updateDefinitionsCommand(ctx, cfg, getenv, log, stdout)
		})
	case "hq":
		if len(rest) > 0 && rest[0] == "create-operator" {
			return parseCreateOperator(rest[1:], getenv, stdout)
		}
		return noArgs(app.RunHQ)
	case "audit":
		return parseAudit(rest, stdout)
	case "scan":
		return parseScan(rest, getenv, stdout)
	case "files":
		return parseFiles(rest, stdout)
	}
	return nil, fmt.Errorf("unknown role %q", role)
}

// requiredRole is the role whose variables config.Required lists; the
// one-off commands need what the role they act for needs.
func requiredRole(role string, rest []string) string {
	switch {
	case role == "hq" && len(rest) > 0 && rest[0] == "create-operator", role == "audit":
		return "migrate" // the database alone
	case role == "files":
		return "files"
	}
	return role
}

func parseCreateOperator(args []string, getenv config.Getenv, stdout io.Writer) (action, error) {
	fs := flag.NewFlagSet("create-operator", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run prints the role's usage
	email := fs.String("email", "", "operator's email")
	name := fs.String("name", "", "operator's name")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	// Never a flag: it would show in the process list and shell history.
	password := getenv(config.OperatorPassword)
	if *email == "" || *name == "" || password == "" || fs.NArg() > 0 {
		return nil, errors.New("create-operator needs -email, -name and PALISADE_OPERATOR_PASSWORD, and nothing else")
	}
	return func(ctx context.Context, cfg config.Config, _ *slog.Logger) error {
		o, err := app.RunCreateOperator(ctx, cfg, obs.NewLogger(io.Discard, "error", "hq"), strings.TrimSpace(*email), *name, password)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "operator %s created (id %d)\n", o.Email, o.ID)
		return nil
	}, nil
}

// parseAudit is `palisade audit verify`: it recomputes the hash chains,
// records the outcome on the platform trail (so HQ sees it) and fails when
// a chain is broken, so a cron or CI step alerts on it.
func parseAudit(args []string, stdout io.Writer) (action, error) {
	if len(args) == 0 || args[0] != "verify" {
		return nil, fmt.Errorf("audit: want the subcommand verify, got %q", strings.Join(args, " "))
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run prints the role's usage
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("audit verify: unexpected %q", strings.Join(fs.Args(), " "))
	}
	return func(ctx context.Context, cfg config.Config, _ *slog.Logger) error {
		return auditVerify(ctx, cfg, *asJSON, stdout)
	}, nil
}

func auditVerify(ctx context.Context, cfg config.Config, asJSON bool, stdout io.Writer) error {
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := st.VerifyAuditChains(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		if err := json.NewEncoder(stdout).Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(stdout, rep.String())
	}
	if err := st.RecordAuditVerification(ctx, rep, "system"); err != nil {
		return err
	}
	if !rep.OK() {
		return fmt.Errorf("audit trail broken in %d chain(s)", len(rep.Breaks))
	}
	return nil
}
