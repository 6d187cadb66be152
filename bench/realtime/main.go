// Command realtime measures Palisade's realtime server against Centrifugo on
// one machine, over loopback only: resident memory per idle connection, and
// broadcast fan-out (deliveries per second, p50/p99 latency) to N
// subscribers of one channel. Every loop is bounded in count and time.
//
//	realtime server -addr 127.0.0.1:7001 -redis redis://127.0.0.1:6379/0
//	realtime wslib  -lib gorilla|coder -addr 127.0.0.1:7002
//	realtime load   -target palisade|centrifugo|raw -url ... -pid <server pid> -n 10000
//
// See bench/realtime/run.sh for the full run and docs/benchmarks-realtime.md
// for results.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: realtime server|wslib|load [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "server":
		err = runServer(os.Args[2:])
	case "wslib":
		err = runWSLib(os.Args[2:])
	case "load":
		err = runLoad(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "realtime:", err)
		os.Exit(1)
	}
}
