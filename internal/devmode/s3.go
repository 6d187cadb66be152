package devmode

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/versity/versitygw/backend/meta"
	"github.com/versity/versitygw/backend/posix"
	"github.com/versity/versitygw/embedgw"
)

// versitygw's IAM cache, in seconds (its CLI defaults).
const (
	iamCacheTTL   = 120
	iamCachePrune = 3600
)

// runS3 serves an S3-compatible store (versitygw, posix backend with
// versioning) from dir until ctx ends. It verifies SigV4 (presigned URLs
// included), keeps object tags and versions, and posts ObjectCreated events
// to webhook, which must already be listening.
func runS3(ctx context.Context, dir, addr, access, secret, webhook string, log *slog.Logger) error {
	// versitygw checks its folders after changing into the data folder, so
	// relative paths would point elsewhere.
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	data, versions, sidecar, iam := filepath.Join(dir, "data"), filepath.Join(dir, "versions"), filepath.Join(dir, "meta"), filepath.Join(dir, "iam")
	for _, d := range []string{data, versions, sidecar, iam} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	sc, err := meta.NewSideCar(sidecar)
	if err != nil {
		return fmt.Errorf("object store metadata: %w", err)
	}
	opts := posix.PosixOpts{VersioningDir: versions, SideCarDir: sidecar}
	be, err := posix.New(data, sc, opts)
	if err != nil {
		return fmt.Errorf("object store: %w", err)
	}
	cfg := &embedgw.Config{
		RootUserAccess: access, RootUserSecret: secret, Region: "us-east-1",
		Ports: []string{addr}, MaxConnections: 1000, MaxRequests: 1000, AdminMaxConnections: 100, AdminMaxRequests: 100,
		MultipartMaxParts: 10000, IAMDir: iam, Quiet: true, CORSAllowOrigin: "*", EventWebhookURL: webhook,
		// Zero is not "off": the cache's prune loop would spin on
		// time.After(0) and burn a core while dev is idle.
		IAMCacheTTL: iamCacheTTL, IAMCachePrune: iamCachePrune,
	}
	log.Info("embedded S3 store starting", "addr", addr, "dir", dir)
	return embedgw.RunVersityGW(ctx, be, cfg)
}
