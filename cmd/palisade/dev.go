//go:build !nodev

package main

import (
	"context"
	"io"
	"os"

	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/devmode"
)

// runDev is `palisade dev`. Production images build with -tags nodev, which
// leaves out this file and with it the embedded Redis and S3 store.
func runDev(ctx context.Context, getenv config.Getenv, stdout, stderr io.Writer) error {
	return devmode.Run(ctx, getenv, os.Environ(), stdout, stderr)
}
