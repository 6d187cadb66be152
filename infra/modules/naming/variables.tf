variable "project" {
  description = "Project name, the first part of every resource name."
  type        = string
  default     = "palisade"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.project))
    error_message = "project must be 3-20 characters of lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen (it is part of S3 bucket names)."
  }

  # ALB names are at most 32 characters, and the longest is
  # "<project>-production-internal" (project + 20).
  validation {
    condition     = can(regex("^.{0,12}$", var.project))
    error_message = "project must be at most 12 characters: the load balancer \"<project>-production-internal\" may have 32 at most."
  }
}

variable "environment" {
  description = "Deployment environment: staging or production."
  type        = string
  default     = "staging"

  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "environment must be \"staging\" or \"production\"."
  }
}

variable "domain" {
  description = "Apex domain of the environment. Tenants are served on *.domain, HQ on admin.domain and realtime on wss.domain."
  type        = string
  default     = "palisade.example.com"

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain))
    error_message = "domain must be a lowercase DNS name such as example.com (no scheme, no trailing dot, no wildcard)."
  }
}

variable "partition" {
  description = "AWS partition used to build ARNs (aws, aws-cn, aws-us-gov)."
  type        = string
  default     = "aws"

  validation {
    condition     = contains(["aws", "aws-cn", "aws-us-gov"], var.partition)
    error_message = "partition must be aws, aws-cn or aws-us-gov."
  }
}

variable "extra_tags" {
  description = "Tags added to the standard Project/Environment/ManagedBy tags."
  type        = map(string)
  default     = {}
}
