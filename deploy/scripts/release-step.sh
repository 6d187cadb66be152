#!/usr/bin/env bash
# Deploy-stage steps of the release pipelines (infra/modules/cicd), one per
# CodeBuild action, chosen by STEP or the first argument:
#
#   gate     tenant and hq: wait until the schema version the API pipeline's
#            Migrate stage recorded (SSM SCHEMA_PARAMETER) reaches the one
#            this release's source needs; fail after GATE_TIMEOUT_SECONDS
#            (2700) so the stage can be retried once the API is migrated.
#   scanner  api: point the scanner Lambda functions (SCANNER_FUNCTIONS) at
#            SCANNER_REPO:<release tag> and wait until they are updated.
#   record   every pipeline, after its ECS deploys: write each deployed
#            container's tag into PARAMETER_PREFIX/<container>/image-tag,
#            the parameter its task definition reads, so that a later
#            `tofu apply` keeps the image the pipeline deployed.
#
# Inputs: the Build stage's artifact (imagedefinitions.json, release.env) in
# $CODEBUILD_SRC_DIR_image, or IMAGE_ARTIFACT_DIR.
set -euo pipefail

step=${1:-${STEP:?STEP is gate, scanner or record}}
art=${IMAGE_ARTIFACT_DIR:-${CODEBUILD_SRC_DIR_image:-.}}
here=$(cd "$(dirname "$0")" && pwd)
log() { echo "release-step ${step}: $*" >&2; }

release_tag() {
  # shellcheck disable=SC1091
  (. "${art}/release.env" && printf '%s' "${RELEASE_TAG:?}")
}

case "${step}" in
gate)
  : "${SCHEMA_PARAMETER:?}"
  need=$(bash "${here}/schema-version.sh" "${SOURCE_DIR:-.}")
  deadline=$((SECONDS + ${GATE_TIMEOUT_SECONDS:-2700}))
  while :; do
    have=$(aws ssm get-parameter --name "${SCHEMA_PARAMETER}" --query Parameter.Value --output text)
    if ! [[ "${have}" =~ ^[0-9]+$ ]]; then
      log "${SCHEMA_PARAMETER} holds '${have}', not a schema version"
      exit 1
    fi
    if [ "${have}" -ge "${need}" ]; then
      log "database schema ${have} >= ${need}, which this release needs: deploying"
      exit 0
    fi
    if [ "${SECONDS}" -ge "${deadline}" ]; then
      log "database schema ${have} < ${need}: the API pipeline has not migrated this release yet; approve it, then retry this stage"
      exit 1
    fi
    log "database schema ${have} < ${need}; waiting for the API pipeline's Migrate stage"
    sleep "${POLL_SECONDS:-30}"
  done
  ;;
scanner)
  : "${SCANNER_REPO:?}" "${SCANNER_FUNCTIONS:?}"
  image="${SCANNER_REPO}:$(release_tag)"
  IFS=, read -ra fns <<<"${SCANNER_FUNCTIONS}"
  for fn in "${fns[@]}"; do
    aws lambda update-function-code --function-name "${fn}" --image-uri "${image}" --output json >/dev/null
    aws lambda wait function-updated-v2 --function-name "${fn}"
    log "${fn} runs ${image}"
  done
  ;;
record)
  : "${PARAMETER_PREFIX:?}" "${CONTAINERS:?}"
  defs="${art}/imagedefinitions.json"
  IFS=, read -ra containers <<<"${CONTAINERS}"
  for c in "${containers[@]}"; do
    uri=$(jq -er --arg c "${c}" '.[] | select(.name == $c) | .imageUri' "${defs}") || {
      log "no image for container ${c} in ${defs}"
      exit 1
    }
    tag=${uri##*:}
    aws ssm put-parameter --name "${PARAMETER_PREFIX}/${c}/image-tag" --value "${tag}" --type String --overwrite --output json >/dev/null
    log "${c}: ${tag}"
  done
  ;;
*)
  log "unknown step (want gate, scanner or record)"
  exit 2
  ;;
esac
