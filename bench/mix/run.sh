#!/usr/bin/env bash
# Mixed multi-tenant load (docs/benchmarks.md, "Mixed multi-tenant load"):
# api, web, realtime and worker as separate processes of the real binary
# on MariaDB, Redis, versitygw S3 and clamd; bench/mix signs up TENANTS
# organisations of MEMBERS people through the API, keeps SUBS realtime
# sockets subscribed, and runs the weighted mix through web for D, closed
# loop at concurrency C (or open loop at RATE operations/s when RATE is
# set). Loopback only, bounded in time. Needs the test services
# (/tmp/services.env: MariaDB, Redis, versitygw, clamd).
#
#   bash bench/mix/run.sh                 # C=64 D=60s, 20 tenants × 5
#   RATE=100 D=120s bash bench/mix/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/palisade-mix}"
C="${C:-64}"
D="${D:-60s}"
RATE="${RATE:-}"
TENANTS="${TENANTS:-20}"
MEMBERS="${MEMBERS:-5}"
SUBS="${SUBS:-100}"
mkdir -p "$out"
# shellcheck source=bench/lib.sh
. bench/lib.sh
# shellcheck source=bench/mix/stack.sh
. bench/mix/stack.sh
trap stop_roles EXIT

mix_stack
load=(-c "$C")
[ -n "$RATE" ] && load=(-rate "$RATE")
echo "load: ${load[*]} D=$D, $TENANTS tenants × $MEMBERS, $SUBS sockets; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$out/mix" "${mix_flags[@]}" "${load[@]}" -d "$D" -tenants "$TENANTS" -members "$MEMBERS" -subs "$SUBS" \
	-label "mix ${load[*]} $D" -json "$out/mix.json" | tee "$out/mix.md"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
