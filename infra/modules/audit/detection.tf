# ------------------------------------------------------------- GuardDuty --
# Threat detection from CloudTrail, VPC flow logs and DNS logs, plus S3
# protection (the S3 data-event analysis of every bucket). Account-wide, as
# Config is.

resource "aws_guardduty_detector" "this" {
  count = var.account_services_enabled ? 1 : 0

  enable                       = true
  finding_publishing_frequency = var.guardduty_finding_publishing_frequency

  tags = var.tags
}

resource "aws_guardduty_detector_feature" "s3" {
  count = var.account_services_enabled ? 1 : 0

  detector_id = aws_guardduty_detector.this[0].id
  name        = "S3_DATA_EVENTS"
  status      = "ENABLED"
}

# Malware Protection for S3: a second scanner beside the ClamAV Lambda
# (modules/scanner), off by default. GuardDuty scans each new object of the
# listed buckets and reports a finding; it does not tag objects (tagging is
# DISABLED), so the download gate stays the ClamAV verdict in `ScanStatus`
# and the bucket policy's tag-write restriction needs no exemption for it.
# Tenant buckets are created by the application, so the plan protects the
# buckets named in malware_protection_bucket_names (one plan per bucket, an
# AWS limit).

data "aws_iam_policy_document" "malware_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["malware-protection-plan.guardduty.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

# The permissions GuardDuty documents for a Malware Protection plan role,
# narrowed to the tenant buckets and its own EventBridge rule.
data "aws_iam_policy_document" "malware" {
  statement {
    sid = "ManageTheGuardDutyEventBridgeRule"
    actions = [
      "events:PutRule", "events:DeleteRule", "events:PutTargets", "events:RemoveTargets",
      "events:DescribeRule", "events:ListTargetsByRule",
    ]
    resources = ["arn:${local.partition}:events:${local.region}:${local.account}:rule/DO-NOT-DELETE-AmazonGuardDutyMalwareProtectionS3*"]

    condition {
      test     = "StringLike"
      variable = "events:ManagedBy"
      values   = ["malware-protection-plan.guardduty.amazonaws.com"]
    }
  }

  statement {
    sid       = "ReadTenantBucketNotifications"
    actions   = ["s3:GetBucketNotification", "s3:PutBucketNotification", "s3:ListBucket"]
    resources = ["${local.tenant_bucket_arn_prefix}*"]
  }

  statement {
    sid       = "ReadTenantObjects"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${local.tenant_bucket_arn_prefix}*/*"]
  }

  # GuardDuty proves it can reach the bucket with this one object.
  statement {
    sid       = "WriteTheValidationObject"
    actions   = ["s3:PutObject"]
    resources = ["${local.tenant_bucket_arn_prefix}*/malware-protection-resource-validation-object"]
  }

  statement {
    sid       = "DecryptTenantObjects"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.tenant_kms_key_arn]

    condition {
      test     = "StringLike"
      variable = "kms:ViaService"
      values   = ["s3.*.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "malware" {
  count = var.malware_protection_enabled ? 1 : 0

  name               = "${var.name}-guardduty-malware"
  assume_role_policy = data.aws_iam_policy_document.malware_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "malware" {
  count = var.malware_protection_enabled ? 1 : 0

  name   = "malware-protection-plan"
  role   = aws_iam_role.malware[0].id
  policy = data.aws_iam_policy_document.malware.json
}

resource "aws_guardduty_malware_protection_plan" "tenant" {
  for_each = var.malware_protection_enabled ? toset(var.malware_protection_bucket_names) : toset([])

  role = aws_iam_role.malware[0].arn

  protected_resource {
    s3_bucket {
      bucket_name = each.value
    }
  }

  actions {
    tagging {
      status = "DISABLED"
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = startswith(each.value, var.tenant_bucket_prefix)
      error_message = "Malware Protection is for the tenant buckets: every name must start with tenant_bucket_prefix."
    }
  }

  depends_on = [aws_iam_role_policy.malware]
}

# ---------------------------------------------------------- Security Hub --
# Aggregates GuardDuty, Config, Inspector and IAM Access Analyzer findings
# and scores the account against the AWS Foundational Security Best
# Practices and the CIS AWS Foundations Benchmark.

resource "aws_securityhub_account" "this" {
  count = var.account_services_enabled ? 1 : 0

  enable_default_standards  = false
  auto_enable_controls      = true
  control_finding_generator = "SECURITY_CONTROL"
}

resource "aws_securityhub_standards_subscription" "this" {
  for_each = { for k, v in var.securityhub_standards : k => v if var.account_services_enabled }

  standards_arn = "arn:${local.partition}:securityhub:${local.region}::standards/${each.value}"

  depends_on = [aws_securityhub_account.this]
}

# ---------------------------------------------- Inspector: ECR scanning --
# Basic scanning finds nothing in a scratch Go image (no OS packages);
# Inspector's enhanced scanning reads the Go module graph of the binary and
# rescans continuously as new CVEs are published.

resource "aws_inspector2_enabler" "ecr" {
  count = var.account_services_enabled ? 1 : 0

  account_ids    = [local.account]
  resource_types = ["ECR"]
}

resource "aws_ecr_registry_scanning_configuration" "this" {
  count = var.account_services_enabled ? 1 : 0

  scan_type = "ENHANCED"

  rule {
    scan_frequency = "CONTINUOUS_SCAN"

    repository_filter {
      filter      = var.ecr_scan_repository_filter
      filter_type = "WILDCARD"
    }
  }

  depends_on = [aws_inspector2_enabler.ecr]
}

# ----------------------------------------------------- findings → alerts --
# High and critical GuardDuty findings and failed Security Hub controls of
# severity HIGH or above go to the alert topic (the monitoring module's),
# when one is given.

resource "aws_cloudwatch_event_rule" "findings" {
  count = var.account_services_enabled && var.findings_alerts_enabled ? 1 : 0

  name        = "${var.name}-security-findings"
  description = "GuardDuty findings of severity 7 or more and HIGH/CRITICAL Security Hub findings"
  event_pattern = jsonencode({
    "$or" = [
      { source = ["aws.guardduty"], "detail-type" = ["GuardDuty Finding"], detail = { severity = [{ numeric = [">=", 7] }] } },
      {
        source        = ["aws.securityhub"]
        "detail-type" = ["Security Hub Findings - Imported"]
        detail        = { findings = { Severity = { Label = ["HIGH", "CRITICAL"] }, Workflow = { Status = ["NEW"] } } }
      },
    ]
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "findings" {
  count = var.account_services_enabled && var.findings_alerts_enabled ? 1 : 0

  rule = aws_cloudwatch_event_rule.findings[0].name
  arn  = var.alert_topic_arn
}
