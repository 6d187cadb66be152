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

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/config"
)

// scanCommand is `palisade scan`: under Lambda (AWS_LAMBDA_RUNTIME_API is
// set) it serves events until the runtime stops it; elsewhere it scans the
// one event in -event and prints the result.
func scanCommand(ctx context.Context, cfg config.Config, args []string, getenv config.Getenv, log *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(stdout)
	eventFile := fs.String("event", "", "an EventBridge S3 Object Created event (JSON) to scan once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	h, closeFn, err := app.ScanHandler(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeFn()
	if getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		lambda.StartWithOptions(h.Handle, lambda.WithContext(ctx))
		return nil
	}
	if *eventFile == "" {
		return errors.New("not running in AWS Lambda: give -event FILE to scan one EventBridge event")
	}
	raw, err := os.ReadFile(*eventFile)
	if err != nil {
		return err
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("%s: %w", *eventFile, err)
	}
	res, err := h.Handle(ctx, ev)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(res)
}

// filesCommand is `palisade files audit-buckets`.
func filesCommand(ctx context.Context, cfg config.Config, args []string, log *slog.Logger, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "audit-buckets" {
		return errors.New("usage: palisade files audit-buckets [-json]")
	}
	fs := flag.NewFlagSet("files audit-buckets", flag.ContinueOnError)
	fs.SetOutput(stdout)
	asJSON := fs.Bool("json", false, "print the findings as JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
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
	if *asJSON {
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
