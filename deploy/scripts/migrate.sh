#!/usr/bin/env bash
# Runs `palisade migrate` from the release image as a one-off Fargate task
# and exits non-zero unless it succeeded, so the pipeline never deploys code
# onto a schema it did not get.
#
#   migrate.sh <imagedefinitions.json>
#
# Environment: CLUSTER, TASK_FAMILY (the api's), CONTAINER (api), SUBNETS and
# SECURITY_GROUPS (comma-separated), optionally TIMEOUT_SECONDS (900).
#
# The task is the api's latest task definition with two changes, the
# release image and the command, registered as the family
# "<TASK_FAMILY>-migrate": same roles, secrets, logs and network as the
# api, and the api service's own family is left alone.
set -euo pipefail

defs=${1:?usage: migrate.sh <imagedefinitions.json>}
: "${CLUSTER:?}" "${TASK_FAMILY:?}" "${SUBNETS:?}" "${SECURITY_GROUPS:?}"
container=${CONTAINER:-api}
timeout=${TIMEOUT_SECONDS:-900}
log() { echo "migrate: $*" >&2; }

image=$(jq -er --arg c "${container}" '.[] | select(.name == $c) | .imageUri' "${defs}") || {
  log "no image for container ${container} in ${defs}"
  exit 1
}
log "image ${image}"

work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT

aws ecs describe-task-definition --task-definition "${TASK_FAMILY}" --query taskDefinition --output json >"${work}/api.json"
jq --arg img "${image}" --arg c "${container}" '{
    family: (.family + "-migrate"),
    taskRoleArn, executionRoleArn, networkMode, requiresCompatibilities,
    cpu, memory, runtimePlatform,
    containerDefinitions: [
      .containerDefinitions[] | select(.name == $c)
      | .image = $img
      | .command = ["palisade", "migrate"]
      | .portMappings = []
      | del(.healthCheck)
    ]
  } | with_entries(select(.value != null))' "${work}/api.json" >"${work}/migrate.json"
if [ "$(jq '.containerDefinitions | length' "${work}/migrate.json")" != 1 ]; then
  log "task definition ${TASK_FAMILY} has no container ${container}"
  exit 1
fi

taskdef=$(aws ecs register-task-definition --cli-input-json "file://${work}/migrate.json" \
  --query taskDefinition.taskDefinitionArn --output text)
log "registered ${taskdef}"

aws ecs run-task --cluster "${CLUSTER}" --task-definition "${taskdef}" --launch-type FARGATE \
  --count 1 --started-by codepipeline-migrate \
  --network-configuration "awsvpcConfiguration={subnets=[${SUBNETS}],securityGroups=[${SECURITY_GROUPS}],assignPublicIp=DISABLED}" \
  --output json >"${work}/run.json"
task=$(jq -r '.tasks[0].taskArn // empty' "${work}/run.json")
if [ -z "${task}" ]; then
  log "run-task started nothing: $(jq -c '.failures' "${work}/run.json")"
  exit 1
fi
log "started ${task}"

# Poll rather than `aws ecs wait`, whose ten-minute limit is shorter than a
# long migration may need.
deadline=$((SECONDS + timeout))
while :; do
  aws ecs describe-tasks --cluster "${CLUSTER}" --tasks "${task}" --output json >"${work}/task.json"
  status=$(jq -r '.tasks[0].lastStatus' "${work}/task.json")
  [ "${status}" = STOPPED ] && break
  if [ "${SECONDS}" -ge "${deadline}" ]; then
    log "still ${status} after ${timeout}s; the task keeps running, check it and its logs before retrying"
    exit 1
  fi
  sleep "${POLL_SECONDS:-6}"
done

code=$(jq -r --arg c "${container}" '.tasks[0].containers[] | select(.name == $c) | .exitCode // "none"' "${work}/task.json")
reason=$(jq -r '.tasks[0].stoppedReason // ""' "${work}/task.json")
if [ "${code}" != 0 ]; then
  log "palisade migrate failed: exit code ${code}, ${reason}; see the api log group, stream prefix api"
  exit 1
fi
log "palisade migrate succeeded"
