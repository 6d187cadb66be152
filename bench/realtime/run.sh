#!/usr/bin/env bash
# Runs the realtime benchmark on this machine, loopback only: Palisade's
# server and Centrifugo v6.9.1 (both on the local Redis), then the two
# WebSocket libraries holding bare idle connections. Prints one JSON line per
# run. Needs Redis on 127.0.0.1:6379 and
#   go install github.com/centrifugal/centrifugo/v6@v6.9.1
# Usage: bench/realtime/run.sh [connections ...]   (default: 10000)
# RATE (default 2) is the steady phase's messages per second; BURST (50) the
# back-to-back messages of the fan-out phase; BURST=0 RATE=0 measures memory
# only. PROFILE=<dir> writes a CPU profile of Palisade's server for the whole
# run to <dir>/palisade-<n>.pprof (go tool pprof -top <file>).
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=("${@:-10000}")
rate="${RATE:-2}"
burst="${BURST:-50}"
steady=10s
[ "$rate" = 0 ] && steady=0 && rate=1
bin="$(mktemp -d)"
trap 'rm -rf "$bin"' EXIT
GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}" go build -o "$bin/realtime" ./bench/realtime
centrifugo="$(go env GOPATH)/bin/centrifugo"

cat >"$bin/centrifugo.json" <<'JSON'
{
  "http_server": {"address": "127.0.0.1", "port": 8100},
  "log": {"level": "error"},
  "client": {"insecure": true, "allowed_origins": ["*"]},
  "http_api": {"key": "bench"},
  "engine": {"type": "redis", "redis": {"address": ["redis://127.0.0.1:6379"], "prefix": "bench-centrifugo"}},
  "usage_stats": {"disabled": true}
}
JSON

# start CMD... : runs a server in the background and waits for its port.
start() {
	"$@" >"$bin/server.log" 2>&1 &
	pid=$!
	sleep 2
	kill -0 "$pid"
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; }

for n in "${sizes[@]}"; do
	start "$bin/realtime" server -addr 127.0.0.1:7001 -prefix "bench:$$:" ${PROFILE:+-cpuprofile "$PROFILE/palisade-$n.pprof"}
	"$bin/realtime" load -target palisade -url http://127.0.0.1:7001 -pid "$pid" -n "$n" -rate "$rate" -steady "$steady" -burst "$burst"
	stop

	start "$centrifugo" -c "$bin/centrifugo.json"
	"$bin/realtime" load -target centrifugo -url http://127.0.0.1:8100 -api-key bench -pid "$pid" -n "$n" -rate "$rate" -steady "$steady" -burst "$burst"
	stop

	for lib in gorilla coder; do
		start "$bin/realtime" wslib -lib "$lib" -addr 127.0.0.1:7002
		printf 'wslib=%s ' "$lib"
		"$bin/realtime" load -target raw -url http://127.0.0.1:7002 -pid "$pid" -n "$n" -steady 0 -burst 0
		stop
	done
done
