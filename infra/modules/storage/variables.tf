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

variable "kms_key_arn" {
  description = "ARN of the KMS key for S3 (pipeline artifacts and tenant buckets)."
  type        = string
  default     = null
}

variable "tenant_bucket_prefix" {
  description = "Name prefix of the per-tenant buckets the application creates, \"<project>-<env>-tenant-\"."
  type        = string
  default     = "palisade-staging-tenant-"
}

variable "artifacts_noncurrent_days" {
  description = "Days an overwritten pipeline artifact is kept before it expires."
  type        = number
  default     = 90
}

variable "force_destroy" {
  description = "Allow Terraform to delete the artifacts bucket with objects in it (never in production)."
  type        = bool
  default     = false
}

variable "tenant_kms_keys" {
  description = "Grant the app what per-tenant KMS keys need (create, use through S3, schedule deletion at offboarding); the ecs module's tenant_kms_keys turns them on in the app."
  type        = bool
  default     = true
}
