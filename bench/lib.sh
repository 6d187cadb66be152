# Shell helpers shared by the bench/*/run.sh drivers; source it after
# setting $out (the run's scratch directory, holding $out/palisade).

now_ms() { date +%s%3N; }

# start_role ROLE HTTP_PORT METRICS_PORT: starts one role of $out/palisade
# in the background, waits for /readyz on its metrics port, then prints
# "role cold_ms rss_kib" (cold start to ready, RSS after 2 s idle). The pid
# goes to $out/ROLE.pid, because callers often run this in a subshell.
start_role() {
	local role=$1 port=$2 metrics=$3 t0 t1 pid
	t0=$(now_ms)
	PALISADE_HTTP_ADDR="127.0.0.1:$port" PALISADE_METRICS_ADDR="127.0.0.1:$metrics" "$out/palisade" "$role" >"$out/$role.log" 2>&1 &
	pid=$!
	echo "$pid" >"$out/$role.pid"
	until curl -fs -o /dev/null "http://127.0.0.1:$metrics/readyz"; do
		kill -0 "$pid" 2>/dev/null || { echo "$role died:" >&2; cat "$out/$role.log" >&2; exit 1; }
		sleep 0.01
	done
	t1=$(now_ms)
	sleep 2
	echo "$role $((t1 - t0)) $(awk '/VmRSS/{print $2}' "/proc/$pid/status")"
}

# stop_roles: SIGTERM every role start_role started, and wait (≤ 15 s) for
# them to exit.
stop_roles() {
	local f pid i
	for f in "$out"/*.pid; do
		[ -e "$f" ] || continue
		pid=$(cat "$f")
		kill "$pid" 2>/dev/null || true
		for i in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		rm -f "$f"
	done
}
