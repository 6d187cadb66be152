#!/usr/bin/env bash
# Offline checks of infra/: formatting, tofu test, trivy, tflint and the Go
# spec-conformance tests. Runs every check, prints one result line each, and
# exits non-zero when any of them fails.
#
# Usage: bash scripts/infra-check.sh        (from anywhere in the repository)
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "${repo}"

bash scripts/infra-tools.sh || {
  echo "infra-check: building the tools failed" >&2
  exit 1
}

TOOLS_DIR="${PALISADE_TOOLS_DIR:-/var/cache/palisade-tools}"
BIN="${TOOLS_DIR}/bin"
export PATH="${BIN}:${PATH}"

work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT

# No user CLI configuration, no update checks, no prompts.
: >"${work}/tofurc"
export TF_CLI_CONFIG_FILE="${work}/tofurc"
export TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1 TF_INPUT=0

failures=()
results=()
record() { # record NAME STATUS DETAIL
  results+=("$(printf '%-8s %-4s %s' "$1" "$2" "$3")")
  [ "$2" = "ok" ] || failures+=("$1")
}
section() { printf '\n=== %s\n' "$*"; }

# ---------------------------------------------------------------- fmt ------
section "tofu fmt -check -recursive infra/"
if out=$(tofu fmt -check -recursive -no-color infra/ 2>&1); then
  record fmt ok "$(tofu version | head -1): every .tf/.tftest.hcl file formatted"
else
  printf '%s\n' "${out}"
  record fmt FAIL "files need 'tofu fmt': $(printf '%s\n' "${out}" | grep -c .)"
fi

# -------------------------------------------------------------- tofu test --
# Modules with a tests/ folder have no provider, so init and test are offline.
passed=0
tfail=0
for dir in infra/modules/*/; do
  [ -d "${dir}tests" ] || continue
  section "tofu test ${dir}"
  export TF_DATA_DIR="${work}/tfdata-$(basename "${dir}")"
  if ! tofu -chdir="${dir}" init -backend=false -input=false -no-color >"${work}/init.log" 2>&1; then
    cat "${work}/init.log"
    tfail=$((tfail + 1))
    continue
  fi
  tofu -chdir="${dir}" test -no-color 2>&1 | tee "${work}/test.log"
  rc=${PIPESTATUS[0]}
  line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "${work}/test.log" | tail -1)
  p=$(sed -n 's/.* \([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\1/p' <<<"${line}")
  f=$(sed -n 's/.* \([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\2/p' <<<"${line}")
  if [ -z "${p}" ] || [ "${rc}" != 0 ]; then
    tfail=$((tfail + 1))
  fi
  passed=$((passed + ${p:-0}))
  tfail=$((tfail + ${f:-0}))
done
unset TF_DATA_DIR
if [ "${passed}" -gt 0 ] && [ "${tfail}" -eq 0 ]; then
  record tofutest ok "${passed} runs passed, 0 failed"
else
  record tofutest FAIL "${passed} runs passed, ${tfail} failed"
fi

# ------------------------------------------------------------------ trivy --
# Embedded checks only (--skip-check-update): no download. Scanned twice:
# the default layout, and the spec 8 escape hatch (EC2) of both envs.
trivy_flags=(config --skip-check-update --skip-version-check --disable-telemetry
  --cache-dir "${TOOLS_DIR}/trivy-cache" --quiet)
# One line per evaluated check: "<PASS|FAIL> <SEVERITY> <ID> <file>:<line>".
trivy_template='{{- range . }}{{- $t := .Target }}{{- range .Misconfigurations }}{{ .Status }} {{ .Severity }} {{ .AVDID }} {{ $t }}:{{ .CauseMetadata.StartLine }}{{ "\n" }}{{- end }}{{- end }}'
trivy_scan() { # trivy_scan LABEL OUT ARGS...
  local label=$1 lines=$2
  shift 2
  section "trivy config ${label}"
  trivy "${trivy_flags[@]}" --severity HIGH,CRITICAL --format table "$@" 2>&1 | tail -n 80
  trivy "${trivy_flags[@]}" --include-non-failures --format template --template "${trivy_template}" \
    --output "${lines}.tmp" "$@" >"${lines}.log" 2>&1 || cat "${lines}.log"
  cat "${lines}.tmp" >>"${lines}" 2>/dev/null
}
trivy_ok=1
trivy_detail=""
for scan in default escape-hatch; do
  lines="${work}/trivy-${scan}.txt"
  : >"${lines}"
  if [ "${scan}" = default ]; then
    trivy_scan "infra/" "${lines}" infra/
  else
    for env in staging production; do
      trivy_scan "infra/envs/${env} --tf-vars infra/ci/escape-hatch.tfvars" "${lines}" \
        --tf-vars infra/ci/escape-hatch.tfvars "infra/envs/${env}"
    done
  fi
  crit=$(grep -c '^FAIL CRITICAL ' "${lines}" || true)
  high=$(grep -c '^FAIL HIGH ' "${lines}" || true)
  other=$(grep -c '^FAIL ' "${lines}" || true)
  passes=$(grep -c '^PASS ' "${lines}" || true)
  # A scan that evaluated nothing would pass vacuously.
  if [ "${passes}" -eq 0 ] || [ "${high}" -ne 0 ] || [ "${crit}" -ne 0 ]; then
    trivy_ok=0
  fi
  trivy_detail+="${scan}: ${crit} CRITICAL, ${high} HIGH, $((other - crit - high)) lower, ${passes} passed; "
done
if [ "${trivy_ok}" = 1 ]; then
  record trivy ok "${trivy_detail}"
else
  record trivy FAIL "${trivy_detail}"
fi

# ----------------------------------------------------------------- tflint --
section "tflint --recursive (terraform ruleset, preset all)"
export TFLINT_PLUGIN_DIR="${TOOLS_DIR}/tflint-plugins"
mkdir -p "${TFLINT_PLUGIN_DIR}"
if out=$(cd infra && tflint --recursive --config "${repo}/infra/.tflint.hcl" --format compact --no-color 2>&1); then
  [ -n "${out}" ] && printf '%s\n' "${out}"
  dirs=$(find infra -name '*.tf' -not -path '*/.terraform/*' -exec dirname {} \; | sort -u | wc -l)
  record tflint ok "$(tflint --version | head -1): 0 issues in ${dirs} directories"
else
  printf '%s\n' "${out}"
  record tflint FAIL "$(printf '%s\n' "${out}" | grep -cE ':[0-9]+:[0-9]+: ') issues"
fi

# ------------------------------------------------------- Go conformance ----
section "go test ./infra/..."
if go test -count=1 -v ./infra/... >"${work}/gotest.log" 2>&1; then
  grep -E '^(ok|FAIL|---|panic)' "${work}/gotest.log" | grep -v -- '--- PASS' || true
  n=$(grep -c -- '--- PASS' "${work}/gotest.log" || true)
  record gotest ok "${n} tests and subtests passed, 0 failed"
else
  grep -vE '^(=== (RUN|PAUSE|CONT)|\s*--- PASS)' "${work}/gotest.log"
  record gotest FAIL "$(grep -c -- '--- FAIL' "${work}/gotest.log" || true) tests or subtests failed"
fi

section "summary"
printf '%s\n' "${results[@]}"
checks=${#results[@]}
failed=${#failures[@]}
echo "infra-check: $((checks - failed)) passed, ${failed} failed"
[ "${failed}" -eq 0 ]
