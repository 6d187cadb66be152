#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each and fails if any
# of them finds a failing input (which Go writes to the package's
# testdata/fuzz/<Target>/ directory: commit it as a regression seed with the
# fix). Targets are discovered, not listed: any `func FuzzXxx` in a test file
# is run, so a new target cannot be forgotten.
#
#   FUZZTIME=10s bash scripts/fuzz-short.sh          # CI (the default)
#   FUZZTIME=5m  bash scripts/fuzz-short.sh          # the longer run (make fuzz)
#   FUZZ_MATCH=Realtime bash scripts/fuzz-short.sh   # only targets matching a regexp
#
# Some targets drive real services (FuzzEventsAPI needs Redis): source the
# test services' environment first, as for `make test`. FUZZPARALLEL sets
# -parallel (default: GOMAXPROCS). A summary table (target, package, execs,
# new corpus entries, result) is printed at the end and, if FUZZ_SUMMARY is
# set, written to that file as TSV.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
FUZZ_MATCH=${FUZZ_MATCH:-.}
parallel=()
[[ -n "${FUZZPARALLEL:-}" ]] && parallel=(-parallel "$FUZZPARALLEL")

# Packages with a Fuzz function in a test file; `go test -list` then names
# the targets exactly as the test binary sees them.
mapfile -t dirs < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Z0-9_][A-Za-z0-9_]*\(' cmd internal 2>/dev/null | xargs -r -n1 dirname | sort -u)
if [[ ${#dirs[@]} -eq 0 ]]; then
	echo "fuzz-short: no fuzz targets found" >&2
	exit 1
fi
targets=()
for d in "${dirs[@]}"; do
	if ! out=$("$GO" test -list '^Fuzz' "./$d" 2>&1); then
		echo "$out" >&2
		echo "fuzz-short: cannot list the targets of ./$d" >&2
		exit 1
	fi
	while read -r name; do
		[[ $name == Fuzz* ]] && [[ $name =~ $FUZZ_MATCH ]] && targets+=("./$d $name")
	done <<<"$out"
done
echo "fuzz-short: ${#targets[@]} targets, $FUZZTIME each"

summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
printf 'target\tpackage\texecs\tnew_corpus\tseconds\tresult\n' >"$summary"
failed=0
for t in "${targets[@]}"; do
	pkg=${t% *} name=${t#* }
	log=$(mktemp)
	start=$(date +%s)
	echo "== $name ($pkg)"
	"$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "${parallel[@]}" "$pkg" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	# The last progress line holds the totals of the run.
	last=$(grep -E '^fuzz: elapsed: .*execs: ' "$log" | tail -1)
	execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
	newc=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
	if [[ $rc -eq 0 ]]; then
		result=ok
		tail -n 3 "$log" | sed 's/^/   /'
	else
		result=FAIL
		failed=$((failed + 1))
		cat "$log"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$pkg" "${execs:-0}" "${newc:-0}" "$secs" "$result" >>"$summary"
	rm -f "$log"
done
echo
column -t -s $'\t' "$summary" 2>/dev/null || cat "$summary"
[[ -n "${FUZZ_SUMMARY:-}" ]] && cp "$summary" "$FUZZ_SUMMARY"
if [[ $failed -gt 0 ]]; then
	echo "fuzz-short: $failed target(s) failed; failing inputs are under the packages' testdata/fuzz/" >&2
	exit 1
fi
echo "fuzz-short: all ${#targets[@]} targets passed"
