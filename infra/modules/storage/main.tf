data "aws_partition" "current" {}

locals {
  artifacts_bucket = "${var.name}-pipeline-artifacts"
  tenant_buckets   = "arn:${data.aws_partition.current.partition}:s3:::${var.tenant_bucket_prefix}*"
  tenant_objects   = "${local.tenant_buckets}/*"
}

# ------------------------------------------------------ pipeline artifacts --

resource "aws_s3_bucket" "artifacts" {
  bucket        = local.artifacts_bucket
  force_destroy = var.force_destroy

  tags = var.tags
}

resource "aws_s3_bucket_ownership_controls" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  rule {
    id     = "expire-noncurrent"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.artifacts_noncurrent_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.artifacts]
}

data "aws_iam_policy_document" "artifacts" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.artifacts.arn, "${aws_s3_bucket.artifacts.arn}/*"]

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

resource "aws_s3_bucket_policy" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  policy = data.aws_iam_policy_document.artifacts.json

  depends_on = [aws_s3_bucket_public_access_block.artifacts]
}

# ------------------------------------------------- tenant buckets (scope) --
# The application creates one bucket per tenant at run time. Terraform owns
# what those buckets share: these IAM policies (attached only to the api and
# worker task roles and to the scanner), the KMS key and the EventBridge rule
# of the scanner module.

# Bucket administration, for the role that provisions a tenant (api).
data "aws_iam_policy_document" "tenant_admin" {
  statement {
    sid = "ProvisionTenantBuckets"
    actions = [
      "s3:CreateBucket",
      "s3:ListBucket",
      "s3:GetBucketLocation",
      "s3:GetBucketPolicy",
      "s3:PutBucketPolicy",
      "s3:GetBucketVersioning",
      "s3:PutBucketVersioning",
      "s3:GetEncryptionConfiguration",
      "s3:PutEncryptionConfiguration",
      "s3:GetBucketPublicAccessBlock",
      "s3:PutBucketPublicAccessBlock",
      "s3:GetBucketOwnershipControls",
      "s3:PutBucketOwnershipControls",
      "s3:GetBucketNotification",
      "s3:PutBucketNotification",
      "s3:GetBucketTagging",
      "s3:PutBucketTagging",
      "s3:GetBucketCORS",
      "s3:PutBucketCORS",
    ]
    resources = [local.tenant_buckets]
  }
}

# Object access, for every role that reads or writes tenant files.
data "aws_iam_policy_document" "tenant_objects" {
  statement {
    sid       = "ListTenantBuckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [local.tenant_buckets]
  }

  statement {
    sid = "ReadWriteTenantObjects"
    actions = [
      "s3:GetObject",
      "s3:GetObjectVersion",
      "s3:GetObjectTagging",
      "s3:GetObjectVersionTagging",
      "s3:PutObject",
      "s3:PutObjectTagging",
      "s3:PutObjectVersionTagging",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
    ]
    resources = [local.tenant_objects]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]

    content {
      sid       = "UseTheTenantKey"
      actions   = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_policy" "tenant_admin" {
  name        = "${var.name}-tenant-buckets-admin"
  description = "Create and configure ${var.tenant_bucket_prefix}* buckets"
  policy      = data.aws_iam_policy_document.tenant_admin.json

  tags = var.tags
}

resource "aws_iam_policy" "tenant_objects" {
  name        = "${var.name}-tenant-buckets-objects"
  description = "Read, write and tag objects in ${var.tenant_bucket_prefix}* buckets"
  policy      = data.aws_iam_policy_document.tenant_objects.json

  tags = var.tags
}
