# mix_stack: builds palisade and bench/mix into $out, migrates a fresh
# MariaDB database, and starts api, web, realtime and worker as separate
# processes on MariaDB, Redis, versitygw S3 and clamd. Sourced by
# bench/mix/run.sh and bench/soak/run.sh (after bench/lib.sh). Ports are
# their own (2xxxx) so the list benchmark can run beside it.
mix_stack() {
	# S3 and clamd come from the test services file.
	# shellcheck disable=SC1091
	. /tmp/services.env 2>/dev/null || true
	: "${PALISADE_TEST_S3_ENDPOINT:?S3 (versitygw) is required: PALISADE_TEST_S3_ENDPOINT}"
	: "${PALISADE_TEST_CLAMD_ADDR:?clamd is required: PALISADE_TEST_CLAMD_ADDR}"
	echo "building" >&2
	# BUILD_FROM=<git rev> builds palisade from that commit instead of the
	# working tree (which may hold someone's unfinished change).
	if [ -n "${BUILD_FROM:-}" ]; then
		rm -rf "$out/src" && mkdir -p "$out/src"
		git archive "$BUILD_FROM" | tar -x -C "$out/src"
		(cd "$out/src" && CGO_ENABLED=0 go build -trimpath -o "$out/palisade" ./cmd/palisade)
	else
		CGO_ENABLED=0 go build -trimpath -o "$out/palisade" ./cmd/palisade
	fi
	go build -o "$out/mix" ./bench/mix
	db=palisade_mix
	mariadb -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db CHARACTER SET utf8mb4"
	redis-cli -h 127.0.0.1 --scan --pattern 'palisade_mix:*' | xargs -r redis-cli -h 127.0.0.1 del >/dev/null

	export PALISADE_ENV=test PALISADE_LOG_LEVEL=warn
	export PALISADE_BASE_URL=http://localhost:23000
	export PALISADE_DB_DRIVER=mysql PALISADE_DB_DSN="root@tcp(127.0.0.1:3306)/$db"
	export PALISADE_REDIS_URL=redis://127.0.0.1:6379/0 PALISADE_REDIS_PREFIX=palisade_mix:
	export PALISADE_MAIL_DRIVER=outbox PALISADE_API_URL=http://127.0.0.1:28000 PALISADE_TRUSTED_PROXIES=127.0.0.1
	export PALISADE_REALTIME_APP_ID=bench PALISADE_REALTIME_APP_KEY=bench-key PALISADE_REALTIME_APP_SECRET=bench-secret
	export PALISADE_REALTIME_API_URL=http://127.0.0.1:28080
	export PALISADE_S3_ENDPOINT="$PALISADE_TEST_S3_ENDPOINT" PALISADE_S3_REGION=us-east-1
	export PALISADE_S3_ACCESS_KEY="$PALISADE_TEST_S3_ACCESS_KEY" PALISADE_S3_SECRET_KEY="$PALISADE_TEST_S3_SECRET_KEY"
	export PALISADE_S3_BUCKET_PREFIX="pmix-$(date +%s)-"
	export PALISADE_CLAMD_ADDR="$PALISADE_TEST_CLAMD_ADDR" PALISADE_CLAMD_TIMEOUT=30s
	# All simulated users come from one machine: the limiter still runs on
	# every request (Redis GCRA) but with limits no run reaches, so the
	# figures are capacity, not the limit.
	export PALISADE_RATE_LIMIT_API_PER_IP=10000000 PALISADE_RATE_LIMIT_API_PER_TENANT=10000000
	export PALISADE_RATE_LIMIT_AUTH_PER_IP=10000000 PALISADE_RATE_LIMIT_AUTH_PER_TENANT=10000000
	"$out/palisade" migrate >/dev/null

	echo "| role | cold start to ready | idle RSS |" >"$out/roles.md"
	echo "|---|---|---|" >>"$out/roles.md"
	local spec role cold rss
	for spec in "api 28000 29100" "web 23000 29101" "realtime 28080 29103" "worker 0 29104"; do
		read -r role cold rss < <(start_role $spec)
		[ -n "$rss" ] || { echo "$role did not start" >&2; exit 1; }
		printf '| %s | %d ms | %.1f MiB |\n' "$role" "$cold" "$(awk -v r="$rss" 'BEGIN{print r/1024}')" >>"$out/roles.md"
	done
	cat "$out/roles.md" >&2
}

# mix_flags: the harness's flags that point it at mix_stack's roles.
mix_flags=(-web http://127.0.0.1:23000 -api http://127.0.0.1:28000 -realtime ws://127.0.0.1:28080
	-domain localhost:23000 -app-key bench-key -dsn "root@tcp(127.0.0.1:3306)/palisade_mix")
