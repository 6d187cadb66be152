#!/usr/bin/env bash
# Peer benchmark (issue 10, docs/benchmarks.md "Peer"): an authenticated,
# tenant-scoped list of 50 records, Palisade against PocketBase v0.40.x on the
# same machine in one run, with the same load generator (bench/loadgen) and
# the same settings for every target, one target at a time:
#   1. PocketBase (its own SQLite), list rule = logged-in user of the
#      records' tenant with an owner/admin role;
#   2. Palisade api on SQLite;
#   3. Palisade through web's /api proxy on SQLite (reference);
#   4. Palisade api on MariaDB (the production figure).
# Palisade runs as in production: sessions in Redis (SESSION_STORE=redis),
# request rate limiter on (limits set beyond reach, so it costs its Redis
# round trips but never refuses), JSON logs at warn.
# PocketBase is built out of tree into $PB_BIN_DIR and never enters go.mod.
# Loopback only, bounded in time. Needs MariaDB on 127.0.0.1:3306 (root, no
# password) and Redis on 127.0.0.1:6379.
#
#   bash bench/peer/run.sh            # C=64 D=20s WARMUP=3s
#   PROFILE=1 bash bench/peer/run.sh  # also CPU profiles of the api under load
#                                     # (bench/peer/profapi: the api role plus
#                                     # pprof on loopback; never in production)
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/palisade-peer}"
C="${C:-64}"
D="${D:-20s}"
WARMUP="${WARMUP:-3s}"
PB_VERSION="${PB_VERSION:-v0.40.4}"
PB_BIN_DIR="${PB_BIN_DIR:-/var/cache/palisade/bin}"
pb="$PB_BIN_DIR/pocketbase-$PB_VERSION"
rm -rf "$out"
mkdir -p "$out"
pids=()
stop_all() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
}
trap stop_all EXIT

echo "building" >&2
CGO_ENABLED=0 go build -trimpath -o "$out/palisade" ./cmd/palisade
go build -o "$out/loadgen" ./bench/loadgen
if [ -n "${PROFILE:-}" ]; then CGO_ENABLED=0 go build -trimpath -o "$out/profapi" ./bench/peer/profapi; fi
if [ ! -x "$pb" ]; then
	# Out of tree: a scratch directory with no go.mod, so nothing of
	# PocketBase reaches this module. v0.40 needs Go 1.27.
	echo "installing PocketBase $PB_VERSION into $PB_BIN_DIR" >&2
	tmp=$(mktemp -d)
	(cd "$tmp" && GOTOOLCHAIN=go1.27.3 GOBIN="$tmp" CGO_ENABLED=0 GOFLAGS=-trimpath \
		go install "github.com/pocketbase/pocketbase/examples/base@$PB_VERSION")
	mkdir -p "$PB_BIN_DIR"
	mv "$tmp/base" "$pb"
	rm -rf "$tmp"
fi

load() { # load LABEL URL [loadgen flags…]
	local label=$1 url=$2
	shift 2
	echo "load: $label C=$C D=$D" >&2
	if [ -n "${PROFILE:-}" ] && [[ $label == "Palisade api"* ]]; then
		# The measured window, less a second at each end.
		local secs=$((${D%s} - 2))
		(sleep "$((${WARMUP%s} + 1))" && curl -fsS -o "$out/cpu-$PALISADE_DB_DRIVER.pprof" \
			"http://127.0.0.1:39200/debug/pprof/profile?seconds=$secs") &
	fi
	"$out/loadgen" -label "$label" -url "$url" -c "$C" -d "$D" -warmup "$WARMUP" "$@" | tee -a "$out/results.jsonl"
}
count() { { grep -o "\"$1\":" || true; } | wc -l; }
wait_http() { # wait_http URL PID LOG
	until curl -fs -o /dev/null "$1"; do
		kill -0 "$2" 2>/dev/null || { echo "server died:" >&2; cat "$3" >&2; exit 1; }
		sleep 0.05
	done
}

# ---------------------------------------------------------------- PocketBase
pbdir="$out/pb_data"
pbport=38090
pburl="http://127.0.0.1:$pbport"
"$pb" superuser upsert admin@bench.test 'bench password 123' --dir "$pbdir" >/dev/null
"$pb" serve --http "127.0.0.1:$pbport" --dir "$pbdir" --dev=false --automigrate=false >"$out/pocketbase.log" 2>&1 &
pids+=($!)
wait_http "$pburl/api/health" "$!" "$out/pocketbase.log"
json() { curl -fsS -H 'Content-Type: application/json' "$@"; }
su=$(json -d '{"identity":"admin@bench.test","password":"bench password 123"}' "$pburl/api/collections/_superusers/auth-with-password" | jq -r .token)
sj() { json -H "Authorization: $su" "$@"; }
tenants=$(sj -d '{"name":"tenants","type":"base","fields":[{"name":"slug","type":"text","required":true}],"indexes":["CREATE UNIQUE INDEX idx_tenants_slug ON tenants (slug)"]}' "$pburl/api/collections" | jq -r .id)
# Users carry their tenant and role: PocketBase's usual multi-tenant shape,
# read with the auth record it loads for every token anyway.
sj -d "{\"name\":\"bench_users\",\"type\":\"auth\",\"fields\":[
	{\"name\":\"tenant\",\"type\":\"relation\",\"collectionId\":\"$tenants\",\"maxSelect\":1,\"required\":true},
	{\"name\":\"role\",\"type\":\"select\",\"values\":[\"owner\",\"admin\",\"member\"],\"maxSelect\":1,\"required\":true}]}" \
	"$pburl/api/collections" >/dev/null
# Records comparable to Palisade's invitations; listed to a logged-in owner
# or admin of the record's tenant, pending and unexpired only (as Palisade's
# pending-invitations query).
sj -d "{\"name\":\"invitations\",\"type\":\"base\",
	\"listRule\":\"@request.auth.id != '' && @request.auth.collectionName = 'bench_users' && tenant = @request.auth.tenant && (@request.auth.role = 'owner' || @request.auth.role = 'admin') && accepted_at = '' && expires_at > @now\",
	\"viewRule\":null,\"createRule\":null,\"updateRule\":null,\"deleteRule\":null,
	\"fields\":[
	{\"name\":\"tenant\",\"type\":\"relation\",\"collectionId\":\"$tenants\",\"maxSelect\":1,\"required\":true},
	{\"name\":\"email\",\"type\":\"email\",\"required\":true},
	{\"name\":\"role\",\"type\":\"select\",\"values\":[\"admin\",\"member\"],\"maxSelect\":1,\"required\":true},
	{\"name\":\"token_hash\",\"type\":\"text\",\"hidden\":true},
	{\"name\":\"invited_by\",\"type\":\"text\"},
	{\"name\":\"expires_at\",\"type\":\"date\",\"required\":true},
	{\"name\":\"accepted_at\",\"type\":\"date\"},
	{\"name\":\"created\",\"type\":\"autodate\",\"onCreate\":true}],
	\"indexes\":[\"CREATE INDEX idx_invitations_tenant ON invitations (tenant, created)\"]}" \
	"$pburl/api/collections" >/dev/null
ta=$(sj -d '{"slug":"bench"}' "$pburl/api/collections/tenants/records" | jq -r .id)
tb=$(sj -d '{"slug":"other"}' "$pburl/api/collections/tenants/records" | jq -r .id)
owner=$(sj -d "{\"email\":\"owner@bench.test\",\"password\":\"bench password 123\",\"passwordConfirm\":\"bench password 123\",\"tenant\":\"$ta\",\"role\":\"owner\"}" \
	"$pburl/api/collections/bench_users/records" | jq -r .id)
expires=$(date -u -d '+3 days' '+%Y-%m-%d %H:%M:%S.000Z')
for i in $(seq 1 50); do
	sj -o /dev/null -d "{\"tenant\":\"$ta\",\"email\":\"invitee$i@bench.test\",\"role\":\"member\",\"token_hash\":\"$(head -c16 /dev/urandom | sha256sum | cut -c1-64)\",\"invited_by\":\"$owner\",\"expires_at\":\"$expires\"}" \
		"$pburl/api/collections/invitations/records"
done
# Another tenant's records, which the rule must hide.
for i in $(seq 1 10); do
	sj -o /dev/null -d "{\"tenant\":\"$tb\",\"email\":\"other$i@bench.test\",\"role\":\"member\",\"invited_by\":\"$owner\",\"expires_at\":\"$expires\"}" \
		"$pburl/api/collections/invitations/records"
done
pbtoken=$(json -d '{"identity":"owner@bench.test","password":"bench password 123"}' "$pburl/api/collections/bench_users/auth-with-password" | jq -r .token)
# perPage=50 as asked; skipTotal=1 spares PocketBase its COUNT(*) query,
# since Palisade's list returns no total either.
pblist="$pburl/api/collections/invitations/records?perPage=50&sort=-created&skipTotal=1"
pblist_total="$pburl/api/collections/invitations/records?perPage=50&sort=-created"
n=$(curl -fsS -H "Authorization: $pbtoken" "$pblist" | count email)
[ "$n" = 50 ] || { echo "PocketBase: expected 50 records, got $n" >&2; exit 1; }
n=$(curl -fsS "$pblist" | count email)
[ "$n" = 0 ] || { echo "PocketBase: anonymous request saw $n records" >&2; exit 1; }
curl -fsS -H "Authorization: $pbtoken" "$pblist" >"$out/pocketbase.json"
load "PocketBase $PB_VERSION (SQLite), skipTotal" "$pblist" -header "Authorization: $pbtoken"
load "PocketBase $PB_VERSION (SQLite), with total" "$pblist_total" -header "Authorization: $pbtoken"
stop_all

# ---------------------------------------------------------------- Palisade
export PALISADE_ENV=test PALISADE_LOG_LEVEL=warn
export PALISADE_BASE_URL=http://localhost:33000
export PALISADE_REDIS_URL=redis://127.0.0.1:6379/0 PALISADE_REDIS_PREFIX=palisade_peer: PALISADE_SESSION_STORE=redis
export PALISADE_MAIL_DRIVER=outbox PALISADE_API_URL=http://127.0.0.1:38000 PALISADE_TRUSTED_PROXIES=127.0.0.1
export PALISADE_REALTIME_APP_ID=bench PALISADE_REALTIME_APP_KEY=bench-key PALISADE_REALTIME_APP_SECRET=bench-secret
# One client address: the limiter runs on every request with limits no run reaches.
export PALISADE_RATE_LIMIT_API_PER_IP=100000000 PALISADE_RATE_LIMIT_API_PER_TENANT=100000000
export PALISADE_RATE_LIMIT_AUTH_PER_IP=100000000 PALISADE_RATE_LIMIT_AUTH_PER_TENANT=100000000
host=bench.localhost:33000

start_role() { # start_role ROLE HTTP_PORT METRICS_PORT
	local cmd=("$out/palisade" "$1")
	if [ "$1" = api ] && [ -n "${PROFILE:-}" ]; then cmd=("$out/profapi"); fi
	PROFAPI_PPROF=127.0.0.1:39200 PALISADE_HTTP_ADDR="127.0.0.1:$2" PALISADE_METRICS_ADDR="127.0.0.1:$3" "${cmd[@]}" >"$out/$1-$PALISADE_DB_DRIVER.log" 2>&1 &
	pids+=($!)
	wait_http "http://127.0.0.1:$3/readyz" "$!" "$out/$1-$PALISADE_DB_DRIVER.log"
}
# seed: a tenant, its owner logged in through web, 50 invitations; sets $cookie.
seed() {
	redis-cli -h 127.0.0.1 --scan --pattern 'palisade_peer:*' | xargs -r redis-cli -h 127.0.0.1 del >/dev/null
	"$out/palisade" migrate >/dev/null
	start_role api 38000 39100
	start_role web 33000 39101
	curl -fs -o /dev/null -X POST http://127.0.0.1:38000/api/signup -H 'Content-Type: application/json' \
		-d '{"organisation_name":"Bench","slug":"bench","name":"Bench Owner","email":"owner@bench.test","password":"bench password 123"}'
	local jar="$out/jar" i n
	curl -fs -o /dev/null -c "$jar" -H "Host: $host" -d 'email=owner@bench.test&password=bench password 123' http://127.0.0.1:33000/login
	cookie="palisade_session=$(awk '$6=="palisade_session"{print $7}' "$jar")"
	for i in $(seq 1 50); do
		curl -fs -o /dev/null -H "Host: $host" -H "Cookie: $cookie" -H 'Content-Type: application/json' \
			-d "{\"email\":\"invitee$i@bench.test\",\"role\":\"member\"}" http://127.0.0.1:33000/api/invitations
	done
	n=$(curl -fsS -H "X-Forwarded-Host: $host" -H "Cookie: $cookie" http://127.0.0.1:38000/api/invitations | count email)
	[ "$n" = 50 ] || { echo "Palisade ($PALISADE_DB_DRIVER): expected 50 records, got $n" >&2; exit 1; }
	n=$(curl -s -H "X-Forwarded-Host: $host" http://127.0.0.1:38000/api/invitations | count email)
	[ "$n" = 0 ] || { echo "Palisade: anonymous request saw $n records" >&2; exit 1; }
	curl -fsS -H "X-Forwarded-Host: $host" -H "Cookie: $cookie" http://127.0.0.1:38000/api/invitations >"$out/palisade-$PALISADE_DB_DRIVER.json"
}

export PALISADE_DB_DRIVER=sqlite PALISADE_DB_DSN="$out/palisade.db"
seed
load "Palisade api (SQLite)" http://127.0.0.1:38000/api/invitations -forwarded-host "$host" -cookie "$cookie"
load "Palisade web proxy → api (SQLite)" http://127.0.0.1:33000/api/invitations -host "$host" -cookie "$cookie"
stop_all

db=palisade_peer
mariadb -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db CHARACTER SET utf8mb4"
export PALISADE_DB_DRIVER=mysql PALISADE_DB_DSN="root@tcp(127.0.0.1:3306)/$db"
seed
load "Palisade api (MariaDB)" http://127.0.0.1:38000/api/invitations -forwarded-host "$host" -cookie "$cookie"
stop_all

# ---------------------------------------------------------------- report
{
	echo "C=$C, $D measured after $WARMUP warm-up; $(date -u '+%Y-%m-%d %H:%M UTC'); nproc $(nproc); load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
	echo
	echo "| target | req/s | p50 | p95 | p99 | errors | bytes/response | ÷ PocketBase (skipTotal) |"
	echo "|---|---|---|---|---|---|---|---|"
	jq -rs '(.[0].rps) as $pb | .[] | "| \(.target) | \(.rps|round) | \(.p50_ms) ms | \(.p95_ms) ms | \(.p99_ms) ms | \(.errors) | \(.bytes_per_response) | \((.rps/$pb*100|round)/100)× |"' "$out/results.jsonl"
} | tee "$out/table.md"
