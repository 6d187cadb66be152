data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_root = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"

  # One customer-managed key per purpose, each rotated yearly by KMS.
  kms_keys = {
    logs    = "CloudWatch Logs: ECS, ECS Exec, VPC flow logs, WAF, RDS, Lambda"
    data    = "RDS, ElastiCache, Secrets Manager, SQS"
    storage = "S3 (tenant buckets, pipeline artifacts, ClamAV definitions) and ECR"
  }
}

data "aws_iam_policy_document" "kms" {
  for_each = local.kms_keys

  statement {
    sid       = "AccountAdministersKeyThroughIAM"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.account_root]
    }
  }

  dynamic "statement" {
    for_each = each.key == "logs" ? [1] : []

    content {
      sid       = "CloudWatchLogsEncryptsThisAccountsLogGroups"
      actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = ["logs.${data.aws_region.current.name}.amazonaws.com"]
      }

      condition {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:logs:arn"
        values   = ["arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:*"]
      }
    }
  }

  dynamic "statement" {
    for_each = each.key == "data" ? [1] : []

    content {
      sid       = "EventBridgeWritesToEncryptedDeadLetterQueues"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = ["events.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [data.aws_caller_identity.current.account_id]
      }
    }
  }
}

resource "aws_kms_key" "this" {
  for_each = local.kms_keys

  description             = "${var.name} ${each.key}: ${each.value}"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.kms[each.key].json

  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

resource "aws_kms_alias" "this" {
  for_each = local.kms_keys

  name          = "alias/${var.name}-${each.key}"
  target_key_id = aws_kms_key.this[each.key].key_id
}

# ---------------------------------------------------------------- secrets --
# Values are generated here; the data module writes the DB and Redis secret
# values once the endpoints exist. The random values live in the Terraform
# state, so the state backend must be encrypted (see infra/README.md).

# Redis: one ElastiCache RBAC user per role (the data module creates the
# users, their access strings and the user group) plus the disabled
# "default" user every user group must hold; no shared AUTH token.
resource "random_password" "redis_user" {
  for_each = toset(concat(var.redis_roles, ["default"]))

  length  = 64
  special = false
}

resource "random_string" "realtime_app_id" {
  length  = 12
  upper   = false
  special = false
}

resource "random_password" "realtime_app_key" {
  length  = 32
  special = false
}

resource "random_password" "realtime_app_secret" {
  length  = 48
  special = false
}

# One database user per role (least privilege, ISO 27001 8.2): its own
# password and its own secret, "<name>/db-<role>", which only that role's
# execution role may read. `palisade migrate` (the only task that gets the
# master secret) creates the users and re-applies these passwords on every
# run; the data module writes each secret's DSN once the endpoint exists.
resource "random_password" "db_role" {
  for_each = toset(var.db_roles)

  length  = 40
  special = false
}

resource "aws_secretsmanager_secret" "this" {
  for_each = toset(concat(["db", "app"], [for r in var.db_roles : "db-${r}"], [for r in var.redis_roles : "redis-${r}"]))

  name                    = "${var.name}/${each.key}"
  description             = "${var.name} ${each.key} credentials (managed by Terraform)"
  kms_key_id              = aws_kms_key.this["data"].arn
  recovery_window_in_days = var.secret_recovery_window_in_days

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "app" {
  secret_id = aws_secretsmanager_secret.this["app"].id
  secret_string = jsonencode({
    realtime_app_id     = random_string.realtime_app_id.result
    realtime_app_key    = random_password.realtime_app_key.result
    realtime_app_secret = random_password.realtime_app_secret.result
  })
}

# ------------------------------------------------------------- log groups --

resource "aws_cloudwatch_log_group" "service" {
  for_each = toset(var.services)

  name              = "/ecs/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this["logs"].arn

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "exec" {
  name              = "/ecs/${var.name}/exec"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this["logs"].arn

  tags = var.tags
}

# -------------------------------------------------------------------- ECR --

resource "aws_ecr_repository" "this" {
  for_each = toset(var.ecr_repositories)

  name                 = "${var.name}/${each.key}"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.this["storage"].arn
  }

  tags = var.tags
}

resource "aws_ecr_lifecycle_policy" "this" {
  for_each = toset(var.ecr_repositories)

  repository = aws_ecr_repository.this[each.key].name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Expire untagged images after 7 days"
        selection    = { tagStatus = "untagged", countType = "sinceImagePushed", countUnit = "days", countNumber = 7 }
        action       = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the newest ${var.ecr_keep_images} release images"
        selection    = { tagStatus = "tagged", tagPatternList = ["v*"], countType = "imageCountMoreThan", countNumber = var.ecr_keep_images }
        action       = { type = "expire" }
      },
    ]
  })
}

# Lambda pulls the scanner image with its service principal, which a
# same-account repository must allow in its policy: without this, creating
# or updating the scanner functions fails on a fresh account unless the
# caller may also set repository policies (lambda adds one itself then).
locals {
  lambda_image_repositories = toset([for r in var.ecr_repositories : r if contains(var.lambda_image_repositories, r)])
}

data "aws_iam_policy_document" "lambda_pull" {
  for_each = local.lambda_image_repositories

  statement {
    sid     = "LambdaPullsTheScannerImage"
    actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringLike"
      variable = "aws:sourceArn"
      values   = ["arn:${data.aws_partition.current.partition}:lambda:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:function:${var.name}-*"]
    }
  }
}

resource "aws_ecr_repository_policy" "lambda_pull" {
  for_each = local.lambda_image_repositories

  repository = aws_ecr_repository.this[each.key].name
  policy     = data.aws_iam_policy_document.lambda_pull[each.key].json
}
