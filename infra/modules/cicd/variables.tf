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

variable "repository" {
  description = "GitHub repository the pipelines build, \"<owner>/<name>\"."
  type        = string
  default     = "palisade-hq/palisade"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.repository))
    error_message = "repository must look like owner/name."
  }
}

variable "default_branch" {
  description = "Branch named in the source action; the release-tag trigger decides which commit is built."
  type        = string
  default     = "main"
}

variable "connection_arn" {
  description = "Existing CodeStar connection to GitHub; null creates one, which an administrator must then approve in the console (it starts PENDING)."
  type        = string
  default     = null
}

variable "release_tag_patterns" {
  description = "Git tag patterns that start each pipeline (a GitHub release creates its tag). All three default to release tags v*, so one release deploys every component, each through its own approval."
  type        = map(list(string))
  default = {
    api    = ["v*"]
    tenant = ["v*"]
    hq     = ["v*"]
  }

  validation {
    condition     = length(var.release_tag_patterns) == 3 && alltrue([for k, p in var.release_tag_patterns : contains(["api", "tenant", "hq"], k) && length(p) > 0])
    error_message = "release_tag_patterns has one non-empty list for each of api, tenant and hq."
  }
}

variable "manual_approval" {
  description = "Add a Manual approval stage before migrate and deploy (spec 4.2: production)."
  type        = bool
  default     = true
}

variable "approval_emails" {
  description = "Addresses subscribed to the approval topic (each must confirm the subscription)."
  type        = list(string)
  default     = []
}

variable "artifacts_bucket_name" {
  description = "Pipeline-artifacts bucket (storage module)."
  type        = string
  default     = "palisade-staging-pipeline-artifacts"
}

variable "artifacts_bucket_arn" {
  description = "ARN of the pipeline-artifacts bucket."
  type        = string
  default     = "arn:aws:s3:::palisade-staging-pipeline-artifacts"
}

variable "artifacts_kms_key_arn" {
  description = "KMS key that encrypts the artifacts (spec 5.2: CI/CD artifacts under KMS)."
  type        = string
  default     = "arn:aws:kms:eu-west-2:123456789012:key/00000000-0000-0000-0000-000000000000"
}

variable "notifications_kms_key_arn" {
  description = "KMS key of the approval SNS topic."
  type        = string
  default     = "arn:aws:kms:eu-west-2:123456789012:key/00000000-0000-0000-0000-000000000000"
}

variable "logs_kms_key_arn" {
  description = "KMS key of the CodeBuild log groups."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the CodeBuild log groups in days (spec 5.3: 90)."
  type        = number
  default     = 90
}

variable "image_repository_url" {
  description = "ECR repository the build pushes the palisade image to."
  type        = string
  default     = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/palisade-staging/palisade"
}

variable "image_repository_arn" {
  description = "ARN of that ECR repository; the build may push to it alone."
  type        = string
  default     = "arn:aws:ecr:eu-west-2:123456789012:repository/palisade-staging/palisade"
}

variable "cluster_name" {
  description = "ECS cluster of the services."
  type        = string
  default     = "palisade-staging"
}

variable "service_names" {
  description = "ECS service name of each service, by container name (ecs module output)."
  type        = map(string)
  default = {
    tenant    = "palisade-staging-tenant"
    hq        = "palisade-staging-hq"
    api       = "palisade-staging-api"
    worker    = "palisade-staging-worker"
    scheduler = "palisade-staging-scheduler"
    realtime  = "palisade-staging-realtime"
  }
}

variable "task_role_arns" {
  description = "Task role of each service and of migrate; the deploy and migrate steps pass them to ECS."
  type        = map(string)
  default     = {}
}

variable "execution_role_arns" {
  description = "Execution role of each service and of migrate; the deploy and migrate steps pass them to ECS."
  type        = map(string)
  default     = {}
}

variable "migrate_task_family" {
  description = "Task definition family of the migrate task (the ecs module's: the only one with the master DSN); the migrate step registers its latest revision again with the release image and runs it."
  type        = string
  default     = "palisade-staging-migrate"
}

variable "migrate_subnet_ids" {
  description = "Subnets of the one-off migrate task (the private subnets)."
  type        = list(string)
  default     = []
}

variable "migrate_security_group_ids" {
  description = "Security groups of the migrate task (the api's, which may reach the database)."
  type        = list(string)
  default     = []
}

variable "codebuild_image" {
  description = "CodeBuild image (ARM64, like the services)."
  type        = string
  default     = "aws/codebuild/amazonlinux-aarch64-standard:3.0"
}

variable "codebuild_compute_type" {
  description = "CodeBuild compute type of the build projects."
  type        = string
  default     = "BUILD_GENERAL1_SMALL"
}

variable "build_timeout_minutes" {
  description = "Timeout of a build (tests included)."
  type        = number
  default     = 60
}

variable "deploy_timeout_minutes" {
  description = "How long the ECS deploy action waits for the rolling deployment to finish; the circuit breaker rolls back a failing one before then."
  type        = number
  default     = 30
}

variable "scanner_repository_url" {
  description = "ECR repository of the scanner Lambda image (the API pipeline builds and pushes it)."
  type        = string
  default     = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/palisade-staging/scanner"
}

variable "scanner_repository_arn" {
  description = "ARN of the scanner repository; the scanner build may push to it alone."
  type        = string
  default     = "arn:aws:ecr:eu-west-2:123456789012:repository/palisade-staging/scanner"
}

variable "scanner_function_names" {
  description = "Scanner Lambda functions the API pipeline points at each new scanner image (scan and update)."
  type        = list(string)
  default     = []
}

variable "scanner_function_arns" {
  description = "ARNs of those functions, for the release step's IAM policy."
  type        = list(string)
  default     = []
}
