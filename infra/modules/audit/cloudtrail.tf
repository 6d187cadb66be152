# ------------------------------------------------------------ CloudTrail --
# Multi-region, management events (read and write) and the S3 object-level
# events of the tenant buckets, chosen by their name prefix with advanced
# event selectors. Log files are SSE-KMS with the audit key and carry
# hourly signed digests (log-file validation), so a deleted or altered file
# is detected (`aws cloudtrail validate-logs`, docs/operations.md).

resource "aws_cloudwatch_log_group" "trail" {
  count = var.cloudwatch_logs_enabled ? 1 : 0

  name              = "/aws/cloudtrail/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn

  tags = var.tags
}

data "aws_iam_policy_document" "trail_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }
}

data "aws_iam_policy_document" "trail_logs" {
  statement {
    sid       = "DeliverToTheTrailLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/cloudtrail/${var.name}:log-stream:*"]
  }
}

resource "aws_iam_role" "trail" {
  count = var.cloudwatch_logs_enabled ? 1 : 0

  name               = "${var.name}-cloudtrail-logs"
  assume_role_policy = data.aws_iam_policy_document.trail_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "trail" {
  count = var.cloudwatch_logs_enabled ? 1 : 0

  name   = "cloudwatch-logs"
  role   = aws_iam_role.trail[0].id
  policy = data.aws_iam_policy_document.trail_logs.json
}

resource "aws_cloudtrail" "this" {
  name           = local.trail_name
  s3_bucket_name = aws_s3_bucket.this["trail"].id
  kms_key_id     = aws_kms_key.audit.arn

  is_multi_region_trail         = true
  include_global_service_events = true
  is_organization_trail         = var.organization_trail
  enable_log_file_validation    = true
  enable_logging                = true

  cloud_watch_logs_group_arn = var.cloudwatch_logs_enabled ? "${aws_cloudwatch_log_group.trail[0].arn}:*" : null
  cloud_watch_logs_role_arn  = var.cloudwatch_logs_enabled ? aws_iam_role.trail[0].arn : null

  # Management events, read and write (no readOnly selector).
  advanced_event_selector {
    name = "Management events, read and write"

    field_selector {
      field  = "eventCategory"
      equals = ["Management"]
    }
  }

  # Object-level (data) events of every tenant bucket, read and write:
  # who downloaded, uploaded, tagged or deleted which file.
  advanced_event_selector {
    name = "S3 data events of the tenant buckets"

    field_selector {
      field  = "eventCategory"
      equals = ["Data"]
    }

    field_selector {
      field  = "resources.type"
      equals = ["AWS::S3::Object"]
    }

    field_selector {
      field       = "resources.ARN"
      starts_with = [local.tenant_bucket_arn_prefix]
    }
  }

  tags = var.tags

  depends_on = [aws_s3_bucket_policy.this, aws_iam_role_policy.trail]
}
