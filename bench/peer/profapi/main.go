// Command profapi is the api role with net/http/pprof on a separate
// loopback listener, for profiling under bench/peer's load only. It is a
// bench build: production binaries (cmd/palisade) never serve pprof.
//
//	PROFAPI_PPROF=127.0.0.1:39200 profapi   # with the api role's PALISADE_* environment
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/obs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "profapi:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	addr := os.Getenv("PROFAPI_PPROF")
	if host, _, err := net.SplitHostPort(addr); err != nil || !net.ParseIP(host).IsLoopback() {
		return fmt.Errorf("PROFAPI_PPROF must be a loopback host:port, got %q", addr)
	}
	cfg, err := config.Load(ctx, os.Getenv, nil, nil)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := obs.NewLogger(os.Stdout, cfg.LogLevel, "api")
	go func() {
		srv := &http.Server{Addr: addr, Handler: http.DefaultServeMux, ReadHeaderTimeout: 5 * time.Second}
		log.Error("pprof listener stopped", "err", srv.ListenAndServe())
	}()
	return app.RunAPI(ctx, cfg, log)
}
