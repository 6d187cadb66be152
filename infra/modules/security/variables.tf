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

variable "services" {
  description = "ECS services that get a CloudWatch log group /ecs/<name>/<service>."
  type        = list(string)
  default     = ["tenant", "hq", "api", "worker", "scheduler", "realtime"]
}

variable "log_retention_days" {
  description = "Retention of every log group in days (spec 5.3: 90)."
  type        = number
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (for example 90)."
  }
}

variable "kms_deletion_window_in_days" {
  description = "Waiting period before a deleted KMS key is destroyed."
  type        = number
  default     = 30
}

variable "secret_recovery_window_in_days" {
  description = "Days a deleted secret can still be restored."
  type        = number
  default     = 30
}

variable "ecr_repositories" {
  description = "ECR repositories: the palisade image (every ECS role) and the scanner Lambda image."
  type        = list(string)
  default     = ["palisade", "scanner"]
}

variable "ecr_keep_images" {
  description = "How many tagged images each ECR repository keeps."
  type        = number
  default     = 50
}

variable "db_username" {
  description = "Master user name of the RDS database."
  type        = string
  default     = "palisade"
}

variable "db_roles" {
  description = "Roles that get their own database user and secret <name>/db-<role> (store.RoleUserRoles: api, worker, hq, scanner)."
  type        = list(string)
  default     = ["api", "worker", "hq", "scanner"]

  validation {
    condition     = alltrue([for r in var.db_roles : contains(["api", "worker", "hq", "scanner"], r)])
    error_message = "Database users exist for api, worker, hq and scanner only (internal/store/roleusers.go)."
  }
}

variable "lambda_image_repositories" {
  description = "Repositories of ecr_repositories whose images Lambda functions of this environment run (the scanner); their policy lets the Lambda service pull."
  type        = list(string)
  default     = ["scanner"]
}

variable "redis_roles" {
  description = "Roles that get their own Redis (ElastiCache RBAC) user and secret <name>/redis-<role>: the roles that use Redis (web and hq do not)."
  type        = list(string)
  default     = ["api", "worker", "scheduler", "realtime"]
}
