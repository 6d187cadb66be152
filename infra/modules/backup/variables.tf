variable "name" {
  description = "Name prefix for every resource, \"<project>-<env>\"."
  type        = string
  default     = "palisade-staging"
}

variable "tags" {
  description = "Tags for every resource and recovery point."
  type        = map(string)
  default     = {}
}

variable "vault_name_suffix" {
  description = "Vault name after the prefix: \"backup\" in the home region, \"backup-copy\" in the backup region."
  type        = string
  default     = "backup"
}

variable "kms_deletion_window_in_days" {
  description = "Waiting period before the vault's KMS key is deleted."
  type        = number
  default     = 30
}

variable "vault_lock_enabled" {
  description = "Lock the vault: recovery points cannot be deleted before vault_lock_min_retention_days."
  type        = bool
  default     = false
}

variable "vault_lock_min_retention_days" {
  description = "Vault lock: shortest retention a recovery point may have."
  type        = number
  default     = 7
}

variable "vault_lock_max_retention_days" {
  description = "Vault lock: longest retention a recovery point may have."
  type        = number
  default     = 400
}

variable "vault_lock_changeable_for_days" {
  description = "Vault lock grace period (at least 3) after which the lock is immutable (compliance mode); null keeps it in governance mode."
  type        = number
  default     = null
}

variable "plan_enabled" {
  description = "Create the backup plan, its role and selections here (false for the copy-destination vault)."
  type        = bool
  default     = true
}

variable "schedule" {
  description = "When the daily backup starts (cron, UTC)."
  type        = string
  default     = "cron(0 3 * * ? *)"
}

variable "retention_days" {
  description = "Days a recovery point stays in the home-region vault."
  type        = number
  default     = 35

  validation {
    condition     = var.retention_days >= 7
    error_message = "Spec 3.4 keeps 7 days of database backups at least."
  }
}

variable "copy_enabled" {
  description = "Copy every recovery point to copy_vault_arn (the cross-region copy)."
  type        = bool
  default     = true
}

variable "copy_vault_arn" {
  description = "Vault in the backup region that receives the copies (the backup_copy module's vault_arn)."
  type        = string
  default     = null
}

variable "copy_retention_days" {
  description = "Days a copied recovery point stays in the backup region."
  type        = number
  default     = 35
}

variable "rds_instance_arns" {
  description = "RDS instances the plan backs up."
  type        = list(string)
  default     = []
}

variable "source_kms_key_arns" {
  description = "Customer keys of the backed-up resources (RDS, tenant buckets) the backup role uses to snapshot and copy."
  type        = list(string)
  default     = []
}

variable "s3_backup_enabled" {
  description = "Also back up the tenant buckets (selected by name prefix and the tenant tag)."
  type        = bool
  default     = false
}

variable "tenant_bucket_prefix" {
  description = "Name prefix of the tenant buckets."
  type        = string
  default     = "palisade-staging-tenant-"
}

variable "s3_tenant_tag_key" {
  description = "Tag key every tenant bucket carries; a bucket with it (any value) is backed up when s3_backup_enabled."
  type        = string
  default     = "palisade:tenant"
}
