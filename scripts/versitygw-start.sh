#!/usr/bin/env bash
# Starts a versitygw S3-compatible server for tests and benchmarks, with a
# root user and a second, non-root "userplus" user for the app (root ignores
# bucket policies, so only a non-root user exercises them).
#
#   bash scripts/versitygw-start.sh BIN DIR PORT ADMIN_PORT [WEBHOOK_URL]
#
# versitygw posts a test event to WEBHOOK_URL at start and exits if that
# fails, so the receiver must already be listening.
set -euo pipefail
bin=$1 dir=$2 port=$3 admin=$4 webhook=${5:-}
root_access=palisaderoot root_secret=palisaderootsecret
mkdir -p "$dir/data" "$dir/versions" "$dir/iam"
up() { (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; }
if ! up; then
	args=(--access "$root_access" --secret "$root_secret" --port "127.0.0.1:$port" --admin-port "127.0.0.1:$admin"
		--iam-dir "$dir/iam" --cors-allow-origin '*' --quiet)
	[ -n "$webhook" ] && args+=(--event-webhook-url "$webhook")
	setsid "$bin" "${args[@]}" posix --versioning-dir "$dir/versions" "$dir/data" >"$dir/versitygw.log" 2>&1 </dev/null &
	echo $! >"$dir/versitygw.pid"
	for _ in $(seq 1 150); do up && break; sleep 0.2; done
	up || { echo "versitygw did not start; see $dir/versitygw.log" >&2; tail -20 "$dir/versitygw.log" >&2; exit 1; }
fi
# The app's user; creating it twice is harmless (the second call fails and
# the first one's keys stand).
"$bin" admin --access "$root_access" --secret "$root_secret" --endpoint-url "http://127.0.0.1:$admin" \
	create-user --access palisadeapp --secret palisadeappsecret --role userplus >/dev/null 2>&1 || true
