data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  artifacts_bucket = "${var.name}-pipeline-artifacts"
  tenant_buckets   = "arn:${data.aws_partition.current.partition}:s3:::${var.tenant_bucket_prefix}*"
  tenant_objects   = "${local.tenant_buckets}/*"
  kms_arn_prefix   = "arn:${data.aws_partition.current.partition}:kms:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"
  # The tenant keys the app creates (internal/files.TenantKeys) carry the
  # tag palisade:key-scope = the bucket prefix; IAM grants only keys with
  # this environment's scope, so two environments in one account never
  # touch each other's keys.
  tenant_keys        = "${local.kms_arn_prefix}:key/*"
  tenant_key_aliases = "${local.kms_arn_prefix}:alias/${var.tenant_bucket_prefix}*"
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
# what those buckets share: these IAM policies, the KMS key and the
# EventBridge rule of the scanner module.
#
# One policy per application flow, holding exactly the IAM actions of the
# S3 calls that flow makes (internal/files, internal/scan); the ecs module
# attaches to each task role the flows its service runs (var.services
# tenant_s3). An S3 API call and the IAM action it needs:
#
#   files    (api)          presigned PutObject            s3:PutObject
#                           GetObjectAttributes (complete) s3:GetObjectAttributes (+ s3:ListBucket, so a
#                                                          missing key is 404, not 403); not HeadObject:
#                                                          that is s3:GetObject, which the bucket policy
#                                                          denies on an upload not yet tagged Clean
#                           presigned GetObject(version)   s3:GetObject, s3:GetObjectVersion
#                           GetObjectTagging(version)      s3:GetObjectTagging, s3:GetObjectVersionTagging
#                           DeleteObject(version)          s3:DeleteObject, s3:DeleteObjectVersion
#   scan     (worker)       HeadObject, GetObject(version) s3:GetObject, s3:GetObjectVersion, s3:ListBucket
#                           Get/PutObjectTagging(version)  s3:{Get,Put}Object{,Version}Tagging
#   buckets  (api, worker)  CreateBucket (ObjectOwnership) s3:CreateBucket, s3:PutBucketOwnershipControls
#     provision             PutBucketVersioning            s3:PutBucketVersioning
#                           PutBucketEncryption            s3:PutEncryptionConfiguration
#                           PutPublicAccessBlock           s3:PutBucketPublicAccessBlock
#                           PutBucketOwnershipControls     s3:PutBucketOwnershipControls
#                           PutBucketLifecycleConfiguration s3:PutLifecycleConfiguration
#                           PutBucketCors                  s3:PutBucketCORS
#                           PutBucketPolicy                s3:PutBucketPolicy
#                           PutBucketNotificationConfiguration s3:PutBucketNotification
#                           PutBucketTagging (tenant tag)  s3:PutBucketTagging
#                           GetBucketTagging (adopting an  s3:GetBucketTagging
#                             own bucket: BucketAlreadyOwnedByYou)
#     audit                 HeadBucket                     s3:ListBucket
#                           GetBucket{Versioning,Encryption,PublicAccessBlock,OwnershipControls,
#                           LifecycleConfiguration,Policy,NotificationConfiguration}
#                                                          s3:GetBucketVersioning, s3:GetEncryptionConfiguration,
#                                                          s3:GetBucketPublicAccessBlock, s3:GetBucketOwnershipControls,
#                                                          s3:GetLifecycleConfiguration, s3:GetBucketPolicy,
#                                                          s3:GetBucketNotification
#   offboard (worker)       ListObjectVersions             s3:ListBucketVersions
#                           DeleteObjects (every version)  s3:DeleteObject, s3:DeleteObjectVersion
#                           DeleteBucket                   s3:DeleteBucket
#
# Tenant keys (tenant_kms_keys: crypto-shredding, docs/architecture.md):
#   buckets  (provision)    DescribeKey alias/<bucket>     kms:DescribeKey
#                           CreateKey with both tags       kms:CreateKey, kms:TagResource (request tags)
#                           CreateAlias                    kms:CreateAlias (alias and key)
#                           EnableKeyRotation              kms:EnableKeyRotation
#                           ScheduleKeyDeletion (the key   kms:ScheduleKeyDeletion
#                             of a lost alias race)
#   offboard                DescribeKey, ScheduleKeyDeletion
#   files, scan             the data keys S3 asks for:     kms:GenerateDataKey, kms:Decrypt (via S3 only)
#
# Bucket tagging: provisioning tags a bucket it creates with its tenant
# (palisade:tenant-id) and adopts an existing bucket of the account only
# with that tag; another account's bucket (BucketAlreadyExists) is refused.

locals {
  tenant_flows = {
    files = {
      bucket  = ["s3:ListBucket"]
      objects = ["s3:PutObject", "s3:GetObjectAttributes", "s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging", "s3:DeleteObject", "s3:DeleteObjectVersion"]
      # Browsers PUT with the api's presigned URL, so the api's identity
      # encrypts (GenerateDataKey) and a download decrypts.
      kms       = ["kms:GenerateDataKey", "kms:Decrypt"]
      key_admin = []
    }
    scan = {
      bucket    = ["s3:ListBucket"]
      objects   = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging", "s3:PutObjectTagging", "s3:PutObjectVersionTagging"]
      kms       = ["kms:Decrypt"]
      key_admin = []
    }
    buckets = {
      bucket = [
        "s3:CreateBucket",
        "s3:ListBucket",
        "s3:PutBucketOwnershipControls",
        "s3:GetBucketOwnershipControls",
        "s3:PutBucketVersioning",
        "s3:GetBucketVersioning",
        "s3:PutEncryptionConfiguration",
        "s3:GetEncryptionConfiguration",
        "s3:PutBucketPublicAccessBlock",
        "s3:GetBucketPublicAccessBlock",
        "s3:PutLifecycleConfiguration",
        "s3:GetLifecycleConfiguration",
        "s3:PutBucketCORS",
        "s3:PutBucketPolicy",
        "s3:GetBucketPolicy",
        "s3:PutBucketNotification",
        "s3:GetBucketNotification",
        "s3:PutBucketTagging",
        "s3:GetBucketTagging",
      ]
      objects   = []
      kms       = []
      key_admin = ["kms:DescribeKey", "kms:CreateAlias", "kms:EnableKeyRotation", "kms:ScheduleKeyDeletion"]
    }
    offboard = {
      bucket    = ["s3:ListBucketVersions", "s3:DeleteBucket"]
      objects   = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
      kms       = []
      key_admin = ["kms:DescribeKey", "kms:ScheduleKeyDeletion"]
    }
  }
}

data "aws_iam_policy_document" "tenant" {
  for_each = local.tenant_flows

  statement {
    sid       = "TenantBuckets"
    actions   = each.value.bucket
    resources = [local.tenant_buckets]
  }

  dynamic "statement" {
    for_each = length(each.value.objects) > 0 ? [1] : []

    content {
      sid       = "TenantObjects"
      actions   = each.value.objects
      resources = [local.tenant_objects]
    }
  }

  dynamic "statement" {
    # Decided on known values only (the key ARN is known after apply).
    for_each = length(each.value.kms) > 0 ? [1] : []

    content {
      sid       = "UseTheSharedKey"
      actions   = each.value.kms
      resources = [var.kms_key_arn]
    }
  }

  # A tenant's own key is used only through S3, on this environment's keys.
  dynamic "statement" {
    for_each = var.tenant_kms_keys && length(each.value.kms) > 0 ? [1] : []

    content {
      sid       = "UseTenantKeysThroughS3"
      actions   = each.value.kms
      resources = [local.tenant_keys]

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

  # Keys are created only with the tenant tag and this environment's scope.
  dynamic "statement" {
    for_each = var.tenant_kms_keys && contains(each.value.key_admin, "kms:CreateAlias") ? [1] : []

    content {
      sid       = "CreateTenantKeys"
      actions   = ["kms:CreateKey", "kms:TagResource"]
      resources = ["*"]

      condition {
        test     = "StringEquals"
        variable = "aws:RequestTag/palisade:key-scope"
        values   = [var.tenant_bucket_prefix]
      }

      condition {
        test     = "Null"
        variable = "aws:RequestTag/palisade:tenant-id"
        values   = ["false"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.tenant_kms_keys && contains(each.value.key_admin, "kms:CreateAlias") ? [1] : []

    content {
      sid       = "TenantKeyAliases"
      actions   = ["kms:CreateAlias"]
      resources = [local.tenant_key_aliases]
    }
  }

  dynamic "statement" {
    for_each = var.tenant_kms_keys && length(each.value.key_admin) > 0 ? [1] : []

    content {
      sid       = "ManageTenantKeys"
      actions   = each.value.key_admin
      resources = [local.tenant_keys]

      condition {
        test     = "StringEquals"
        variable = "aws:ResourceTag/palisade:key-scope"
        values   = [var.tenant_bucket_prefix]
      }
    }
  }
}

resource "aws_iam_policy" "tenant" {
  for_each = local.tenant_flows

  name        = "${var.name}-tenant-buckets-${each.key}"
  description = "Tenant buckets ${var.tenant_bucket_prefix}*: the ${each.key} flow of the application"
  policy      = data.aws_iam_policy_document.tenant[each.key].json

  tags = var.tags
}
