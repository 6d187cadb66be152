#!/usr/bin/env bash
# Makes sure every service the test suite talks to is installed and running
# on this machine, then prints the PALISADE_TEST_* exports for them:
#
#   eval "$(bash scripts/test-services.sh)"
#
# Progress goes to stderr; only the export lines go to stdout. Any service
# that cannot be had is an error: CI never skips silently.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${PALISADE_CACHE_DIR:-/var/cache/palisade}"
mkdir -p "$cache"
log() { echo "test-services: $*" >&2; }
apt_updated=""
apt_install() {
	if [ -z "$apt_updated" ]; then
		log "apt-get update"
		apt-get update -qq >&2
		apt_updated=1
	fi
	log "installing $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}
wait_for() { # name, seconds, command...
	local name=$1 secs=$2
	shift 2
	for _ in $(seq 1 $((secs * 5))); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.2
	done
	log "$name did not come up within ${secs}s"
	return 1
}

# MariaDB 10.11: root with an empty password on 127.0.0.1:3306.
command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || apt_install mariadb-server
if ! mariadb-admin -uroot -h127.0.0.1 ping >/dev/null 2>&1; then
	log "starting MariaDB"
	mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
	start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd >&2
	wait_for MariaDB 60 mariadb-admin -uroot -h127.0.0.1 ping
fi
log "MariaDB: $(mariadb -uroot -h127.0.0.1 -N -e 'SELECT VERSION()')"

# Redis 7 on 127.0.0.1:6379, keeping nothing on disk.
command -v redis-server >/dev/null || apt_install redis-server
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
	log "starting Redis"
	mkdir -p /var/lib/redis /var/log/redis
	redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log >&2
	wait_for Redis 30 redis-cli -h 127.0.0.1 -p 6379 ping
fi
log "Redis: $(redis-cli -h 127.0.0.1 INFO server | tr -d '\r' | grep '^redis_version')"

# Chromium for the browser tests (Debian's build; no browser download).
command -v chromium >/dev/null || apt_install chromium
log "Chromium: $(chromium --version 2>/dev/null | head -1)"

# qemu-aarch64-static runs the arm64 release image's binary in the image
# test (internal/imagebuild) on this amd64 machine.
command -v qemu-aarch64-static >/dev/null || apt_install qemu-user-static
log "qemu: $(qemu-aarch64-static --version 2>/dev/null | head -1)"
# jq: deploy/scripts/migrate.sh edits ECS task definitions with it, and
# its test runs it.
command -v jq >/dev/null || apt_install jq

# pusher-js and laravel-echo from npm, for the realtime client tests.
node_dir="$(bash "$here/install-node-clients.sh" "$cache/node-clients")"
log "node clients in $node_dir"

# clamd from Debian, started with our own clamd.conf and a database that
# holds only an EICAR hex signature (no internet: no official databases).
command -v clamd >/dev/null || [ -x /usr/sbin/clamd ] || apt_install clamav-daemon clamdscan
command -v sigtool >/dev/null || apt_install clamav
clamd_dir="$cache/clamav" clamd_port=3310
bash "$here/clamd-start.sh" "$clamd_dir" "$clamd_port" 64M
log "clamd: $(clamd --version 2>/dev/null | head -1) on 127.0.0.1:$clamd_port"

# versitygw v1.8.0 (S3-compatible, verifies SigV4), built once into the
# cache; a root user and a non-root app user (root ignores bucket policies).
vgw="$cache/bin/versitygw"
# go install stamps no version into the binary, so a file beside it does.
if [ ! -x "$vgw" ] || [ "$(cat "$vgw.version" 2>/dev/null)" != v1.8.0 ]; then
	log "building versitygw v1.8.0 (about a minute)"
	mkdir -p "$cache/bin"
	GOBIN="$cache/bin" GOFLAGS=-buildvcs=false go install github.com/versity/versitygw/cmd/versitygw@v1.8.0 >&2
	echo v1.8.0 >"$vgw.version"
fi
s3_port=7070
bash "$here/versitygw-start.sh" "$vgw" "$cache/versitygw" "$s3_port" 7071
log "versitygw: $(cat "$vgw.version") on 127.0.0.1:$s3_port"

cat <<EXPORTS
export PALISADE_TEST_S3_ENDPOINT='http://127.0.0.1:$s3_port'
export PALISADE_TEST_S3_ACCESS_KEY='palisadeapp'
export PALISADE_TEST_S3_SECRET_KEY='palisadeappsecret'
export PALISADE_TEST_VERSITYGW='$vgw'
export PALISADE_TEST_CLAMD_ADDR='tcp://127.0.0.1:$clamd_port'
export PALISADE_TEST_CLAMD_DATABASE='$clamd_dir/db'
export PALISADE_TEST_MYSQL_DSN='root@tcp(127.0.0.1:3306)/'
export PALISADE_TEST_REDIS_URL='redis://127.0.0.1:6379/0'
export PALISADE_TEST_CHROMIUM='$(command -v chromium)'
export PALISADE_TEST_NODE_MODULES='$node_dir'
export PALISADE_TEST_QEMU_AARCH64='$(command -v qemu-aarch64-static)'
export PALISADE_TEST_REQUIRE_SERVICES=1
EXPORTS
