# ------------------------------------------------------------ AWS Config --
# The recorder keeps the configuration history of every supported resource
# and the managed rules below check the conformance the ISO 27001 map
# (docs/iso27001-controls.md) names; infra/audit_test.go fails when a rule
# named there is missing here. Account-wide: one recorder per account and
# region, so only an environment with account_services_enabled creates it.

locals {
  # Rule name (as AWS names its managed rules) => source identifier and
  # input parameters.
  config_rules = {
    "cloudtrail-enabled"                        = { id = "CLOUD_TRAIL_ENABLED", params = null }
    "multi-region-cloudtrail-enabled"           = { id = "MULTI_REGION_CLOUD_TRAIL_ENABLED", params = null }
    "cloud-trail-log-file-validation-enabled"   = { id = "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED", params = null }
    "cloud-trail-encryption-enabled"            = { id = "CLOUD_TRAIL_ENCRYPTION_ENABLED", params = null }
    "cloudwatch-log-group-encrypted"            = { id = "CLOUDWATCH_LOG_GROUP_ENCRYPTED", params = null }
    "cw-loggroup-retention-period-check"        = { id = "CW_LOGGROUP_RETENTION_PERIOD_CHECK", params = { MinRetentionTime = tostring(var.log_retention_days) } }
    "s3-bucket-public-read-prohibited"          = { id = "S3_BUCKET_PUBLIC_READ_PROHIBITED", params = null }
    "s3-bucket-public-write-prohibited"         = { id = "S3_BUCKET_PUBLIC_WRITE_PROHIBITED", params = null }
    "s3-bucket-ssl-requests-only"               = { id = "S3_BUCKET_SSL_REQUESTS_ONLY", params = null }
    "s3-bucket-server-side-encryption-enabled"  = { id = "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED", params = null }
    "s3-bucket-versioning-enabled"              = { id = "S3_BUCKET_VERSIONING_ENABLED", params = null }
    "rds-storage-encrypted"                     = { id = "RDS_STORAGE_ENCRYPTED", params = null }
    "rds-instance-public-access-check"          = { id = "RDS_INSTANCE_PUBLIC_ACCESS_CHECK", params = null }
    "rds-multi-az-support"                      = { id = "RDS_MULTI_AZ_SUPPORT", params = null }
    "db-instance-backup-enabled"                = { id = "DB_INSTANCE_BACKUP_ENABLED", params = null }
    "rds-in-backup-plan"                        = { id = "RDS_IN_BACKUP_PLAN", params = null }
    "backup-recovery-point-encrypted"           = { id = "BACKUP_RECOVERY_POINT_ENCRYPTED", params = null }
    "encrypted-volumes"                         = { id = "ENCRYPTED_VOLUMES", params = null }
    "iam-root-access-key-check"                 = { id = "IAM_ROOT_ACCESS_KEY_CHECK", params = null }
    "root-account-mfa-enabled"                  = { id = "ROOT_ACCOUNT_MFA_ENABLED", params = null }
    "restricted-ssh"                            = { id = "INCOMING_SSH_DISABLED", params = null }
    "vpc-flow-logs-enabled"                     = { id = "VPC_FLOW_LOGS_ENABLED", params = null }
    "alb-waf-enabled"                           = { id = "ALB_WAF_ENABLED", params = null }
    "alb-http-to-https-redirection-check"       = { id = "ALB_HTTP_TO_HTTPS_REDIRECTION_CHECK", params = null }
    "elb-logging-enabled"                       = { id = "ELB_LOGGING_ENABLED", params = null }
    "guardduty-enabled-centralized"             = { id = "GUARDDUTY_ENABLED_CENTRALIZED", params = null }
    "securityhub-enabled"                       = { id = "SECURITYHUB_ENABLED", params = null }
    "elasticache-repl-grp-encrypted-at-rest"    = { id = "ELASTICACHE_REPL_GRP_ENCRYPTED_AT_REST", params = null }
    "elasticache-repl-grp-encrypted-in-transit" = { id = "ELASTICACHE_REPL_GRP_ENCRYPTED_IN_TRANSIT", params = null }
    "cmk-backing-key-rotation-enabled"          = { id = "CMK_BACKING_KEY_ROTATION_ENABLED", params = null }
    "ecr-private-image-scanning-enabled"        = { id = "ECR_PRIVATE_IMAGE_SCANNING_ENABLED", params = null }
    "ecr-private-tag-immutability-enabled"      = { id = "ECR_PRIVATE_TAG_IMMUTABILITY_ENABLED", params = null }
  }
}

data "aws_iam_policy_document" "config_assume" {
  statement {
    actions = ["sts:AssumeRole"]

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

data "aws_iam_policy_document" "config_delivery" {
  statement {
    sid       = "DeliverToTheConfigBucket"
    actions   = ["s3:PutObject"]
    resources = ["${local.bucket_arns.config}/AWSLogs/${local.account}/Config/*"]
  }

  statement {
    sid       = "CheckTheConfigBucket"
    actions   = ["s3:GetBucketAcl"]
    resources = [local.bucket_arns.config]
  }

  statement {
    sid       = "EncryptDeliveries"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.audit.arn]
  }
}

resource "aws_iam_role" "config" {
  count = var.account_services_enabled ? 1 : 0

  name               = "${var.name}-config-recorder"
  assume_role_policy = data.aws_iam_policy_document.config_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "config" {
  count = var.account_services_enabled ? 1 : 0

  role       = aws_iam_role.config[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWS_ConfigRole"
}

resource "aws_iam_role_policy" "config" {
  count = var.account_services_enabled ? 1 : 0

  name   = "delivery"
  role   = aws_iam_role.config[0].id
  policy = data.aws_iam_policy_document.config_delivery.json
}

resource "aws_config_configuration_recorder" "this" {
  count = var.account_services_enabled ? 1 : 0

  name     = var.name
  role_arn = aws_iam_role.config[0].arn

  recording_group {
    all_supported = true
    # IAM is global: record it in one region only (the home region).
    include_global_resource_types = var.config_include_global_resources
  }
}

resource "aws_config_delivery_channel" "this" {
  count = var.account_services_enabled ? 1 : 0

  name           = var.name
  s3_bucket_name = aws_s3_bucket.this["config"].id
  s3_kms_key_arn = aws_kms_key.audit.arn

  snapshot_delivery_properties {
    delivery_frequency = "TwentyFour_Hours"
  }

  depends_on = [aws_config_configuration_recorder.this, aws_s3_bucket_policy.this]
}

resource "aws_config_configuration_recorder_status" "this" {
  count = var.account_services_enabled ? 1 : 0

  name       = aws_config_configuration_recorder.this[0].name
  is_enabled = true

  depends_on = [aws_config_delivery_channel.this]
}

resource "aws_config_config_rule" "this" {
  for_each = { for k, v in local.config_rules : k => v if var.account_services_enabled }

  name = "${var.name}-${each.key}"

  source {
    owner             = "AWS"
    source_identifier = each.value.id
  }

  input_parameters = each.value.params == null ? null : jsonencode(each.value.params)

  tags = var.tags

  depends_on = [aws_config_configuration_recorder.this]
}
