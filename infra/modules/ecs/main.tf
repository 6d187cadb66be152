data "aws_region" "current" {}

data "aws_partition" "current" {}

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

  # Secrets Manager ARNs each service may read, for its execution role.
  service_secret_arns = {
    for k, s in var.services : k => distinct([for ref in s.secrets : var.secret_arns[local.secret_refs[ref].secret]])
  }

  common_environment = [
    { name = "PALISADE_ENV", value = var.environment },
    { name = "PALISADE_BASE_URL", value = var.base_url },
    { name = "PALISADE_API_URL", value = var.api_url },
    { name = "PALISADE_DB_DRIVER", value = "mysql" },
    { name = "PALISADE_S3_BUCKET_PREFIX", value = var.tenant_bucket_prefix },
    { name = "PALISADE_KMS_KEY_ID", value = var.tenant_kms_key_id },
    { name = "PALISADE_METRICS_ADDR", value = ":${var.metrics_port}" },
  ]

  container_definitions = {
    for k, s in var.services : k => [{
      name      = k
      image     = "${var.image_repository_url}:${var.image_tag}"
      essential = true
      command   = ["palisade", s.role]

      portMappings = concat(
        s.port == null ? [] : [{ name = "http", containerPort = s.port, protocol = "tcp" }],
        [{ name = "metrics", containerPort = var.metrics_port, protocol = "tcp" }],
      )

      environment = concat(local.common_environment, [
        { name = "PALISADE_TRUSTED_PROXIES", value = join(",", lookup(var.trusted_proxies, k, [])) },
      ])

      secrets = [
        for ref in s.secrets : {
          name      = local.secret_refs[ref].env
          valueFrom = "${var.secret_arns[local.secret_refs[ref].secret]}:${local.secret_refs[ref].key}::"
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

# One execution role per service, so each reads only its own secrets.
resource "aws_iam_role" "execution" {
  for_each = var.services

  name               = "${var.name}-${each.key}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json

  tags = var.tags
}

data "aws_iam_policy_document" "execution" {
  for_each = var.services

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
    resources = ["arn:${data.aws_partition.current.partition}:logs:*:*:log-group:${var.log_group_names[each.key]}:*"]
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
  for_each = var.services

  name   = "pull-image-read-secrets-write-logs"
  role   = aws_iam_role.execution[each.key].id
  policy = data.aws_iam_policy_document.execution[each.key].json
}

# One task role per service: ECS Exec for everyone, tenant buckets only for
# the services whose tenant_s3 says so (api and worker by default).
resource "aws_iam_role" "task" {
  for_each = var.services

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

resource "aws_iam_role_policy_attachment" "tenant_objects" {
  # Filter on known values only: for_each keys must be known at plan.
  for_each = { for k, s in var.services : k => s if s.tenant_s3 != "none" }

  role       = aws_iam_role.task[each.key].name
  policy_arn = var.tenant_objects_policy_arn
}

resource "aws_iam_role_policy_attachment" "tenant_admin" {
  for_each = { for k, s in var.services : k => s if s.tenant_s3 == "admin" }

  role       = aws_iam_role.task[each.key].name
  policy_arn = var.tenant_admin_policy_arn
}

# ---------------------------------------------------------------- services --

resource "aws_ecs_task_definition" "this" {
  for_each = var.services

  family                   = "${var.name}-${each.key}"
  network_mode             = "awsvpc"
  requires_compatibilities = local.capacity[each.key] == local.ec2_capacity_provider ? ["FARGATE", "EC2"] : ["FARGATE"]
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
