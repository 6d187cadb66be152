#!/usr/bin/env bash
# Soak (docs/reliability.md, "Soak"): the bench/mix mix, open loop at a
# steady RATE (operations/s; pick about half the capacity bench/mix/run.sh
# measured) for D, against api, web, realtime and worker as separate
# processes. Every 10 s it samples each role's RSS (/proc/<pid>/status
# VmRSS) and goroutines (go_goroutines on its metrics port) into
# $out/soak.csv; then bench/soak/plot draws docs/soak.png and prints the
# least-squares growth per role over the second half of the run.
# Loopback only, bounded in time. Needs the test services (/tmp/services.env).
#
#   RATE=100 D=30m bash bench/soak/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/palisade-soak}"
RATE="${RATE:-100}"
D="${D:-30m}"
EVERY="${EVERY:-10}"
PNG="${PNG:-docs/soak.png}"
mkdir -p "$out"
# shellcheck source=bench/lib.sh
. bench/lib.sh
# shellcheck source=bench/mix/stack.sh
. bench/mix/stack.sh
mixpid=
finish() {
	[ -n "$mixpid" ] && kill "$mixpid" 2>/dev/null || true
	stop_roles
}
trap finish EXIT

mix_stack
declare -A pid metrics=([api]=29100 [web]=29101 [realtime]=29103 [worker]=29104)
for r in "${!metrics[@]}"; do pid[$r]=$(cat "$out/$r.pid"); done
echo "soak: rate=$RATE/s D=$D; $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg); started $(date -u +%FT%TZ)" | tee "$out/soak.txt" >&2
"$out/mix" "${mix_flags[@]}" -rate "$RATE" -d "$D" -progress 60s -label "soak ${RATE}/s $D" -json "$out/mix.json" >"$out/mix.md" 2>"$out/mix.log" &
mixpid=$!

rm -f "$out/load_start"
echo "t_s,role,rss_mib,goroutines" >"$out/soak.csv"
t0=$(date +%s)
while kill -0 "$mixpid" 2>/dev/null; do
	now=$(($(date +%s) - t0))
	for r in api web realtime worker; do
		rss=$(awk '/VmRSS/{printf "%.2f", $2/1024}' "/proc/${pid[$r]}/status" 2>/dev/null || echo "")
		[ -n "$rss" ] || { echo "soak: $r (pid ${pid[$r]}) is gone" >&2; cat "$out/$r.log" >&2; exit 1; }
		gr=$(curl -fs "http://127.0.0.1:${metrics[$r]}/metrics" | awk '$1=="go_goroutines"{print $2}')
		echo "$now,$r,$rss,$gr" >>"$out/soak.csv"
	done
	# The load begins once the harness has seeded and subscribed: mark it,
	# so the plot can tell seeding (password hashing) from the load.
	if [ ! -e "$out/load_start" ] && grep -q 'realtime sockets subscribed' "$out/mix.log"; then echo "$now" >"$out/load_start"; fi
	sleep "$EVERY"
done
wait "$mixpid" || { echo "soak: the load failed:" >&2; cat "$out/mix.log" >&2; exit 1; }
mixpid=
echo "finished $(date -u +%FT%TZ); load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/soak.txt" >&2
cat "$out/mix.md"
go run ./bench/soak/plot -csv "$out/soak.csv" -png "$PNG" -json "$out/trend.json" -load-start "$(cat "$out/load_start" 2>/dev/null || echo 0)" | tee "$out/trend.md"
