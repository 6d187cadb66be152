# Audit logging, threat detection and configuration compliance (issue 16,
# items 2 and 3; ISO 27001 8.15, 8.16, 8.8). Three buckets:
#
#   trail        CloudTrail log files: SSE-KMS (the audit key), Object Lock,
#                Glacier after archive_transition_days, expired after
#                archive_retention_days
#   config       AWS Config snapshots and history: SSE-KMS, the same lifecycle
#   access-logs  ALB access logs and the S3 server access logs of the other
#                two: SSE-S3, because neither ELB nor S3 log delivery can
#                write to an SSE-KMS bucket
#
# Bucket names carry the account ID: names are global and predictable, so a
# name someone else could register first (bucket squatting) is avoided.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_elb_service_account" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name

  trail_name = "${var.name}-trail"
  # Built from its parts, not aws_cloudtrail.this.arn: the key and bucket
  # policies must exist before the trail does.
  trail_arn = "arn:${local.partition}:cloudtrail:${local.region}:${local.account}:trail/${local.trail_name}"

  buckets = {
    trail       = "${var.name}-cloudtrail-${local.account}"
    config      = "${var.name}-config-${local.account}"
    access_logs = "${var.name}-access-logs-${local.account}"
  }
  bucket_arns = { for k, b in local.buckets : k => "arn:${local.partition}:s3:::${b}" }

  # The tenant buckets the application creates (item 6 of issue 15).
  tenant_bucket_arn_prefix = "arn:${local.partition}:s3:::${var.tenant_bucket_prefix}"
}

# ------------------------------------------------------------- audit key --

data "aws_iam_policy_document" "kms" {
  statement {
    sid       = "AccountAdministersKeyThroughIAM"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account}:root"]
    }
  }

  # CloudTrail encrypts log files (and digests) of this trail only.
  statement {
    sid       = "CloudTrailEncryptsLogFiles"
    actions   = ["kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }

    condition {
      test     = "StringLike"
      variable = "kms:EncryptionContext:aws:cloudtrail:arn"
      values   = ["arn:${local.partition}:cloudtrail:*:${local.account}:trail/*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }

  statement {
    sid       = "CloudTrailDescribesKey"
    actions   = ["kms:DescribeKey"]
    resources = ["*"]

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

  # AWS Config writes snapshots to the SSE-KMS config bucket.
  statement {
    sid       = "ConfigEncryptsDeliveries"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["config.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_kms_key" "audit" {
  description             = "${var.name} audit: CloudTrail log files and AWS Config deliveries"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.kms.json

  tags = merge(var.tags, { Name = "${var.name}-audit" })
}

resource "aws_kms_alias" "audit" {
  name          = "alias/${var.name}-audit"
  target_key_id = aws_kms_key.audit.key_id
}

# --------------------------------------------------------------- buckets --

resource "aws_s3_bucket" "this" {
  for_each = local.buckets

  bucket = each.value
  # Object Lock can only be turned on when the bucket is created.
  object_lock_enabled = each.key == "trail"
  force_destroy       = false

  tags = merge(var.tags, { Name = each.value })
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "kms" {
  for_each = { for k, b in local.buckets : k => b if k != "access_logs" }

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.audit.arn
    }
    bucket_key_enabled = true
  }
}

# SSE-S3, not KMS: ALB access logs and S3 server access logs can only be
# delivered to SSE-S3 buckets. The bucket holds request metadata, no customer
# data. (trivy exempts log-target buckets from AVD-AWS-0132; the conformance
# test allows this one bucket only, see sseS3Only in infra/audit_test.go.)
resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.this["access_logs"].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

# The trail and config buckets log their own access to the access-logs
# bucket; the access-logs bucket does not log itself (that would loop).
resource "aws_s3_bucket_logging" "this" {
  for_each = { for k, b in local.buckets : k => b if k != "access_logs" }

  bucket        = aws_s3_bucket.this[each.key].id
  target_bucket = aws_s3_bucket.this["access_logs"].id
  target_prefix = "s3/${each.value}/"
}

# Every log object is write-once for object_lock_retention_days: COMPLIANCE
# mode cannot be shortened or lifted by anyone, root included; GOVERNANCE
# can, with s3:BypassGovernanceRetention.
resource "aws_s3_bucket_object_lock_configuration" "trail" {
  bucket = aws_s3_bucket.this["trail"].id

  rule {
    default_retention {
      mode = var.object_lock_mode
      days = var.object_lock_retention_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    id     = "archive-then-expire"
    status = "Enabled"

    filter {}

    transition {
      days          = var.archive_transition_days
      storage_class = "GLACIER"
    }

    expiration {
      days = each.key == "access_logs" ? var.access_log_retention_days : var.archive_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 30
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  lifecycle {
    precondition {
      condition     = var.archive_retention_days >= var.object_lock_retention_days && var.archive_retention_days > var.archive_transition_days
      error_message = "archive_retention_days must cover object_lock_retention_days and come after archive_transition_days."
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

# ---------------------------------------------------------- bucket policies

data "aws_iam_policy_document" "bucket" {
  for_each = local.buckets

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [local.bucket_arns[each.key], "${local.bucket_arns[each.key]}/*"]

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

  # CloudTrail: this trail only (aws:SourceArn), into AWSLogs/<account>/
  # (and AWSLogs/<organisation>/ for an organisation trail).
  dynamic "statement" {
    for_each = each.key == "trail" ? [1] : []

    content {
      sid       = "CloudTrailChecksAcl"
      actions   = ["s3:GetBucketAcl"]
      resources = [local.bucket_arns.trail]

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

  dynamic "statement" {
    for_each = each.key == "trail" ? [1] : []

    content {
      sid       = "CloudTrailWritesLogFiles"
      actions   = ["s3:PutObject"]
      resources = ["${local.bucket_arns.trail}/AWSLogs/*"]

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

  dynamic "statement" {
    for_each = each.key == "config" ? [1] : []

    content {
      sid       = "ConfigChecksBucket"
      actions   = ["s3:GetBucketAcl", "s3:ListBucket"]
      resources = [local.bucket_arns.config]

      principals {
        type        = "Service"
        identifiers = ["config.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [local.account]
      }
    }
  }

  dynamic "statement" {
    for_each = each.key == "config" ? [1] : []

    content {
      sid       = "ConfigDelivers"
      actions   = ["s3:PutObject"]
      resources = ["${local.bucket_arns.config}/AWSLogs/${local.account}/Config/*"]

      principals {
        type        = "Service"
        identifiers = ["config.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [local.account]
      }
    }
  }

  # ALB access logs: the regional ELB account (regions older than August
  # 2022, eu-west-2 among them) or the log-delivery service principal.
  dynamic "statement" {
    for_each = each.key == "access_logs" ? [1] : []

    content {
      sid       = "ElbAccountWritesAccessLogs"
      actions   = ["s3:PutObject"]
      resources = ["${local.bucket_arns.access_logs}/alb/*/AWSLogs/${local.account}/*"]

      principals {
        type        = "AWS"
        identifiers = [data.aws_elb_service_account.current.arn]
      }
    }
  }

  dynamic "statement" {
    for_each = each.key == "access_logs" ? [1] : []

    content {
      sid       = "ElbLogDeliveryWritesAccessLogs"
      actions   = ["s3:PutObject"]
      resources = ["${local.bucket_arns.access_logs}/alb/*/AWSLogs/${local.account}/*"]

      principals {
        type        = "Service"
        identifiers = ["logdelivery.elasticloadbalancing.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = each.key == "access_logs" ? [1] : []

    content {
      sid       = "S3ServerAccessLogs"
      actions   = ["s3:PutObject"]
      resources = ["${local.bucket_arns.access_logs}/s3/*"]

      principals {
        type        = "Service"
        identifiers = ["logging.s3.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [local.account]
      }

      condition {
        test     = "ArnLike"
        variable = "aws:SourceArn"
        values   = [local.bucket_arns.trail, local.bucket_arns.config]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  policy = data.aws_iam_policy_document.bucket[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.this]
}
