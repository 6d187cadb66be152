variable "name" {
  description = "Name prefix for every resource, \"<project>-<env>\"."
  type        = string
  default     = "palisade-staging"
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "tenant_bucket_prefix" {
  description = "Name prefix of the per-tenant buckets the application creates; CloudTrail records their object-level events."
  type        = string
  default     = "palisade-staging-tenant-"
}

variable "logs_kms_key_arn" {
  description = "KMS key of the CloudWatch log groups (the security module's logs key)."
  type        = string
  default     = null
}

variable "tenant_kms_key_arn" {
  description = "KMS key of the tenant buckets, which the Malware Protection role decrypts objects with."
  type        = string
  default     = "*"
}

variable "kms_deletion_window_in_days" {
  description = "Waiting period before the audit KMS key is deleted."
  type        = number
  default     = 30
}

variable "log_retention_days" {
  description = "Days the CloudTrail log group keeps events (hot, searchable in CloudWatch Logs Insights); spec 5.3: 90."
  type        = number
  default     = 90

  validation {
    condition     = var.log_retention_days >= 90
    error_message = "Spec 5.3 keeps logs 90 days at least."
  }
}

variable "cloudwatch_logs_enabled" {
  description = "Also deliver the trail to a CloudWatch log group (90 days hot); the S3 copy is always written."
  type        = bool
  default     = true
}

variable "archive_transition_days" {
  description = "Days after which trail, Config and access-log objects move to S3 Glacier Flexible Retrieval."
  type        = number
  default     = 90
}

variable "archive_retention_days" {
  description = "Days trail and Config objects are kept in S3 before they expire (must cover object_lock_retention_days)."
  type        = number
  default     = 365

  validation {
    condition     = var.archive_retention_days >= 90
    error_message = "Keep the archive at least as long as the 90 hot days."
  }
}

variable "access_log_retention_days" {
  description = "Days ALB and S3 server access logs are kept before they expire."
  type        = number
  default     = 365
}

variable "object_lock_mode" {
  description = "Object Lock mode of the trail bucket: COMPLIANCE (nobody can shorten or remove it) or GOVERNANCE (s3:BypassGovernanceRetention can)."
  type        = string
  default     = "GOVERNANCE"

  validation {
    condition     = contains(["COMPLIANCE", "GOVERNANCE"], var.object_lock_mode)
    error_message = "object_lock_mode is COMPLIANCE or GOVERNANCE."
  }
}

variable "object_lock_retention_days" {
  description = "Days every CloudTrail log file is write-once (Object Lock default retention)."
  type        = number
  default     = 90

  validation {
    condition     = var.object_lock_retention_days >= 1
    error_message = "object_lock_retention_days must be at least 1."
  }
}

variable "organization_trail" {
  description = "Make the trail an AWS Organizations trail (apply from the management account or a delegated administrator)."
  type        = bool
  default     = false
}

variable "account_services_enabled" {
  description = "Create the account-wide services (Config recorder and rules, GuardDuty, Security Hub, Inspector ECR scanning). Exactly one environment per account and region may: set false in an environment that shares its account."
  type        = bool
  default     = true
}

variable "config_include_global_resources" {
  description = "Record global resources (IAM) in this region; true in one region per account."
  type        = bool
  default     = true
}

variable "guardduty_finding_publishing_frequency" {
  description = "How often GuardDuty publishes updated findings to EventBridge."
  type        = string
  default     = "FIFTEEN_MINUTES"

  validation {
    condition     = contains(["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"], var.guardduty_finding_publishing_frequency)
    error_message = "FIFTEEN_MINUTES, ONE_HOUR or SIX_HOURS."
  }
}

variable "malware_protection_enabled" {
  description = "GuardDuty Malware Protection for S3 on the buckets in malware_protection_bucket_names: a second scanner beside ClamAV (findings only, no tags)."
  type        = bool
  default     = false
}

variable "malware_protection_bucket_names" {
  description = "Tenant buckets GuardDuty Malware Protection scans (names start with tenant_bucket_prefix)."
  type        = list(string)
  default     = []
}

variable "securityhub_standards" {
  description = "Security Hub standards to subscribe to, key => path after \"standards/\" in the standard's ARN."
  type        = map(string)
  default = {
    fsbp = "aws-foundational-security-best-practices/v/1.0.0"
    cis  = "cis-aws-foundations-benchmark/v/3.0.0"
  }
}

variable "ecr_scan_repository_filter" {
  description = "Repositories (wildcard) Inspector scans continuously; the registry scanning configuration is account-wide."
  type        = string
  default     = "*"
}

variable "findings_alerts_enabled" {
  description = "Send high and critical GuardDuty and Security Hub findings to alert_topic_arn."
  type        = bool
  default     = false
}

variable "alert_topic_arn" {
  description = "SNS topic for security findings (used when findings_alerts_enabled)."
  type        = string
  default     = null
}
