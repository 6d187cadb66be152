data "aws_partition" "current" {}

locals {
  tenant_buckets     = "arn:${data.aws_partition.current.partition}:s3:::${var.tenant_bucket_prefix}*"
  definitions_bucket = "${var.name}-clamav-definitions"

  functions = {
    scan   = { command = var.scan_command, memory = var.memory_mb }
    update = { command = var.update_command, memory = 1024 }
  }
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

  statement {
    sid       = "Definitions"
    actions   = each.key == "update" ? ["s3:GetObject", "s3:PutObject"] : ["s3:GetObject"]
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

  dynamic "statement" {
    for_each = each.key == "scan" && var.tenant_kms_key_arn != null ? [var.tenant_kms_key_arn] : []

    content {
      sid       = "DecryptTenantObjects"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
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

  environment {
    variables = {
      PALISADE_ENV                       = var.environment
      PALISADE_CLAMAV_DEFINITIONS_BUCKET = aws_s3_bucket.definitions.id
      PALISADE_S3_BUCKET_PREFIX          = var.tenant_bucket_prefix
    }
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }

  tracing_config {
    mode = "Active"
  }

  tags = var.tags

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
