#!/usr/bin/env bash
# Regenerates docs/screenshots/*.png (the README links them): one command,
#
#     scripts/screenshots.sh            # into docs/screenshots/
#     scripts/screenshots.sh /tmp/shots # or into another folder
#
# Rerun it after any change to templates or CSS and commit the PNGs.
# It runs TestScreenshots (internal/e2e/screenshots_test.go): an in-process
# stack on SQLite and an embedded Redis with seeded demo data (tenant acme
# with members, files in every scan state, other tenants, an operator with
# a break-glass grant), driven by headless Chromium at 1280 px and 390 px.
# Needs Go and Chromium: PALISADE_TEST_CHROMIUM, or chromium on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/screenshots}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
if [ -z "${PALISADE_TEST_CHROMIUM:-}" ]; then
	for b in chromium chromium-browser google-chrome headless-shell; do
		if p="$(command -v "$b")"; then export PALISADE_TEST_CHROMIUM="$p"; break; fi
	done
fi
if [ -z "${PALISADE_TEST_CHROMIUM:-}" ]; then
	echo "screenshots: no Chromium found; set PALISADE_TEST_CHROMIUM to its binary" >&2
	exit 1
fi
mkdir -p "$out"
PALISADE_SCREENSHOTS="$out" go test -count=1 -run '^TestScreenshots$' -v ./internal/e2e | grep -E 'wrote|^(--- |ok|FAIL)' || { echo "screenshots: the test failed; rerun without the filter: PALISADE_SCREENSHOTS=$out go test -count=1 -run '^TestScreenshots\$' -v ./internal/e2e" >&2; exit 1; }
ls -1 "$out"/*.png
