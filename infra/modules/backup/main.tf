# AWS Backup (issue 16, item 7; ISO 27001 8.13). One module, used twice by
# each environment:
#
#   module "backup_copy"  providers = { aws = aws.backup }: the vault in the
#                         backup region that receives the copies
#                         (plan_enabled = false)
#   module "backup"       the home-region vault, the daily plan for RDS (and,
#                         optionally, the tenant buckets by tag), and the copy
#                         of every recovery point to backup_copy's vault
#
# Both vaults are encrypted with their own KMS key (a key cannot leave its
# region); vault lock is optional (vault_lock_enabled).

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
}

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
}

resource "aws_kms_key" "backup" {
  description             = "${var.name} backup vault ${var.vault_name_suffix}"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.kms.json

  tags = merge(var.tags, { Name = "${var.name}-${var.vault_name_suffix}" })
}

resource "aws_kms_alias" "backup" {
  name          = "alias/${var.name}-${var.vault_name_suffix}"
  target_key_id = aws_kms_key.backup.key_id
}

resource "aws_backup_vault" "this" {
  name        = "${var.name}-${var.vault_name_suffix}"
  kms_key_arn = aws_kms_key.backup.arn

  tags = var.tags
}

# Vault lock: no recovery point can be deleted before min_retention_days,
# nor kept past max_retention_days. Without changeable_for_days the lock is
# in governance mode (removable with the right IAM); with it, it becomes
# immutable (compliance mode) once those days have passed.
resource "aws_backup_vault_lock_configuration" "this" {
  count = var.vault_lock_enabled ? 1 : 0

  backup_vault_name   = aws_backup_vault.this.name
  min_retention_days  = var.vault_lock_min_retention_days
  max_retention_days  = var.vault_lock_max_retention_days
  changeable_for_days = var.vault_lock_changeable_for_days
}

# ------------------------------------------------------------------ plan --

resource "aws_backup_plan" "this" {
  count = var.plan_enabled ? 1 : 0

  name = "${var.name}-daily"

  rule {
    rule_name         = "daily"
    target_vault_name = aws_backup_vault.this.name
    schedule          = var.schedule
    start_window      = 60
    completion_window = 360

    lifecycle {
      delete_after = var.retention_days
    }

    dynamic "copy_action" {
      for_each = var.copy_enabled ? [1] : []

      content {
        destination_vault_arn = var.copy_vault_arn

        lifecycle {
          delete_after = var.copy_retention_days
        }
      }
    }

    recovery_point_tags = var.tags
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = !var.copy_enabled || var.copy_vault_arn != null
      error_message = "copy_enabled needs copy_vault_arn (the backup_copy module's vault)."
    }
  }
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["backup.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "backup" {
  count = var.plan_enabled ? 1 : 0

  name               = "${var.name}-backup"
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = var.tags
}

locals {
  managed_policies = var.plan_enabled ? concat(
    ["AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores"],
    var.s3_backup_enabled ? ["AWSBackupServiceRolePolicyForS3Backup", "AWSBackupServiceRolePolicyForS3Restore"] : [],
  ) : []
  # The S3 policies live under the root path, the others under service-role/.
  managed_policy_paths = {
    AWSBackupServiceRolePolicyForBackup    = "service-role/"
    AWSBackupServiceRolePolicyForRestores  = "service-role/"
    AWSBackupServiceRolePolicyForS3Backup  = ""
    AWSBackupServiceRolePolicyForS3Restore = ""
  }
}

resource "aws_iam_role_policy_attachment" "backup" {
  for_each = toset(local.managed_policies)

  role       = aws_iam_role.backup[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${local.managed_policy_paths[each.key]}${each.key}"
}

locals {
  source_keys = length(var.source_kms_key_arns) == 0 ? ["arn:${local.partition}:kms:*:${local.account}:key/none"] : var.source_kms_key_arns
}

# The RDS instance and the tenant objects are encrypted with customer keys:
# the backup role needs to use them to snapshot and to copy.
data "aws_iam_policy_document" "source_keys" {
  statement {
    sid       = "UseTheSourceKeys"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
    resources = local.source_keys
  }

  statement {
    sid       = "GrantToAwsServicesOnly"
    actions   = ["kms:CreateGrant"]
    resources = local.source_keys

    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }
  }
}

resource "aws_iam_role_policy" "source_keys" {
  count = var.plan_enabled ? 1 : 0

  name   = "source-keys"
  role   = aws_iam_role.backup[0].id
  policy = data.aws_iam_policy_document.source_keys.json
}

resource "aws_backup_selection" "rds" {
  count = var.plan_enabled ? 1 : 0

  name         = "${var.name}-rds"
  plan_id      = aws_backup_plan.this[0].id
  iam_role_arn = aws_iam_role.backup[0].arn
  resources    = var.rds_instance_arns
}

# Tenant buckets are created by the application: they are selected by name
# prefix and the tenant tag it puts on them. S3 backups need versioning,
# which every tenant bucket has.
resource "aws_backup_selection" "s3" {
  count = var.plan_enabled && var.s3_backup_enabled ? 1 : 0

  name         = "${var.name}-tenant-buckets"
  plan_id      = aws_backup_plan.this[0].id
  iam_role_arn = aws_iam_role.backup[0].arn
  resources    = ["arn:${local.partition}:s3:::${var.tenant_bucket_prefix}*"]

  condition {
    string_like {
      key   = "aws:ResourceTag/${var.s3_tenant_tag_key}"
      value = "*"
    }
  }
}
