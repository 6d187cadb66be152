data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  tenant_buckets     = "arn:${data.aws_partition.current.partition}:s3:::${var.tenant_bucket_prefix}*"
  definitions_bucket = "${var.name}-clamav-definitions"

  functions = {
    scan   = { command = var.scan_command, memory = var.memory_mb }
    update = { command = var.update_command, memory = 1024 }
  }

  secret_arns = distinct([for k, v in var.secret_environment : v[0]])

  # The recording scan function's extra environment.
  record_environment = var.record_results ? merge(
    { PALISADE_DB_DRIVER = "mysql" },
    var.app_environment,
    { for k, v in var.secret_environment : k => "aws-sm://${v[0]}#${v[1]}" },
  ) : {}
}

# ------------------------------------------------- recording the verdicts --
# With record_results the scan function runs in the private subnets: it
# reads the upload through the S3 gateway endpoint, records the verdict in
# MariaDB, publishes it to realtime's HTTP API, and mails the malware
# notice through SES (the same calls the worker makes, files.Service.Record).

resource "aws_security_group" "scan" {
  count = var.record_results ? 1 : 0

  name        = "${var.name}-scanner"
  description = "Scanner Lambda: no inbound; MariaDB, realtime and HTTPS out"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-scanner" })
}

resource "aws_vpc_security_group_egress_rule" "scan_https" {
  for_each = var.record_results ? toset(var.egress_https_cidr_blocks) : toset([])

  security_group_id = aws_security_group.scan[0].id
  description       = "HTTPS to S3, KMS, Secrets Manager and SES"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  # trivy:ignore:AVD-AWS-0104 AWS APIs without a VPC endpoint (KMS, SES) through the NAT gateways; HTTPS only, never inbound. Narrow egress_https_cidr_blocks to restrict it.
  cidr_ipv4 = each.value
}

resource "aws_vpc_security_group_egress_rule" "scan_db" {
  for_each = var.record_results ? toset(var.data_subnet_cidrs) : toset([])

  security_group_id = aws_security_group.scan[0].id
  description       = "MariaDB"
  ip_protocol       = "tcp"
  from_port         = 3306
  to_port           = 3306
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "scan_realtime" {
  count = var.record_results ? 1 : 0

  security_group_id            = aws_security_group.scan[0].id
  description                  = "Realtime HTTP API (scan verdicts, live)"
  ip_protocol                  = "tcp"
  from_port                    = var.realtime_port
  to_port                      = var.realtime_port
  referenced_security_group_id = var.realtime_security_group_id
}

resource "aws_vpc_security_group_ingress_rule" "realtime_from_scan" {
  count = var.record_results ? 1 : 0

  security_group_id            = var.realtime_security_group_id
  description                  = "Realtime HTTP API from the scanner Lambda"
  ip_protocol                  = "tcp"
  from_port                    = var.realtime_port
  to_port                      = var.realtime_port
  referenced_security_group_id = aws_security_group.scan[0].id
}

# ------------------------------------------------------ definitions bucket --

resource "aws_s3_bucket" "definitions" {
  bucket        = local.definitions_bucket
  force_destroy = var.force_destroy

  tags = var.tags
}

resource "aws_s3_bucket_ownership_controls" "definitions" {
  bucket = aws_s3_bucket.definitions.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "definitions" {
  bucket = aws_s3_bucket.definitions.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "definitions" {
  bucket = aws_s3_bucket.definitions.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "definitions" {
  bucket = aws_s3_bucket.definitions.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.storage_kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "definitions" {
  bucket = aws_s3_bucket.definitions.id

  rule {
    id     = "expire-old-signatures"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.definitions]
}

data "aws_iam_policy_document" "definitions" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.definitions.arn, "${aws_s3_bucket.definitions.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "definitions" {
  bucket = aws_s3_bucket.definitions.id
  policy = data.aws_iam_policy_document.definitions.json

  depends_on = [aws_s3_bucket_public_access_block.definitions]
}

# ----------------------------------------------------------- dead letters --

resource "aws_sqs_queue" "dlq" {
  name                              = "${var.name}-scanner-dlq"
  message_retention_seconds         = var.dlq_retention_seconds
  kms_master_key_id                 = var.queue_kms_key_arn
  kms_data_key_reuse_period_seconds = 300

  tags = var.tags
}

data "aws_iam_policy_document" "dlq" {
  statement {
    sid       = "EventBridgeDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.object_created.arn, aws_cloudwatch_event_rule.update.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy    = data.aws_iam_policy_document.dlq.json
}

# -------------------------------------------------------------- functions --

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each = local.functions

  name               = "${var.name}-scanner-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "this" {
  for_each = local.functions

  name              = "/aws/lambda/${var.name}-scanner-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn

  tags = var.tags
}

data "aws_iam_policy_document" "common" {
  for_each = local.functions

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this[each.key].arn}:*"]
  }

  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  dynamic "statement" {
    for_each = var.queue_kms_key_arn == null ? [] : [var.queue_kms_key_arn]

    content {
      sid       = "EncryptDeadLetters"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.storage_kms_key_arn == null ? [] : [var.storage_kms_key_arn]

    content {
      sid       = "DefinitionsKey"
      actions   = each.key == "update" ? ["kms:GenerateDataKey", "kms:Decrypt"] : ["kms:Decrypt"]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "ListDefinitions"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.definitions.arn]
  }

  # The manifest is read as the current version; the databases it names
  # by their version id (scan.Mirror.Fetch), so a scanner never mixes sets.
  statement {
    sid       = "Definitions"
    actions   = each.key == "update" ? ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"] : ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${aws_s3_bucket.definitions.arn}/*"]
  }

  # The scan function reads each upload and tags it ScanStatus=Clean,
  # Infected or Error. Tenant buckets deny GetObject on untagged objects to
  # everyone else, so their policy exempts this role (role_arns output).
  dynamic "statement" {
    for_each = each.key == "scan" ? [1] : []

    content {
      sid = "ScanAndTagTenantObjects"
      actions = [
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:GetObjectTagging",
        "s3:GetObjectVersionTagging",
        "s3:PutObjectTagging",
        "s3:PutObjectVersionTagging",
      ]
      resources = ["${local.tenant_buckets}/*"]
    }
  }

  # Network interfaces in the VPC (AWSLambdaVPCAccessExecutionRole's
  # actions; they support no resource-level scoping).
  dynamic "statement" {
    for_each = each.key == "scan" && var.record_results ? [1] : []

    content {
      sid       = "VpcNetworkInterfaces"
      actions   = ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = each.key == "scan" && var.record_results ? [1] : []

    content {
      sid       = "ReadTheAppSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = local.secret_arns
    }
  }

  dynamic "statement" {
    for_each = each.key == "scan" && var.record_results ? [1] : []

    content {
      sid       = "DecryptTheAppSecrets"
      actions   = ["kms:Decrypt"]
      resources = [var.secrets_kms_key_arn]
    }
  }

  dynamic "statement" {
    for_each = each.key == "scan" && var.record_results && length(var.mail_resource_arns) > 0 ? [1] : []

    content {
      sid       = "SendTheMalwareNotice"
      actions   = ["ses:SendEmail", "ses:SendRawEmail"]
      resources = var.mail_resource_arns
    }
  }

  dynamic "statement" {
    for_each = each.key == "scan" && var.tenant_kms_key_arn != null ? [var.tenant_kms_key_arn] : []

    content {
      sid       = "DecryptTenantObjects"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }

  # Each tenant's own key (internal/files.TenantKeys), through S3 only, on
  # this environment's keys.
  dynamic "statement" {
    for_each = each.key == "scan" && var.tenant_kms_keys ? [1] : []

    content {
      sid       = "DecryptWithTenantKeys"
      actions   = ["kms:Decrypt"]
      resources = ["arn:${data.aws_partition.current.partition}:kms:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:key/*"]

      condition {
        test     = "StringEquals"
        variable = "aws:ResourceTag/palisade:key-scope"
        values   = [var.tenant_bucket_prefix]
      }

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${data.aws_region.current.name}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "this" {
  for_each = local.functions

  name   = "scanner-${each.key}"
  role   = aws_iam_role.this[each.key].id
  policy = data.aws_iam_policy_document.common[each.key].json
}

resource "aws_lambda_function" "this" {
  for_each = local.functions

  function_name = "${var.name}-scanner-${each.key}"
  description   = each.key == "scan" ? "ClamAV scan of tenant uploads; tags ScanStatus" : "Refresh the ClamAV signatures in ${local.definitions_bucket}"
  role          = aws_iam_role.this[each.key].arn
  package_type  = "Image"
  image_uri     = var.image_uri
  architectures = ["arm64"]
  memory_size   = each.value.memory
  timeout       = var.timeout_seconds

  image_config {
    command = each.value.command
  }

  ephemeral_storage {
    size = var.ephemeral_storage_mb
  }

  # PALISADE_S3_EXPECTED_BUCKET_OWNER: x-amz-expected-bucket-owner on every
  # S3 call (internal/files), so a squatted bucket name is refused.
  environment {
    variables = merge({
      PALISADE_ENV                       = var.environment
      PALISADE_CLAMAV_DEFINITIONS_BUCKET = aws_s3_bucket.definitions.id
      PALISADE_S3_BUCKET_PREFIX          = var.tenant_bucket_prefix
      PALISADE_S3_EXPECTED_BUCKET_OWNER  = data.aws_caller_identity.current.account_id
    }, each.key == "scan" ? local.record_environment : {})
  }

  dynamic "vpc_config" {
    for_each = each.key == "scan" && var.record_results ? [1] : []

    content {
      subnet_ids         = var.subnet_ids
      security_group_ids = [aws_security_group.scan[0].id]
    }
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }

  tracing_config {
    mode = "Active"
  }

  tags = var.tags

  # image_uri seeds the first release only: the API pipeline deploys every
  # later scanner image (deploy/scripts/release-step.sh scanner), and an
  # apply must not roll it back.
  lifecycle {
    ignore_changes = [image_uri]
  }

  # The log group /aws/lambda/<function> exists first, with its KMS key and retention.
  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}

# ---------------------------------------------------------------- triggers --
# Tenant buckets send their events to EventBridge (the app turns on
# EventBridge notifications when it creates a bucket).

resource "aws_cloudwatch_event_rule" "object_created" {
  name        = "${var.name}-tenant-object-created"
  description = "New objects in ${var.tenant_bucket_prefix}* buckets go to the malware scanner"

  event_pattern = jsonencode({
    source        = ["aws.s3"]
    "detail-type" = ["Object Created"]
    detail = {
      bucket = { name = [{ prefix = var.tenant_bucket_prefix }] }
    }
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_rule" "update" {
  name                = "${var.name}-clamav-update"
  description         = "Refresh the ClamAV signatures"
  schedule_expression = var.update_schedule

  tags = var.tags
}

locals {
  triggers = {
    scan   = aws_cloudwatch_event_rule.object_created
    update = aws_cloudwatch_event_rule.update
  }
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = local.functions

  rule      = local.triggers[each.key].name
  target_id = "${each.key}-lambda"
  arn       = aws_lambda_function.this[each.key].arn

  retry_policy {
    maximum_event_age_in_seconds = var.max_event_age_seconds
    maximum_retry_attempts       = var.max_retry_attempts
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
}

resource "aws_lambda_permission" "events" {
  for_each = local.functions

  statement_id  = "AllowEventBridge"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[each.key].function_name
  principal     = "events.amazonaws.com"
  source_arn    = local.triggers[each.key].arn
}
