variable "name" {
  description = "Name prefix of every resource (module.naming.prefix)."
  type        = string
  default     = "palisade"
}

variable "tags" {
  description = "Tags added to every resource that takes them."
  type        = map(string)
  default     = {}
}

variable "environment" {
  description = "PALISADE_ENV of the tasks: the Environment dimension of the app's EMF metrics."
  type        = string
  default     = "production"
}

variable "alert_emails" {
  description = "Addresses subscribed to the alert topic (each confirms the subscription once from the mail AWS sends)."
  type        = list(string)
  default     = []
}

variable "app_namespace" {
  description = "CloudWatch namespace of the app's EMF metrics (internal/obs/emf.Namespace)."
  type        = string
  default     = "Palisade"
}

variable "worker_service" {
  description = "Service dimension (the role) of the worker's EMF metrics: queues, files and audit verification."
  type        = string
  default     = "worker"
}

variable "target_groups" {
  description = "ALB dimensions of each load-balanced service: load_balancer and target_group are ARN suffixes (module.alb.target_group_dimensions)."
  type = map(object({
    load_balancer = string
    target_group  = string
  }))
  default = {}
}

variable "ecs_cluster_name" {
  description = "ECS cluster of the services (Container Insights must be enabled for the running-task alarms)."
  type        = string
  default     = ""
}

variable "ecs_service_names" {
  description = "ECS service name of each service key (module.ecs.service_names)."
  type        = map(string)
  default     = {}
}

variable "db_instances" {
  description = "RDS instance identifiers by key (the keys, known at plan, decide which alarms exist)."
  type        = map(string)
  default     = {}
}

variable "db_replica_identifiers" {
  description = "RDS read replicas, by key, for ReplicaLag alarms (a Multi-AZ standby is not a replica and has no ReplicaLag)."
  type        = map(string)
  default     = {}
}

variable "redis_cluster_ids" {
  description = "CacheClusterId of every Redis node (module.data.redis_member_cluster_ids)."
  type        = list(string)
  default     = []
}

variable "lambda_function_names" {
  description = "Lambda functions by key (module.scanner.function_names) for Errors and Throttles alarms."
  type        = map(string)
  default     = {}
}

variable "dead_letter_queues" {
  description = "SQS dead-letter queue names by key (module.scanner.dead_letter_queue_name); a message there is an alarm."
  type        = map(string)
  default     = {}
}

variable "certificates" {
  description = "ACM certificate ARNs by key (module.alb.certificate_arn), for the DaysToExpiry alarm."
  type        = map(string)
  default     = {}
}

variable "thresholds" {
  description = "Alarm thresholds (docs/operations.md, Alarms, says what each means)."
  type = object({
    alb_5xx_percent            = optional(number, 5)
    alb_p99_seconds            = optional(number, 2)
    ecs_cpu_percent            = optional(number, 85)
    ecs_memory_percent         = optional(number, 85)
    rds_cpu_percent            = optional(number, 80)
    rds_free_storage_bytes     = optional(number, 5368709120)
    rds_connections            = optional(number, 200)
    rds_replica_lag_seconds    = optional(number, 60)
    redis_memory_percent       = optional(number, 80)
    redis_engine_cpu_percent   = optional(number, 80)
    queue_depth                = optional(number, 1000)
    dead_jobs                  = optional(number, 0)
    files_pending_overdue      = optional(number, 0)
    scan_errors                = optional(number, 0)
    audit_verify_age_seconds   = optional(number, 172800)
    certificate_days_to_expiry = optional(number, 30)
  })
  default = {}
}
