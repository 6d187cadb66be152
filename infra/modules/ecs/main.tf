data "aws_region" "current" {}

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

locals {
  use_ec2 = var.frontend_compute == "EC2"

  ec2_capacity_provider = "${var.name}-frontend-ec2"

  capacity = {
    for k, s in var.services : k => (local.use_ec2 && contains(var.frontend_services, k) ? local.ec2_capacity_provider : s.capacity)
  }

  # Secret name -> environment variable and "<secret>:<json key>".
  secret_refs = {
    db                  = { env = "PALISADE_DB_DSN", secret = "db", key = "dsn" }
    redis               = { env = "PALISADE_REDIS_URL", secret = "redis", key = "url" }
    realtime_app_id     = { env = "PALISADE_REALTIME_APP_ID", secret = "app", key = "realtime_app_id" }
    realtime_app_key    = { env = "PALISADE_REALTIME_APP_KEY", secret = "app", key = "realtime_app_key" }
    realtime_app_secret = { env = "PALISADE_REALTIME_APP_SECRET", secret = "app", key = "realtime_app_secret" }
  }

  # The secret each service reads for each of its refs: "db" is the
  # service's own database user (db-<service>), never the master; "redis"
  # its own Redis user (redis-<service>).
  service_secret_names = {
    for k, s in var.services : k => { for ref in s.secrets : ref => contains(["db", "redis"], ref) ? "${ref}-${k}" : local.secret_refs[ref].secret }
  }

  # The one-off migrate task alone reads the master DSN, plus each role
  # user's DSN (PALISADE_DB_USER_<ROLE>), whose users it creates and whose
  # passwords and grants it re-applies (internal/store.EnsureRoleUsers).
  migrate_secrets = concat(
    [{ name = "PALISADE_DB_DSN", valueFrom = "${var.secret_arns["db"]}:dsn::" }],
    # The master password: RDS's own secret, which RDS rotates.
    [{ name = "PALISADE_DB_PASSWORD", valueFrom = "${var.secret_arns["db-master"]}:password::" }],
    [for r in var.db_user_roles : { name = "PALISADE_DB_USER_${upper(r)}", valueFrom = "${var.secret_arns["db-${r}"]}:dsn::" }],
  )

  migrate_family = "${var.name}-migrate"

  # Task and execution roles: one per service, and migrate's.
  role_keys = toset(concat(keys(var.services), ["migrate"]))

  # Secrets Manager ARNs each execution role may read.
  service_secret_arns = merge(
    { for k, s in var.services : k => distinct([for ref in s.secrets : var.secret_arns[local.service_secret_names[k][ref]]]) },
    { migrate = distinct(concat([var.secret_arns["db"], var.secret_arns["db-master"]], [for r in var.db_user_roles : var.secret_arns["db-${r}"]])) },
  )

  # migrate logs into the api's group (stream prefix migrate), where the
  # pipeline's failure message points.
  role_log_groups = merge(
    { for k, s in var.services : k => var.log_group_names[k] },
    { migrate = var.log_group_names["api"] },
  )

  # Cloud Map name of the realtime tasks: api and worker publish to its
  # HTTP API directly (security group to security group, port 8080), never
  # through a load balancer that tenant or hq could also reach.
  discovery_namespace = coalesce(var.service_discovery_namespace, "${var.name}.internal")
  realtime_api_url    = "http://realtime.${local.discovery_namespace}:${var.realtime_port}"

  # The roles the tenant bucket policy lets read objects not yet tagged
  # Clean: the scanner Lambda, and the worker (it pins and reads the upload
  # it adopts the Lambda's verdict for).
  read_exempt_role_arns = concat(var.tenant_read_exempt_role_arns, [aws_iam_role.task["worker"].arn])

  mail_enabled = var.ses_mail

  # The API decides who the client is (CDN_PROXIES + CLIENT_IP_HEADER);
  # the two BFFs pass the CDN's header on to it.
  client_ip_services = ["tenant", "hq", "api"]

  common_environment = [
    { name = "PALISADE_ENV", value = var.environment },
    { name = "PALISADE_BASE_URL", value = var.base_url },
    { name = "PALISADE_API_URL", value = var.api_url },
    { name = "PALISADE_DB_DRIVER", value = "mysql" },
    { name = "PALISADE_S3_BUCKET_PREFIX", value = var.tenant_bucket_prefix },
    { name = "PALISADE_S3_EXEMPT_ROLE_ARNS", value = join(",", local.read_exempt_role_arns) },
    # Only the scanner writes object tags (the verdict); the bucket policy
    # denies every other principal (internal/files.Policy).
    { name = "PALISADE_S3_TAGGER_ROLE_ARNS", value = join(",", var.tenant_tagger_role_arns) },
    # Every S3 call names this account as the bucket owner, so a bucket of
    # another account under one of our predictable names is refused.
    { name = "PALISADE_S3_EXPECTED_BUCKET_OWNER", value = data.aws_caller_identity.current.account_id },
    { name = "PALISADE_KMS_KEY_ID", value = var.tenant_kms_key_id },
    # A KMS key per tenant, scheduled for deletion at offboarding
    # (crypto-shredding, docs/architecture.md).
    { name = "PALISADE_KMS_TENANT_KEYS", value = var.tenant_kms_keys ? "on" : "off" },
    { name = "PALISADE_KMS_SHRED_DAYS", value = tostring(var.tenant_key_deletion_days) },
    { name = "PALISADE_METRICS_ADDR", value = ":${var.metrics_port}" },
  ]

  mail_environment = local.mail_enabled ? [
    { name = "PALISADE_MAIL_DRIVER", value = "ses" },
    { name = "PALISADE_MAIL_FROM", value = var.mail_from },
    { name = "PALISADE_SES_CONFIGURATION_SET", value = var.mail_configuration_set },
  ] : []

  service_environment = {
    for k, s in var.services : k => concat(
      local.common_environment,
      [{ name = "PALISADE_TRUSTED_PROXIES", value = join(",", lookup(var.trusted_proxies, k, [])) }],
      var.client_ip_header != "" && contains(local.client_ip_services, k) ? [{ name = "PALISADE_CLIENT_IP_HEADER", value = var.client_ip_header }] : [],
      length(var.cdn_proxies) > 0 && k == "api" ? [{ name = "PALISADE_CDN_PROXIES", value = join(",", var.cdn_proxies) }] : [],
      contains(var.mail_services, k) ? local.mail_environment : [],
      contains(var.realtime_publishers, k) ? [{ name = "PALISADE_REALTIME_API_URL", value = local.realtime_api_url }] : [],
    )
  }

  container_definitions = {
    for k, s in var.services : k => [{
      name = k
      # The tag the release pipeline last deployed (see aws_ssm_parameter.image_tag).
      image     = "${var.image_repository_url}:${aws_ssm_parameter.image_tag[k].insecure_value}"
      essential = true
      command   = ["palisade", s.role]

      portMappings = concat(
        s.port == null ? [] : [{ name = "http", containerPort = s.port, protocol = "tcp" }],
        [{ name = "metrics", containerPort = var.metrics_port, protocol = "tcp" }],
      )

      environment = local.service_environment[k]

      secrets = [
        for ref in s.secrets : {
          name      = local.secret_refs[ref].env
          valueFrom = "${var.secret_arns[local.service_secret_names[k][ref]]}:${local.secret_refs[ref].key}::"
        }
      ]

      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = var.log_group_names[k]
          awslogs-region        = data.aws_region.current.name
          awslogs-stream-prefix = s.role
        }
      }

      # initProcessEnabled reaps the SSM agent's children during ECS Exec.
      # The root filesystem stays writable: the SSM agent that ECS Exec
      # mounts into the container writes its state and logs there.
      linuxParameters        = { initProcessEnabled = true }
      readonlyRootFilesystem = false
      stopTimeout            = var.stop_timeout_seconds
    }]
  }
}

# ----------------------------------------------------------------- cluster --

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = var.container_insights ? "enabled" : "disabled"
  }

  # ECS Exec (spec 5.1: no SSH): sessions are encrypted with KMS and every
  # command is logged.
  configuration {
    execute_command_configuration {
      kms_key_id = var.logs_kms_key_arn
      logging    = "OVERRIDE"

      log_configuration {
        cloud_watch_encryption_enabled = true
        cloud_watch_log_group_name     = var.exec_log_group_name
      }
    }
  }

  tags = var.tags
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = concat(["FARGATE", "FARGATE_SPOT"], local.use_ec2 ? [local.ec2_capacity_provider] : [])

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
    base              = 0
  }

  depends_on = [aws_ecs_capacity_provider.frontend]
}

# --------------------------------------------------------------- IAM roles --

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# One execution role per service (and migrate), so each reads only its own
# secrets.
resource "aws_iam_role" "execution" {
  for_each = local.role_keys

  name               = "${var.name}-${each.key}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json

  tags = var.tags
}

data "aws_iam_policy_document" "execution" {
  for_each = local.role_keys

  statement {
    sid       = "EcrAuth"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullThePalisadeImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = [var.image_repository_arn]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${data.aws_partition.current.partition}:logs:*:*:log-group:${local.role_log_groups[each.key]}:*"]
  }

  dynamic "statement" {
    for_each = length(local.service_secret_arns[each.key]) > 0 ? [1] : []

    content {
      sid       = "ReadOwnSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = local.service_secret_arns[each.key]
    }
  }

  dynamic "statement" {
    for_each = length(local.service_secret_arns[each.key]) > 0 && var.secrets_kms_key_arn != null ? [1] : []

    content {
      sid       = "DecryptOwnSecrets"
      actions   = ["kms:Decrypt"]
      resources = [var.secrets_kms_key_arn]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  for_each = local.role_keys

  name   = "pull-image-read-secrets-write-logs"
  role   = aws_iam_role.execution[each.key].id
  policy = data.aws_iam_policy_document.execution[each.key].json
}

# One task role per service: ECS Exec for every service, tenant buckets
# only for the services whose tenant_s3 says so (api and worker by
# default). migrate's task role has no policy: it calls no AWS API.
resource "aws_iam_role" "task" {
  for_each = local.role_keys

  name               = "${var.name}-${each.key}-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json

  tags = var.tags
}

data "aws_iam_policy_document" "task" {
  statement {
    sid = "EcsExecChannels"
    actions = [
      "ssmmessages:CreateControlChannel",
      "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "EcsExecFindLogGroup"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["*"]
  }

  statement {
    sid       = "EcsExecSessionLogs"
    actions   = ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
    resources = ["arn:${data.aws_partition.current.partition}:logs:*:*:log-group:${var.exec_log_group_name}:*"]
  }

  dynamic "statement" {
    for_each = var.logs_kms_key_arn == null ? [] : [var.logs_kms_key_arn]

    content {
      sid       = "EcsExecSessionKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "task_exec" {
  for_each = var.services

  name   = "ecs-exec"
  role   = aws_iam_role.task[each.key].id
  policy = data.aws_iam_policy_document.task.json
}

# The tenant-bucket flows of each service (storage module policies).
resource "aws_iam_role_policy_attachment" "tenant" {
  # Keys from known values only: for_each keys must be known at plan.
  for_each = merge([
    for k, s in var.services : { for f in s.tenant_s3 : "${k}/${f}" => { service = k, flow = f } }
  ]...)

  role       = aws_iam_role.task[each.value.service].name
  policy_arn = var.tenant_policy_arns[each.value.flow]
}

# Mail through the SES v2 API (HTTPS, task role): the one identity and the
# one configuration set, nothing else.
data "aws_iam_policy_document" "mail" {
  count = local.mail_enabled ? 1 : 0

  statement {
    sid       = "SendThroughTheIdentity"
    actions   = ["ses:SendEmail", "ses:SendRawEmail"]
    resources = [var.mail_identity_arn, var.mail_configuration_set_arn]
  }
}

resource "aws_iam_role_policy" "mail" {
  for_each = local.mail_enabled ? toset(var.mail_services) : toset([])

  name   = "ses-send"
  role   = aws_iam_role.task[each.key].id
  policy = data.aws_iam_policy_document.mail[0].json
}

# ------------------------------------------------------------ image tags --
# Terraform does not own the running image. Each service's task definition
# takes its tag from this parameter, which Terraform writes once (the first
# release) and the service's release pipeline overwrites after every
# successful deploy (deploy/scripts/release-step.sh record). An apply then
# keeps the image the pipeline deployed, and still delivers Terraform's own
# changes (environment, secrets, sizes) as a new revision.

resource "aws_ssm_parameter" "image_tag" {
  for_each = var.services

  name           = "/${var.name}/release/${each.key}/image-tag"
  description    = "Release tag ${each.key} runs; written by the release pipeline"
  type           = "String"
  insecure_value = var.image_tag

  tags = var.tags

  lifecycle {
    ignore_changes = [insecure_value]
  }
}

# ------------------------------------------------------ service discovery --

resource "aws_service_discovery_private_dns_namespace" "this" {
  name        = local.discovery_namespace
  description = "${var.name}: service-to-service names (realtime's HTTP API)"
  vpc         = var.vpc_id

  tags = var.tags
}

resource "aws_service_discovery_service" "realtime" {
  name = "realtime"

  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.this.id
    routing_policy = "MULTIVALUE"

    dns_records {
      type = "A"
      ttl  = 10
    }
  }

  tags = var.tags
}

# ---------------------------------------------------------------- services --

resource "aws_ecs_task_definition" "this" {
  for_each = var.services

  family       = "${var.name}-${each.key}"
  network_mode = "awsvpc"
  # The front ends are EC2-compatible whether or not the escape hatch is on,
  # so switching it changes the capacity provider only: the pipeline's
  # revisions (copied from the service's) and this one stay placeable.
  requires_compatibilities = contains(var.frontend_services, each.key) ? ["FARGATE", "EC2"] : ["FARGATE"]
  cpu                      = tostring(each.value.cpu)
  memory                   = tostring(each.value.memory)
  execution_role_arn       = aws_iam_role.execution[each.key].arn
  task_role_arn            = aws_iam_role.task[each.key].arn
  container_definitions    = jsonencode(local.container_definitions[each.key])

  # Graviton: every service runs on ARM64 (spec 3.2).
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "ARM64"
  }

  tags = var.tags
}

# The pipeline's Migrate stage (deploy/scripts/migrate.sh) registers a
# revision of this family with the release image and runs it once. It is
# the only task definition with the master DSN.
resource "aws_ecs_task_definition" "migrate" {
  family                   = local.migrate_family
  network_mode             = "awsvpc"
  requires_compatibilities = ["FARGATE"]
  cpu                      = "256"
  memory                   = "512"
  execution_role_arn       = aws_iam_role.execution["migrate"].arn
  task_role_arn            = aws_iam_role.task["migrate"].arn
  container_definitions = jsonencode([{
    name      = "migrate"
    image     = "${var.image_repository_url}:${aws_ssm_parameter.image_tag["api"].insecure_value}"
    essential = true
    command   = ["palisade", "migrate"]
    environment = [
      { name = "PALISADE_ENV", value = var.environment },
      { name = "PALISADE_DB_DRIVER", value = "mysql" },
    ]
    secrets = local.migrate_secrets
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = local.role_log_groups["migrate"]
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = "migrate"
      }
    }
    readonlyRootFilesystem = true
  }])

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "ARM64"
  }

  tags = var.tags
}

resource "aws_ecs_service" "this" {
  for_each = var.services

  name            = "${var.name}-${each.key}"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.this[each.key].arn
  desired_count   = each.value.min_count

  # Spec 4.3: new tasks start before old ones stop (100% stay healthy, up to
  # 200% run during a deployment), and a deployment that fails its health
  # checks rolls back by itself.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  # A capacity provider change (the spec 8 escape hatch) is an in-place
  # update with a new deployment, not a replacement of the service: without
  # this the provider destroys and recreates tenant and hq (an outage).
  force_new_deployment = true

  enable_execute_command  = true
  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"

  health_check_grace_period_seconds = each.value.port == null ? null : 60

  capacity_provider_strategy {
    capacity_provider = local.capacity[each.key]
    weight            = 1
    base              = 0
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [var.service_security_group_ids[each.key]]
    assign_public_ip = false
  }

  dynamic "service_registries" {
    for_each = each.key == "realtime" ? [1] : []

    content {
      registry_arn = aws_service_discovery_service.realtime.arn
    }
  }

  dynamic "load_balancer" {
    for_each = each.value.port == null ? [] : [each.value.port]

    content {
      target_group_arn = var.target_group_arns[each.key]
      container_name   = each.key
      container_port   = load_balancer.value
    }
  }

  tags = var.tags

  # Application Auto Scaling owns the running count once the service exists.
  lifecycle {
    ignore_changes = [desired_count]
  }

  depends_on = [aws_ecs_cluster_capacity_providers.this]
}

# Every service gets a scalable target; fixed services have min = max, so
# the count is held there.
resource "aws_appautoscaling_target" "this" {
  for_each = var.services

  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.this[each.key].name}"
  min_capacity       = each.value.min_count
  max_capacity       = each.value.max_count

  tags = var.tags
}

resource "aws_appautoscaling_policy" "cpu" {
  for_each = { for k, s in var.services : k => s if s.cpu_scaling }

  name               = "${var.name}-${each.key}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[each.key].service_namespace
  scalable_dimension = aws_appautoscaling_target.this[each.key].scalable_dimension
  resource_id        = aws_appautoscaling_target.this[each.key].resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
