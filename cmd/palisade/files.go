package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/buildinfo"
	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/files"
	"github.com/palisade-hq/palisade/internal/scan"
)

// parseScan is `palisade scan`: under Lambda (AWS_LAMBDA_RUNTIME_API is
// set) it serves events until the runtime stops it; elsewhere it scans the
// one event in -event and prints the result.
func parseScan(args []string, getenv config.Getenv, stdout io.Writer) (action, error) {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run prints the role's usage
	eventFile := fs.String("event", "", "an EventBridge S3 Object Created event (JSON) to scan once")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("scan: unexpected %q", strings.Join(fs.Args(), " "))
	}
	if getenv("AWS_LAMBDA_RUNTIME_API") == "" && *eventFile == "" {
		return nil, errors.New("not running in AWS Lambda: give -event FILE to scan one EventBridge event")
	}
	return func(ctx context.Context, cfg config.Config, log *slog.Logger) error {
		return scanCommand(ctx, cfg, *eventFile, getenv, log, stdout)
	}, nil
}

func scanCommand(ctx context.Context, cfg config.Config, eventFile string, getenv config.Getenv, log *slog.Logger, stdout io.Writer) error {
	// Cold start: the signatures from the private mirror, then clamd on
	// them, before the first event is taken.
	daemon, err := startScanner(ctx, cfg, log)
	if err != nil {
		return err
	}
	if daemon != nil {
		defer daemon.Stop()
	}
	h, closeFn, err := app.ScanHandler(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeFn()
	handle := h.Handle
	if daemon != nil {
		handle = func(ctx context.Context, ev events.EventBridgeEvent) (scan.Result, error) {
			if err := daemon.Ensure(ctx); err != nil {
				return scan.Result{}, fmt.Errorf("restart clamd: %w", err)
			}
			return h.Handle(ctx, ev)
		}
	}
	if getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		lambda.StartWithOptions(handle, lambda.WithContext(ctx))
		return nil
	}
	raw, err := os.ReadFile(eventFile) // #nosec G304 -- the operator's own -event argument
	if err != nil {
		return err
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("%s: %w", eventFile, err)
	}
	res, err := handle(ctx, ev)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(res)
}

// startScanner fetches the signature set the mirror's manifest names into
// PALISADE_CLAMAV_DIR and, when PALISADE_CLAMD_BINARY is set, starts clamd
// on it at PALISADE_CLAMD_ADDR. It returns nil when clamd runs elsewhere.
func startScanner(ctx context.Context, cfg config.Config, log *slog.Logger) (*scan.Daemon, error) {
	if cfg.ClamAVBucket != "" {
		mirror, err := definitionsMirror(ctx, cfg)
		if err != nil {
			return nil, err
		}
		man, err := mirror.Manifest(ctx)
		if err != nil {
			return nil, err
		}
		if err := mirror.Fetch(ctx, man, cfg.ClamAVDir); err != nil {
			return nil, err
		}
		log.Info("signatures fetched", "bucket", cfg.ClamAVBucket, "files", len(man.Files), "published", man.Updated)
	}
	if cfg.ClamdBinary == "" {
		return nil, nil
	}
	if cfg.ClamdAddr == "" {
		return nil, &config.FieldError{Var: "CLAMD_ADDR", Msg: "where the started clamd listens (unix:///tmp/clamd.sock in the scanner image)"}
	}
	d, err := scan.StartDaemon(ctx, daemonConfig(cfg))
	if err != nil {
		return nil, err
	}
	log.Info("clamd ready", "addr", cfg.ClamdAddr)
	return d, nil
}

func daemonConfig(cfg config.Config) scan.DaemonConfig {
	return scan.DaemonConfig{Binary: cfg.ClamdBinary, DatabaseDir: cfg.ClamAVDir, Addr: cfg.ClamdAddr,
		MaxStream: int64(cfg.ScanMaxBytes), StartTimeout: cfg.ClamdStartTimeout, Log: os.Stderr}
}

func definitionsMirror(ctx context.Context, cfg config.Config) (scan.Mirror, error) {
	clients, err := files.NewClients(ctx, files.SettingsFrom(cfg, ""))
	if err != nil {
		return scan.Mirror{}, err
	}
	return scan.Mirror{S3: clients.S3, Bucket: cfg.ClamAVBucket}, nil
}

// updateDefinitionsCommand is `palisade update-definitions`: the scheduled
// Lambda (EventBridge) that refreshes the signature mirror; outside Lambda
// it runs once and prints its report.
func updateDefinitionsCommand(ctx context.Context, cfg config.Config, getenv config.Getenv, log *slog.Logger, stdout io.Writer) error {
	if cfg.ClamAVBucket == "" {
		return &config.FieldError{Var: "CLAMAV_DEFINITIONS_BUCKET", Msg: "update-definitions needs the mirror bucket"}
	}
	if cfg.ClamdBinary == "" {
		return &config.FieldError{Var: "CLAMD_BINARY", Msg: "update-definitions verifies new signatures with clamd before publishing them"}
	}
	names, err := config.ParseDatabases(cfg.ClamAVDatabases)
	if err != nil {
		return &config.FieldError{Var: "CLAMAV_DATABASES", Msg: err.Error()}
	}
	mirror, err := definitionsMirror(ctx, cfg)
	if err != nil {
		return err
	}
	u := &scan.Updater{Mirror: mirror, Upstream: cfg.ClamAVUpstream, Databases: names, Dir: cfg.ClamAVDir, Log: log,
		UserAgent: "palisade-update-definitions/" + buildinfo.Version,
		HTTP:      &http.Client{Timeout: 10 * time.Minute},
		Verify:    scan.VerifyWithClamd(daemonConfig(cfg))}
	if getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		lambda.StartWithOptions(func(ctx context.Context, _ events.EventBridgeEvent) (scan.UpdateReport, error) {
			return u.Update(ctx)
		}, lambda.WithContext(ctx))
		return nil
	}
	rep, err := u.Update(ctx)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(rep)
}

// parseFiles is `palisade files audit-buckets`.
func parseFiles(args []string, stdout io.Writer) (action, error) {
	if len(args) == 0 || args[0] != "audit-buckets" {
		return nil, fmt.Errorf("files: want the subcommand audit-buckets, got %q", strings.Join(args, " "))
	}
	fs := flag.NewFlagSet("files audit-buckets", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run prints the role's usage
	asJSON := fs.Bool("json", false, "print the findings as JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("files audit-buckets: unexpected %q", strings.Join(fs.Args(), " "))
	}
	return func(ctx context.Context, cfg config.Config, log *slog.Logger) error {
		return auditBuckets(ctx, cfg, *asJSON, log, stdout)
	}, nil
}

func auditBuckets(ctx context.Context, cfg config.Config, asJSON bool, log *slog.Logger, stdout io.Writer) error {
	findings, err := app.AuditBuckets(ctx, cfg, log)
	if err != nil {
		return err
	}
	drift := 0
	for _, f := range findings {
		if !f.Unverified {
			drift++
		}
	}
	if asJSON {
		if err := json.NewEncoder(stdout).Encode(map[string]any{"findings": findings, "drifted": drift}); err != nil {
			return err
		}
	} else {
		for _, f := range findings {
			mark := "DRIFT"
			if f.Unverified {
				mark = "UNVERIFIED"
			}
			fmt.Fprintf(stdout, "%-10s %s: %s: %s\n", mark, f.Bucket, f.Setting, f.Problem)
		}
		fmt.Fprintf(stdout, "%d finding(s), %d drifted\n", len(findings), drift)
	}
	if drift > 0 {
		return fmt.Errorf("%d tenant bucket setting(s) drifted", drift)
	}
	return nil
}
