#!/usr/bin/env bash
# Installs the real clients that the realtime tests drive (pusher-js and
# laravel-echo for browsers, the official `pusher` server SDK, and `ws` for raw
# WebSocket tests) and axe-core for the accessibility tests, into the folder given as $1, and prints that folder. Idempotent:
# a folder that already has every package at the pinned versions is left alone.
set -euo pipefail

dir="${1:?usage: install-node-clients.sh <folder>}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pinned="$here/node-clients"

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

have() {
	local want got
	want="$(node -p "require('$pinned/package.json').dependencies['$1']")"
	got="$(node -p "require('$dir/node_modules/$1/package.json').version" 2>/dev/null || true)"
	[ "$got" = "$want" ]
}

if ! have pusher-js || ! have laravel-echo || ! have pusher || ! have ws || ! have axe-core; then
	cp "$pinned/package.json" "$dir/package.json"
	if [ -f "$pinned/package-lock.json" ]; then
		cp "$pinned/package-lock.json" "$dir/package-lock.json"
		(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
	else
		(cd "$dir" && npm install --no-audit --no-fund --loglevel=error >&2)
	fi
fi
echo "$dir"
