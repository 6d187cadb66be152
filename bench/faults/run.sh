#!/usr/bin/env bash
# Fault-injection suite (issue 10, docs/reliability.md): runs the resilience
# tests verbosely against the real services and prints the figures they
# record (lines "FIGURE name key=value ..."). Loopback only; each scenario is
# bounded to a few minutes. Needs the test services:
#   eval "$(bash scripts/test-services.sh)"   # or: source /tmp/services.env
#
#   bash bench/faults/run.sh            # every scenario
#   RUN=TestRollingRestart bash bench/faults/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/palisade-faults}"
mkdir -p "$out"
: "${PALISADE_TEST_MYSQL_DSN:?set the test services first: eval \"\$(bash scripts/test-services.sh)\"}"
export PALISADE_TEST_REQUIRE_SERVICES=1
echo "machine: $(nproc) cores; $(uptime)" | tee "$out/machine.txt"
date -u +"date: %Y-%m-%dT%H:%M:%SZ" | tee -a "$out/machine.txt"
set +e
go test -count=1 -v -run "${RUN:-.}" ./internal/resilience/... 2>&1 | tee "$out/test.log"
rc=${PIPESTATUS[0]}
set -e
echo
echo "figures:"
grep -ho 'FIGURE .*' "$out/test.log" || echo "(none recorded)"
exit "$rc"
