package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
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
  files       "files audit-buckets [-json]" reports tenant buckets whose settings drifted
              (versioning, encryption, public access, policy, lifecycle, notifications);
              exits non-zero on drift
  dev         every role in one process on embedded defaults
  version     print the version

Configuration comes from PALISADE_* environment variables; see docs/configuration.md.
`

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
	case "dev":
		return runDev(ctx, getenv, stdout, stderr)
	case "api", "web", "hq", "realtime", "worker", "scheduler", "migrate", "audit", "scan", "files":
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown role %q", role)
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
	log := obs.NewLogger(stdout, cfg.LogLevel, role)
	log.Info("starting", "version", buildinfo.String(), "config", cfg)

	switch role {
	case "api":
		return app.RunAPI(ctx, cfg, log)
	case "web":
		return app.RunWeb(ctx, cfg, log)
	case "hq":
		if len(rest) > 0 && rest[0] == "create-operator" {
			return createOperator(ctx, cfg, rest[1:], getenv, stdout)
		}
		return app.RunHQ(ctx, cfg, log)
	case "realtime":
		return app.RunRealtime(ctx, cfg, log)
	case "worker":
		return app.RunWorker(ctx, cfg, log)
	case "scheduler":
		return app.RunScheduler(ctx, cfg, log)
	case "migrate":
		return app.RunMigrate(ctx, cfg, log)
	case "audit":
		return auditCommand(ctx, cfg, rest, stdout)
	case "scan":
		return scanCommand(ctx, cfg, rest, getenv, log, stdout)
	case "files":
		return filesCommand(ctx, cfg, rest, log, stdout)
	}
	return nil
}

func createOperator(ctx context.Context, cfg config.Config, args []string, getenv config.Getenv, stdout io.Writer) error {
	fs := flag.NewFlagSet("create-operator", flag.ContinueOnError)
	fs.SetOutput(stdout)
	email := fs.String("email", "", "operator's email")
	name := fs.String("name", "", "operator's name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Never a flag: it would show in the process list and shell history.
	password := getenv("PALISADE_OPERATOR_PASSWORD")
	if *email == "" || *name == "" || password == "" {
		return errors.New("create-operator needs -email, -name and PALISADE_OPERATOR_PASSWORD")
	}
	o, err := app.RunCreateOperator(ctx, cfg, obs.NewLogger(io.Discard, "error", "hq"), strings.TrimSpace(*email), *name, password)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "operator %s created (id %d)\n", o.Email, o.ID)
	return nil
}

// auditCommand is `palisade audit verify`: it recomputes the hash chains,
// records the outcome on the platform trail (so HQ sees it) and fails when
// a chain is broken, so a cron or CI step alerts on it.
func auditCommand(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return errors.New(`usage: palisade audit verify [-json]`)
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stdout)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := st.VerifyAuditChains(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
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
