#!/usr/bin/env bash
# Runs `palisade migrate` from the release image as a one-off Fargate task
# and exits non-zero unless it succeeded, so the pipeline never deploys code
# onto a schema it did not get.
#
#   migrate.sh <imagedefinitions.json>
#
# Environment: CLUSTER, TASK_FAMILY (the migrate task's), CONTAINER (migrate),
# IMAGE_FROM (api: the imagedefinitions.json entry it takes), SUBNETS and
# SECURITY_GROUPS (comma-separated), optionally TIMEOUT_SECONDS (900), and
# SCHEMA_PARAMETER: the SSM parameter that receives the schema version of
# this release's source once the migration succeeded (the tenant and hq
# pipelines wait for it, deploy/scripts/release-step.sh gate).
#
# The task is the latest revision of the migrate family (Terraform's
# aws_ecs_task_definition.migrate: its own roles, the master DSN and the
# role users' DSNs, which no service's task definition has) registered
# again with the release image, so the schema and the role users are
# those of the code about to be deployed.
set -euo pipefail

defs=${1:?usage: migrate.sh <imagedefinitions.json>}
: "${CLUSTER:?}" "${TASK_FAMILY:?}" "${SUBNETS:?}" "${SECURITY_GROUPS:?}"
container=${CONTAINER:-migrate}
image_from=${IMAGE_FROM:-api} # the imagedefinitions.json entry with the release image
timeout=${TIMEOUT_SECONDS:-900}
log() { echo "migrate: $*" >&2; }

image=$(jq -er --arg c "${image_from}" '.[] | select(.name == $c) | .imageUri' "${defs}") || {
  log "no image for container ${image_from} in ${defs}"
  exit 1
}
log "image ${image}"

work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT

aws ecs describe-task-definition --task-definition "${TASK_FAMILY}" --query taskDefinition --output json >"${work}/current.json"
jq --arg img "${image}" --arg c "${container}" '{
    family,
    taskRoleArn, executionRoleArn, networkMode, requiresCompatibilities,
    cpu, memory, runtimePlatform,
    containerDefinitions: [
      .containerDefinitions[] | select(.name == $c)
      | .image = $img
      | .command = ["palisade", "migrate"]
      | .portMappings = []
      | del(.healthCheck)
    ]
  } | with_entries(select(.value != null))' "${work}/current.json" >"${work}/migrate.json"
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
  log "palisade migrate failed: exit code ${code}, ${reason}; see the api log group, stream prefix migrate"
  exit 1
fi
log "palisade migrate succeeded"
if [ -n "${SCHEMA_PARAMETER:-}" ]; then
  version=$(bash "$(dirname "$0")/schema-version.sh" "${SOURCE_DIR:-.}")
  aws ssm put-parameter --name "${SCHEMA_PARAMETER}" --value "${version}" --type String --overwrite --output json >/dev/null
  log "schema version ${version} recorded in ${SCHEMA_PARAMETER}"
fi
