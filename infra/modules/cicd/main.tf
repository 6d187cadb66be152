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

  # CodeBuild projects, by kind: build (test, build and push the palisade
  # image), scanner (build and push the scanner Lambda image, with Docker),
  # migrate (palisade migrate as a one-off task), release (the Deploy-stage
  # steps of deploy/scripts/release-step.sh: the schema gate, the scanner
  # deploy and recording the deployed tags).
  projects = merge(
    { for k, p in local.pipelines : "build-${k}" => { buildspec = "deploy/buildspec/build.yml", pipeline = k, kind = "build" } },
    { for k, p in local.pipelines : "release-${k}" => { buildspec = "deploy/buildspec/release.yml", pipeline = k, kind = "release" } },
    {
      migrate       = { buildspec = "deploy/buildspec/migrate.yml", pipeline = "api", kind = "migrate" }
      build-scanner = { buildspec = "deploy/buildspec/scanner.yml", pipeline = "api", kind = "scanner" }
    },
  )

  # The schema version the API pipeline's Migrate stage reached; the tenant
  # and hq pipelines wait for it before they deploy (issue 15, item 9).
  schema_parameter_name = "/${var.name}/release/schema-version"
  parameter_prefix      = "/${var.name}/release"

  # Deploy-stage order: the gate (pipelines that do not migrate), then the
  # ECS services and the scanner functions, then the record of what runs.
  deploy_order = { for k, p in local.pipelines : k => p.migrate ? 1 : 2 }

  # Task and execution roles by pipeline, for iam:PassRole.
  pipeline_roles = {
    for k, p in local.pipelines : k => [
      for r in concat([for s in p.services : lookup(var.task_role_arns, s, "")], [for s in p.services : lookup(var.execution_role_arns, s, "")]) : r if r != ""
    ]
  }
  migrate_roles = [for r in [lookup(var.task_role_arns, "migrate", ""), lookup(var.execution_role_arns, "migrate", "")] : r if r != ""]

  build_env = {
    IMAGE_REPO = var.image_repository_url
    # build.yml publishes the image's SBOM under sbom/ in this bucket.
    ARTIFACTS_BUCKET = var.artifacts_bucket_name
  }
  migrate_env = {
    CLUSTER          = var.cluster_name
    TASK_FAMILY      = var.migrate_task_family
    CONTAINER        = "migrate"
    SUBNETS          = join(",", var.migrate_subnet_ids)
    SECURITY_GROUPS  = join(",", var.migrate_security_group_ids)
    SCHEMA_PARAMETER = local.schema_parameter_name
  }
  scanner_env = {
    SCANNER_REPO = var.scanner_repository_url
  }
  release_env = {
    for k, p in local.pipelines : k => merge(
      {
        CONTAINERS       = join(",", p.services)
        PARAMETER_PREFIX = local.parameter_prefix
        SCHEMA_PARAMETER = local.schema_parameter_name
      },
      p.migrate ? tomap({
        SCANNER_REPO      = var.scanner_repository_url
        SCANNER_FUNCTIONS = join(",", var.scanner_function_names)
      }) : tomap({}),
    )
  }
  # tomap on every branch: the conditional needs one result type.
  project_env = {
    for k, p in local.projects : k => (
      p.kind == "migrate" ? tomap(local.migrate_env) :
      p.kind == "scanner" ? tomap(local.scanner_env) :
      p.kind == "release" ? tomap(local.release_env[p.pipeline]) :
      tomap(merge(local.build_env, { CONTAINERS = join(",", local.pipelines[p.pipeline].services) }))
    )
  }

  image_tag_parameter_arns = {
    for k, p in local.pipelines : k => [for s in p.services : "arn:${data.aws_partition.current.partition}:ssm:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:parameter${local.parameter_prefix}/${s}/image-tag"]
  }

  cluster_arn = "arn:${data.aws_partition.current.partition}:ecs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:cluster/${var.cluster_name}"
  ecs_arn     = "arn:${data.aws_partition.current.partition}:ecs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"
}

# ------------------------------------------------------ schema version ----

# Written by the Migrate stage (deploy/scripts/migrate.sh) once the
# migration succeeded; Terraform only creates it.
resource "aws_ssm_parameter" "schema_version" {
  name           = local.schema_parameter_name
  description    = "Highest migration the ${var.name} database has; written by the API pipeline's Migrate stage"
  type           = "String"
  insecure_value = "0"

  tags = var.tags

  lifecycle {
    ignore_changes = [insecure_value]
  }
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
    for_each = contains(["build", "scanner"], each.value.kind) ? [1] : []

    content {
      sid       = "EcrLogin"
      actions   = ["ecr:GetAuthorizationToken"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = contains(["build", "scanner"], each.value.kind) ? [1] : []

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
      resources = [each.value.kind == "scanner" ? var.scanner_repository_arn : var.image_repository_arn]
    }
  }

  dynamic "statement" {
    for_each = each.value.kind == "migrate" ? [1] : []

    content {
      sid       = "RecordTheSchemaVersion"
      actions   = ["ssm:PutParameter"]
      resources = [aws_ssm_parameter.schema_version.arn]
    }
  }

  dynamic "statement" {
    for_each = each.value.kind == "release" && !local.pipelines[each.value.pipeline].migrate ? [1] : []

    content {
      sid       = "ReadTheSchemaVersion"
      actions   = ["ssm:GetParameter"]
      resources = [aws_ssm_parameter.schema_version.arn]
    }
  }

  dynamic "statement" {
    for_each = each.value.kind == "release" ? [1] : []

    content {
      sid       = "RecordTheDeployedTags"
      actions   = ["ssm:PutParameter"]
      resources = local.image_tag_parameter_arns[each.value.pipeline]
    }
  }

  dynamic "statement" {
    for_each = each.value.kind == "release" && local.pipelines[each.value.pipeline].migrate ? [1] : []

    content {
      sid       = "DeployTheScannerImage"
      actions   = ["lambda:UpdateFunctionCode", "lambda:GetFunction", "lambda:GetFunctionConfiguration"]
      resources = var.scanner_function_arns
    }
  }

  dynamic "statement" {
    for_each = each.value.kind == "migrate" ? [1] : []

    content {
      sid       = "ReadTaskDefinitions"
      actions   = ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"]
      resources = ["*"] # neither action supports resource-level permissions
    }
  }

  dynamic "statement" {
    for_each = each.value.kind == "migrate" ? [1] : []

    content {
      sid       = "RunTheMigrateTask"
      actions   = ["ecs:RunTask"]
      resources = ["${local.ecs_arn}:task-definition/${var.migrate_task_family}:*"]

      condition {
        test     = "ArnEquals"
        variable = "ecs:cluster"
        values   = [local.cluster_arn]
      }
    }
  }

  dynamic "statement" {
    for_each = each.value.kind == "migrate" ? [1] : []

    content {
      sid       = "WatchTheMigrateTask"
      actions   = ["ecs:DescribeTasks", "ecs:TagResource"]
      resources = ["${local.ecs_arn}:task/${var.cluster_name}/*"]
    }
  }

  dynamic "statement" {
    for_each = each.value.kind == "migrate" ? [1] : []

    content {
      sid       = "PassTheMigrateRoles"
      actions   = ["iam:PassRole"]
      resources = local.migrate_roles

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

  name = "${var.name}-${each.key}"
  description = lookup({
    migrate = "Run palisade migrate as a one-off ECS task with the release image"
    scanner = "Build and push the scanner Lambda image (single-platform linux/arm64 manifest)"
    release = "Deploy-stage steps of the ${each.value.pipeline} pipeline: schema gate, scanner deploy, record of the deployed tags"
  }, each.value.kind, "Test, build and push the palisade image for the ${each.value.pipeline} pipeline")
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
    compute_type                = contains(["build", "scanner"], each.value.kind) ? var.codebuild_compute_type : "BUILD_GENERAL1_SMALL"
    image                       = var.codebuild_image
    image_pull_credentials_type = "CODEBUILD"
    # The palisade image is assembled in Go (cmd/imagebuild) without a
    # Docker daemon. Only the scanner image, which installs ClamAV from
    # Debian packages, needs Docker, and so a privileged build container;
    # that project runs the Dockerfile and nothing else.
    privileged_mode = each.value.kind == "scanner"

    dynamic "environment_variable" {
      for_each = tomap(local.project_env[each.key])

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

    # The scanner Lambda's image, beside the palisade image of the same
    # release (the API pipeline deploys it).
    dynamic "action" {
      for_each = each.value.migrate ? [1] : []

      content {
        name            = "Build-scanner"
        category        = "Build"
        owner           = "AWS"
        provider        = "CodeBuild"
        version         = "1"
        input_artifacts = ["source"]

        configuration = {
          ProjectName = aws_codebuild_project.this["build-scanner"].name
        }
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

    # Tenant and hq wait until the database has the schema their release
    # needs, which the API pipeline's Migrate stage writes: one release tag
    # starts all three pipelines, and the API's approval may come later.
    dynamic "action" {
      for_each = each.value.migrate ? [] : [1]

      content {
        name            = "Gate-schema"
        category        = "Build"
        owner           = "AWS"
        provider        = "CodeBuild"
        version         = "1"
        input_artifacts = ["source", "image"]
        run_order       = 1

        configuration = {
          ProjectName          = aws_codebuild_project.this["release-${each.key}"].name
          PrimarySource        = "source"
          EnvironmentVariables = jsonencode([{ name = "STEP", value = "gate", type = "PLAINTEXT" }])
        }
      }
    }

    dynamic "action" {
      for_each = each.value.migrate ? [1] : []

      content {
        name            = "Deploy-scanner"
        category        = "Build"
        owner           = "AWS"
        provider        = "CodeBuild"
        version         = "1"
        input_artifacts = ["source", "image"]
        run_order       = local.deploy_order[each.key]

        configuration = {
          ProjectName          = aws_codebuild_project.this["release-${each.key}"].name
          PrimarySource        = "source"
          EnvironmentVariables = jsonencode([{ name = "STEP", value = "scanner", type = "PLAINTEXT" }])
        }
      }
    }

    dynamic "action" {
      for_each = toset(each.value.services)

      content {
        name            = "Deploy-${action.value}"
        category        = "Deploy"
        owner           = "AWS"
        provider        = "ECS"
        version         = "1"
        input_artifacts = ["image"]
        run_order       = local.deploy_order[each.key]

        configuration = {
          ClusterName       = var.cluster_name
          ServiceName       = var.service_names[action.value]
          FileName          = "imagedefinitions.json"
          DeploymentTimeout = tostring(var.deploy_timeout_minutes)
        }
      }
    }

    # Once every service is deployed, its tag goes into the SSM parameter
    # its task definition reads (modules/ecs), so Terraform keeps it.
    action {
      name            = "Record"
      category        = "Build"
      owner           = "AWS"
      provider        = "CodeBuild"
      version         = "1"
      input_artifacts = ["source", "image"]
      run_order       = local.deploy_order[each.key] + 1

      configuration = {
        ProjectName          = aws_codebuild_project.this["release-${each.key}"].name
        PrimarySource        = "source"
        EnvironmentVariables = jsonencode([{ name = "STEP", value = "record", type = "PLAINTEXT" }])
      }
    }
  }

  tags = var.tags
}
