// Command palisade runs any of Palisade's roles: api, web, hq, realtime,
// worker, scheduler, migrate, dev. See run for the details.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "palisade:", err)
		os.Exit(1)
	}
}
