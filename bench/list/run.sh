#!/usr/bin/env bash
# Foundation benchmark (issue "Foundation", docs/benchmarks.md):
#  1. cold start to ready and idle RSS of every role, each its own process;
#  2. an authenticated, tenant-scoped JSON list of 50 records through web's
#     /api proxy to the API on MariaDB, at concurrency C, and the same list
#     straight to the API in the same run (the proxy's cost as a ratio).
# Loopback only, bounded in time. Needs MariaDB on 127.0.0.1:3306 (root, no
# password) and Redis on 127.0.0.1:6379: `eval "$(bash scripts/test-services.sh)"`.
#
#   bash bench/list/run.sh            # C=64 D=20s
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/palisade-bench}"
C="${C:-64}"
D="${D:-20s}"
mkdir -p "$out"
# shellcheck source=bench/lib.sh
. bench/lib.sh
trap stop_roles EXIT

echo "building" >&2
GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}" CGO_ENABLED=0 go build -trimpath -o "$out/palisade" ./cmd/palisade
go build -o "$out/loadgen" ./bench/loadgen
db=palisade_bench
mariadb -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db CHARACTER SET utf8mb4"
redis-cli -h 127.0.0.1 --scan --pattern 'palisade_bench:*' | xargs -r redis-cli -h 127.0.0.1 del >/dev/null

export PALISADE_ENV=test PALISADE_LOG_LEVEL=warn
export PALISADE_BASE_URL=http://localhost:13000
export PALISADE_DB_DRIVER=mysql PALISADE_DB_DSN="root@tcp(127.0.0.1:3306)/$db"
export PALISADE_REDIS_URL=redis://127.0.0.1:6379/0 PALISADE_REDIS_PREFIX=palisade_bench:
export PALISADE_MAIL_DRIVER=outbox PALISADE_API_URL=http://127.0.0.1:18000 PALISADE_TRUSTED_PROXIES=127.0.0.1
export PALISADE_REALTIME_APP_ID=bench PALISADE_REALTIME_APP_KEY=bench-key PALISADE_REALTIME_APP_SECRET=bench-secret
"$out/palisade" migrate >/dev/null

echo "| role | cold start to ready | idle RSS |" >"$out/roles.md"
echo "|---|---|---|" >>"$out/roles.md"
for spec in "api 18000 19100" "web 13000 19101" "hq 13001 19102" "realtime 18080 19103" "worker 0 19104" "scheduler 0 19105"; do
	read -r role cold rss < <(start_role $spec)
	printf '| %s | %d ms | %.1f MiB |\n' "$role" "$cold" "$(awk -v r="$rss" 'BEGIN{print r/1024}')" >>"$out/roles.md"
done
cat "$out/roles.md"

# Seed: a tenant, its owner logged in through web, and 50 invitations.
host=bench.localhost:13000
curl -fs -o /dev/null -X POST http://127.0.0.1:18000/api/signup -H 'Content-Type: application/json' \
	-d '{"organisation_name":"Bench","slug":"bench","name":"Bench Owner","email":"owner@bench.test","password":"bench password 123"}'
jar="$out/jar"
curl -fs -o /dev/null -c "$jar" -H "Host: $host" -d 'email=owner@bench.test&password=bench password 123' http://127.0.0.1:13000/login
cookie="palisade_session=$(awk '$6=="palisade_session"{print $7}' "$jar")"
for i in $(seq 1 50); do
	curl -fs -o /dev/null -H "Host: $host" -H "Cookie: $cookie" -H 'Content-Type: application/json' \
		-d "{\"email\":\"invitee$i@bench.test\",\"role\":\"member\"}" http://127.0.0.1:13000/api/invitations
done
n=$(curl -fs -H "Host: $host" -H "Cookie: $cookie" http://127.0.0.1:13000/api/invitations | grep -o '"email"' | wc -l)
[ "$n" = 50 ] || { echo "expected 50 records, got $n" >&2; exit 1; }

echo "load: C=$C D=$D" >&2
"$out/loadgen" -label "web proxy → api (MariaDB)" -url http://127.0.0.1:13000/api/invitations -host "$host" -cookie "$cookie" -c "$C" -d "$D" | tee "$out/web.json"
"$out/loadgen" -label "api direct (MariaDB)" -url http://127.0.0.1:18000/api/invitations -forwarded-host "$host" -cookie "$cookie" -c "$C" -d "$D" | tee "$out/api.json"
