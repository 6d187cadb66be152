#!/usr/bin/env bash
# Starts a private clamd for tests and benchmarks: our own clamd.conf (no
# systemd folders, no clamav user) and a database holding only a hex (.ndb)
# signature for the EICAR test string, since the official databases cannot
# be downloaded here. A hex signature (unlike an .hdb hash) also matches
# EICAR inside a zip or a larger file.
#
#   bash scripts/clamd-start.sh DIR PORT [STREAM_MAX]
#
# Prints nothing on stdout; waits until clamd answers PING.
set -euo pipefail
dir=$1 port=$2 max=${3:-64M}
mkdir -p "$dir/db"
eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
hex=$(printf '%s' "$eicar" | sigtool --hex-dump)
echo "Palisade.Test.EICAR:0:*:$hex" >"$dir/db/palisade-eicar.ndb"
cat >"$dir/clamd.conf" <<CONF
Foreground yes
TCPSocket $port
TCPAddr 127.0.0.1
DatabaseDirectory $dir/db
LogFile $dir/clamd.log
LogTime yes
PidFile $dir/clamd.pid
StreamMaxLength $max
MaxFileSize $max
MaxScanSize $max
AlertExceedsMax yes
ReadTimeout 30
CommandReadTimeout 10
MaxThreads 4
CONF
if ! { exec 3<>/dev/tcp/127.0.0.1/"$port"; } 2>/dev/null; then
	setsid clamd --config-file="$dir/clamd.conf" >"$dir/stdout.log" 2>&1 </dev/null &
	echo $! >"$dir/clamd.launch.pid"
fi
exec 3>&- 2>/dev/null || true
for _ in $(seq 1 300); do
	if out=$( { exec 4<>/dev/tcp/127.0.0.1/"$port" && printf 'zPING\0' >&4 && head -c 5 <&4; } 2>/dev/null ) && [ "$out" = PONG ]; then
		exit 0
	fi
	sleep 0.2
done
echo "clamd on 127.0.0.1:$port did not answer PING within 60s; see $dir/clamd.log" >&2
tail -20 "$dir/clamd.log" >&2 || true
exit 1
