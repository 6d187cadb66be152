#!/usr/bin/env bash
# Prints Cloudflare's published IPv4 and IPv6 ranges as the HCL list of the
# alb module's cloudflare_ip_ranges default (infra/modules/alb/variables.tf).
# Needs the network: it is run by an operator (docs/operations.md,
# "Cloudflare ranges"), never by the tests or infra-check.
#
# Usage: bash scripts/cloudflare-ranges.sh > /tmp/ranges.hcl
#        then replace the default list (and the date in the description and
#        the comment above it) with the output, and run tofu fmt.
set -euo pipefail

fetch() { # fetch URL: one CIDR per line, refusing anything else
  local body
  body=$(curl -fsS --proto '=https' --tlsv1.2 --max-time 20 "$1")
  printf '%s\n' "${body}" | tr -d '\r' | sed '/^[[:space:]]*$/d' | while read -r cidr; do
    if ! printf '%s' "${cidr}" | grep -Eq '^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$|^[0-9a-fA-F:]+/[0-9]{1,3}$'; then
      echo "cloudflare-ranges: unexpected line from $1: ${cidr}" >&2
      exit 1
    fi
    printf '%s\n' "${cidr}"
  done
}

v4=$(fetch https://www.cloudflare.com/ips-v4)
v6=$(fetch https://www.cloudflare.com/ips-v6)
[ -n "${v4}" ] && [ -n "${v6}" ] || {
  echo "cloudflare-ranges: an empty list; keep the current one" >&2
  exit 1
}

echo "  # Cloudflare's published ranges as of $(date -u +%F): $(printf '%s\n' "${v4}" | wc -l) IPv4, $(printf '%s\n' "${v6}" | wc -l) IPv6."
echo "  default = ["
printf '%s\n%s\n' "${v4}" "${v6}" | sed 's/.*/    "&",/'
echo "  ]"
