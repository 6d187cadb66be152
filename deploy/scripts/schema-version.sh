#!/usr/bin/env bash
# Prints the schema version a source tree needs: the number of its highest
# MariaDB migration (internal/store/migrations/mysql/NNNNN_name.sql), as
# `palisade migrate` of that tree leaves the database.
#
#   schema-version.sh [repository root]     (default: the current directory)
set -euo pipefail

dir="${1:-.}/internal/store/migrations/mysql"
v=$(find "${dir}" -maxdepth 1 -name '[0-9]*_*.sql' -printf '%f\n' 2>/dev/null |
  sed -E 's/^0*([0-9]+)_.*/\1/' | sort -n | tail -n 1)
if [ -z "${v}" ]; then
  echo "schema-version: no migrations under ${dir}" >&2
  exit 1
fi
echo "${v}"
