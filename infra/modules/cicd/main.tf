data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  # Spec 4: three independent pipelines. One binary builds one image; each
  # pipeline deploys its own services from it, and only the API's migrates.
  pipelines = {
    api    = { services = ["api", "worker", "scheduler", "realtime"], migrate = true }
    tenant = { services = ["tenant"], migrate = false }
    hq     = { services = ["hq"], migrate = false }
  }

  connection_arn = var.connection_arn != null ? var.connection_arn : aws_codestarconnections_connection.github[0].arn

  # Build projects by pipeline, plus the migrate project.
  projects = merge(
    { for k, p in local.pipelines : "build-${k}" => { buildspec = "deploy/buildspec/build.yml", pipeline = k } },
    { migrate = { buildspec = "deploy/buildspec/migrate.yml", pipeline = "api" } },
  )

  # Task and execution roles by pipeline, for iam:PassRole.
  pipeline_roles = {
    for k, p in local.pipelines : k => [
      for r in concat([for s in p.services : lookup(var.task_role_arns, s, "")], [for s in p.services : lookup(var.execution_role_arns, s, "")]) : r if r != ""
    ]
  }
  api_roles = [for r in [lookup(var.task_role_arns, "api", ""), lookup(var.execution_role_arns, "api", "")] : r if r != ""]

  build_env = {
    IMAGE_REPO = var.image_repository_url
  }
  migrate_env = {
    CLUSTER         = var.cluster_name
    TASK_FAMILY     = var.migrate_task_family
    CONTAINER       = "api"
    SUBNETS         = join(",", var.migrate_subnet_ids)
    SECURITY_GROUPS = join(",", var.migrate_security_group_ids)
  }

  cluster_arn = "arn:${data.aws_partition.current.partition}:ecs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:cluster/${var.cluster_name}"
  ecs_arn     = "arn:${data.aws_partition.current.partition}:ecs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"
}

# --------------------------------------------------------------- source ----

# Created PENDING: an administrator completes the GitHub handshake once in
# the console (docs/cicd-setup.md).
resource "aws_codestarconnections_connection" "github" {
  count = var.connection_arn == null ? 1 : 0

  name          = "${var.name}-github"
  provider_type = "GitHub"

  tags = var.tags
}

# ------------------------------------------------------------ approvals ----

resource "aws_sns_topic" "approvals" {
  count = var.manual_approval ? 1 : 0

  name              = "${var.name}-deploy-approvals"
  kms_master_key_id = var.notifications_kms_key_arn

  tags = var.tags
}

resource "aws_sns_topic_subscription" "approvals" {
  for_each = var.manual_approval ? toset(var.approval_emails) : toset([])

  topic_arn = aws_sns_topic.approvals[0].arn
  protocol  = "email"
  endpoint  = each.value
}

# ------------------------------------------------------------ CodeBuild ----

resource "aws_cloudwatch_log_group" "codebuild" {
  for_each = local.projects

  name              = "/codebuild/${var.name}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn

  tags = var.tags
}

data "aws_iam_policy_document" "codebuild_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["codebuild.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "codebuild" {
  for_each = local.projects

  name               = "${var.name}-codebuild-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.codebuild_assume.json

  tags = var.tags
}

data "aws_iam_policy_document" "codebuild" {
  for_each = local.projects

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.codebuild[each.key].arn}:*"]
  }

  statement {
    sid       = "PipelineArtifacts"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"]
    resources = ["${var.artifacts_bucket_arn}/*"]
  }

  statement {
    sid       = "ArtifactsKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:DescribeKey"]
    resources = [var.artifacts_kms_key_arn]
  }

  # CODEBUILD_CLONE_REF: the build clones the repository (with its tags)
  # through the connection.
  statement {
    sid       = "CloneThroughTheConnection"
    actions   = ["codestar-connections:UseConnection", "codeconnections:UseConnection", "codestar-connections:GetConnectionToken", "codeconnections:GetConnectionToken"]
    resources = [local.connection_arn]
  }

  dynamic "statement" {
    for_each = each.key != "migrate" ? [1] : []

    content {
      sid       = "EcrLogin"
      actions   = ["ecr:GetAuthorizationToken"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = each.key != "migrate" ? [1] : []

    content {
      sid = "PushReleaseImages"
      actions = [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:DescribeImages",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage",
      ]
      resources = [var.image_repository_arn]
    }
  }

  dynamic "statement" {
    for_each = each.key == "migrate" ? [1] : []

    content {
      sid       = "ReadTaskDefinitions"
      actions   = ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"]
      resources = ["*"] # neither action supports resource-level permissions
    }
  }

  dynamic "statement" {
    for_each = each.key == "migrate" ? [1] : []

    content {
      sid       = "RunTheMigrateTask"
      actions   = ["ecs:RunTask"]
      resources = ["${local.ecs_arn}:task-definition/${var.migrate_task_family}-migrate:*"]

      condition {
        test     = "ArnEquals"
        variable = "ecs:cluster"
        values   = [local.cluster_arn]
      }
    }
  }

  dynamic "statement" {
    for_each = each.key == "migrate" ? [1] : []

    content {
      sid       = "WatchTheMigrateTask"
      actions   = ["ecs:DescribeTasks", "ecs:TagResource"]
      resources = ["${local.ecs_arn}:task/${var.cluster_name}/*"]
    }
  }

  dynamic "statement" {
    for_each = each.key == "migrate" && length(local.api_roles) > 0 ? [1] : []

    content {
      sid       = "PassTheApiRoles"
      actions   = ["iam:PassRole"]
      resources = local.api_roles

      condition {
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = ["ecs-tasks.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "codebuild" {
  for_each = local.projects

  name   = "codebuild-${each.key}"
  role   = aws_iam_role.codebuild[each.key].id
  policy = data.aws_iam_policy_document.codebuild[each.key].json
}

resource "aws_codebuild_project" "this" {
  for_each = local.projects

  name           = "${var.name}-${each.key}"
  description    = each.key == "migrate" ? "Run palisade migrate as a one-off ECS task with the release image" : "Test, build and push the palisade image for the ${each.value.pipeline} pipeline"
  service_role   = aws_iam_role.codebuild[each.key].arn
  build_timeout  = var.build_timeout_minutes
  encryption_key = var.artifacts_kms_key_arn

  source {
    type      = "CODEPIPELINE"
    buildspec = each.value.buildspec
  }

  artifacts {
    type = "CODEPIPELINE"
  }

  environment {
    type                        = "ARM_CONTAINER"
    compute_type                = each.key == "migrate" ? "BUILD_GENERAL1_SMALL" : var.codebuild_compute_type
    image                       = var.codebuild_image
    image_pull_credentials_type = "CODEBUILD"
    # The image is assembled in Go (cmd/imagebuild): no Docker daemon, so
    # no privileged build container.
    privileged_mode = false

    dynamic "environment_variable" {
      for_each = each.key == "migrate" ? tomap(local.migrate_env) : tomap(merge(local.build_env, { CONTAINERS = join(",", local.pipelines[each.value.pipeline].services) }))

      content {
        name  = environment_variable.key
        value = environment_variable.value
      }
    }
  }

  logs_config {
    cloudwatch_logs {
      group_name = aws_cloudwatch_log_group.codebuild[each.key].name
    }
  }

  tags = var.tags
}

# ----------------------------------------------------------- pipelines -----

data "aws_iam_policy_document" "pipeline_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["codepipeline.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "pipeline" {
  for_each = local.pipelines

  name               = "${var.name}-pipeline-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.pipeline_assume.json

  tags = var.tags
}

data "aws_iam_policy_document" "pipeline" {
  for_each = local.pipelines

  statement {
    sid       = "Artifacts"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:GetBucketVersioning"]
    resources = [var.artifacts_bucket_arn, "${var.artifacts_bucket_arn}/*"]
  }

  statement {
    sid       = "ArtifactsKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:DescribeKey"]
    resources = [var.artifacts_kms_key_arn]
  }

  statement {
    sid       = "Source"
    actions   = ["codestar-connections:UseConnection", "codeconnections:UseConnection"]
    resources = [local.connection_arn]
  }

  statement {
    sid       = "RunOwnBuilds"
    actions   = ["codebuild:StartBuild", "codebuild:BatchGetBuilds"]
    resources = [for k, p in local.projects : aws_codebuild_project.this[k].arn if p.pipeline == each.key]
  }

  # The ECS deploy action registers a task definition revision with the new
  # image; neither call supports resource-level permissions.
  statement {
    sid       = "RegisterTaskDefinitions"
    actions   = ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"]
    resources = ["*"]
  }

  statement {
    sid       = "UpdateOwnServices"
    actions   = ["ecs:DescribeServices", "ecs:UpdateService"]
    resources = [for s in each.value.services : "${local.ecs_arn}:service/${var.cluster_name}/${var.service_names[s]}"]
  }

  statement {
    sid       = "WatchDeployments"
    actions   = ["ecs:DescribeTasks", "ecs:ListTasks", "ecs:TagResource"]
    resources = ["${local.ecs_arn}:task/${var.cluster_name}/*", "${local.ecs_arn}:container-instance/${var.cluster_name}/*", "${local.ecs_arn}:task-definition/*"]
  }

  dynamic "statement" {
    for_each = length(local.pipeline_roles[each.key]) > 0 ? [1] : []

    content {
      sid       = "PassOwnServiceRoles"
      actions   = ["iam:PassRole"]
      resources = local.pipeline_roles[each.key]

      condition {
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = ["ecs-tasks.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.manual_approval ? [1] : []

    content {
      sid       = "NotifyApprovers"
      actions   = ["sns:Publish"]
      resources = [aws_sns_topic.approvals[0].arn]
    }
  }

  dynamic "statement" {
    for_each = var.manual_approval ? [1] : []

    content {
      sid       = "ApprovalTopicKey"
      actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
      resources = [var.notifications_kms_key_arn]
    }
  }
}

resource "aws_iam_role_policy" "pipeline" {
  for_each = local.pipelines

  name   = "pipeline-${each.key}"
  role   = aws_iam_role.pipeline[each.key].id
  policy = data.aws_iam_policy_document.pipeline[each.key].json
}

resource "aws_codepipeline" "this" {
  for_each = local.pipelines

  name          = "${var.name}-${each.key}"
  role_arn      = aws_iam_role.pipeline[each.key].arn
  pipeline_type = "V2"
  # A release that arrives while another deploys waits its turn rather than
  # overtaking it mid-migration.
  execution_mode = "QUEUED"

  artifact_store {
    type     = "S3"
    location = var.artifacts_bucket_name

    encryption_key {
      type = "KMS"
      id   = var.artifacts_kms_key_arn
    }
  }

  # Spec 4.2: a GitHub release (its tag) starts the pipeline; pushes to
  # branches do not.
  trigger {
    provider_type = "CodeStarSourceConnection"

    git_configuration {
      source_action_name = "Source"

      push {
        tags {
          includes = var.release_tag_patterns[each.key]
        }
      }
    }
  }

  stage {
    name = "Source"

    action {
      name             = "Source"
      category         = "Source"
      owner            = "AWS"
      provider         = "CodeStarSourceConnection"
      version          = "1"
      output_artifacts = ["source"]

      configuration = {
        ConnectionArn    = local.connection_arn
        FullRepositoryId = var.repository
        BranchName       = var.default_branch
        # A git clone rather than a zip, so the build reads the release tag.
        OutputArtifactFormat = "CODEBUILD_CLONE_REF"
      }
    }
  }

  stage {
    name = "Build"

    action {
      name             = "Build"
      category         = "Build"
      owner            = "AWS"
      provider         = "CodeBuild"
      version          = "1"
      input_artifacts  = ["source"]
      output_artifacts = ["image"]

      configuration = {
        ProjectName = aws_codebuild_project.this["build-${each.key}"].name
      }
    }
  }

  dynamic "stage" {
    for_each = var.manual_approval ? [1] : []

    content {
      name = "Approval"

      action {
        name     = "Approve"
        category = "Approval"
        owner    = "AWS"
        provider = "Manual"
        version  = "1"

        configuration = {
          NotificationArn = aws_sns_topic.approvals[0].arn
          CustomData      = "Deploy ${each.key} (${join(", ", each.value.services)}) to ${var.name}: check the release notes and the ECR scan findings of the image first."
        }
      }
    }
  }

  dynamic "stage" {
    for_each = each.value.migrate ? [1] : []

    content {
      name = "Migrate"

      action {
        name            = "Migrate"
        category        = "Build"
        owner           = "AWS"
        provider        = "CodeBuild"
        version         = "1"
        input_artifacts = ["source", "image"]

        configuration = {
          ProjectName   = aws_codebuild_project.this["migrate"].name
          PrimarySource = "source"
        }
      }
    }
  }

  stage {
    name = "Deploy"

    dynamic "action" {
      for_each = toset(each.value.services)

      content {
        name            = "Deploy-${action.value}"
        category        = "Deploy"
        owner           = "AWS"
        provider        = "ECS"
        version         = "1"
        input_artifacts = ["image"]
        run_order       = 1

        configuration = {
          ClusterName       = var.cluster_name
          ServiceName       = var.service_names[action.value]
          FileName          = "imagedefinitions.json"
          DeploymentTimeout = tostring(var.deploy_timeout_minutes)
        }
      }
    }
  }

  tags = var.tags
}
