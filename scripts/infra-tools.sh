#!/usr/bin/env bash
# Build and cache the offline infrastructure tools (OpenTofu, trivy, tflint)
# from the Go module proxy into ${PALISADE_TOOLS_DIR:-/var/cache/palisade-tools}/bin.
#
# Idempotent: a tool whose binary already exists at the pinned version is not
# rebuilt. Every build goes through the configured Go module proxy only
# ("direct" is stripped, so nothing is fetched from VCS hosts).
#
# Usage: bash scripts/infra-tools.sh [tofu|trivy|tflint ...]   (default: all)
set -euo pipefail

TOFU_VERSION="${TOFU_VERSION:-v1.12.6}"
TRIVY_VERSION="${TRIVY_VERSION:-v0.74.0}"
TFLINT_VERSION="${TFLINT_VERSION:-v0.64.0}"

TOOLS_DIR="${PALISADE_TOOLS_DIR:-/var/cache/palisade-tools}"
BIN_DIR="${TOOLS_DIR}/bin"
mkdir -p "${BIN_DIR}"

log() { printf '[infra-tools] %s\n' "$*" >&2; }

# Proxy only: drop "direct" and "off" from the configured GOPROXY list.
proxy_only() {
  local p out=() IFS=',|'
  for p in $(go env GOPROXY); do
    case "$p" in direct | off | "") ;; *) out+=("$p") ;; esac
  done
  if [ "${#out[@]}" -eq 0 ]; then
    log "GOPROXY has no proxy entry; cannot build offline"
    exit 1
  fi
  local IFS=','
  printf '%s' "${out[*]}"
}

export GOPROXY="$(proxy_only)"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
export CGO_ENABLED=0
# The tools are built with the machine's own Go (1.26), not the project's
# pinned 1.27.3: they are pinned versions checked to build with it, and
# OpenTofu's grpc (v1.79) no longer compiles against Go 1.27's http2.
export GOTOOLCHAIN=local
NICE=(nice -n 10)

# Work outside any module, so no go.mod or go.sum of the caller is touched.
scratch=$(mktemp -d)
trap 'rm -rf "${scratch}"' EXIT
cd "${scratch}"

# have NAME VERSION: true when BIN_DIR/NAME exists and its stamp matches VERSION.
have() {
  [ -x "${BIN_DIR}/$1" ] && [ "$(cat "${BIN_DIR}/.$1.version" 2>/dev/null)" = "$2" ]
}
stamp() { printf '%s\n' "$2" >"${BIN_DIR}/.$1.version"; }

build_tofu() {
  if have tofu "${TOFU_VERSION}"; then
    log "tofu ${TOFU_VERSION}: cached at ${BIN_DIR}/tofu"
    return
  fi
  log "tofu ${TOFU_VERSION}: building from the module cache (about 5 min cold)"
  local start dir
  start=$(date +%s)
  # OpenTofu's go.mod has a replace directive, so `go install pkg@version`
  # refuses it. Download the module and build inside it instead.
  dir=$(go mod download -json "github.com/opentofu/opentofu@${TOFU_VERSION}" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  if [ -z "${dir}" ] || [ ! -d "${dir}" ]; then
    log "tofu: go mod download gave no directory"
    exit 1
  fi
  (cd "${dir}" && "${NICE[@]}" go build -trimpath \
    -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" \
    -o "${BIN_DIR}/tofu.tmp" ./cmd/tofu)
  mv "${BIN_DIR}/tofu.tmp" "${BIN_DIR}/tofu"
  stamp tofu "${TOFU_VERSION}"
  log "tofu ${TOFU_VERSION}: built in $(($(date +%s) - start))s"
}

build_trivy() {
  if have trivy "${TRIVY_VERSION}"; then
    log "trivy ${TRIVY_VERSION}: cached at ${BIN_DIR}/trivy"
    return
  fi
  log "trivy ${TRIVY_VERSION}: go install (GOEXPERIMENT=jsonv2)"
  local start
  start=$(date +%s)
  GOBIN="${BIN_DIR}" GOEXPERIMENT=jsonv2 "${NICE[@]}" go install -trimpath \
    -ldflags "-s -w" "github.com/aquasecurity/trivy/cmd/trivy@${TRIVY_VERSION}"
  stamp trivy "${TRIVY_VERSION}"
  log "trivy ${TRIVY_VERSION}: built in $(($(date +%s) - start))s"
}

build_tflint() {
  if have tflint "${TFLINT_VERSION}"; then
    log "tflint ${TFLINT_VERSION}: cached at ${BIN_DIR}/tflint"
    return
  fi
  log "tflint ${TFLINT_VERSION}: go install"
  local start
  start=$(date +%s)
  GOBIN="${BIN_DIR}" "${NICE[@]}" go install -trimpath -ldflags "-s -w" \
    "github.com/terraform-linters/tflint@${TFLINT_VERSION}"
  stamp tflint "${TFLINT_VERSION}"
  log "tflint ${TFLINT_VERSION}: built in $(($(date +%s) - start))s"
}

tools=("$@")
[ "${#tools[@]}" -eq 0 ] && tools=(tofu trivy tflint)
for t in "${tools[@]}"; do
  case "$t" in
    tofu) build_tofu ;;
    trivy) build_trivy ;;
    tflint) build_tflint ;;
    *) log "unknown tool: $t" && exit 2 ;;
  esac
done
log "tools ready in ${BIN_DIR}"
