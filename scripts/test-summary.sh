#!/usr/bin/env bash
# Prints what `make test` skipped or ran on an embedded stand-in, from the
# records internal/testenv/skiplog wrote to the file in $1, and how to run
# the rest. Silent when nothing was skipped (CI, with every service).
set -euo pipefail
log="$1"
[ -s "$log" ] || exit 0
summary() {
	awk -F'\t' -v kind="$1" '$1 == kind && !seen[$0]++ { n[$2 "\t" $3]++ } END { for (k in n) { split(k, p, "\t"); printf "  %5d  %-36s %s\n", n[k], p[1], p[2] } }' "$log" | sort -rn
}
skipped=$(summary skipped)
standin=$(summary stand-in)
echo
echo "== test summary: what ran without the real service"
if [ -n "$skipped" ]; then
	echo "Skipped (tests, service, the variable that enables them):"
	echo "$skipped"
fi
if [ -n "$standin" ]; then
	echo "Ran on an embedded stand-in (tests, service, the variable for the real one):"
	echo "$standin"
fi
echo 'To run everything against real services, as CI does: eval "$(bash scripts/test-services.sh)" && make test'
