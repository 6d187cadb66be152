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

variable "environment" {
  description = "Environment name passed to the app as PALISADE_ENV."
  type        = string
  default     = "staging"
}

variable "services" {
  description = <<-EOT
    ECS services (spec 3.2). role is the argument of `palisade <role>`; cpu and memory are Fargate units;
    min_count/max_count bound the desired count (equal means fixed); cpu_scaling adds CPU target tracking;
    port is the container port behind a load balancer (null: none); capacity is FARGATE or FARGATE_SPOT;
    secrets lists the Secrets Manager values the task receives (db, redis, realtime_app_id, realtime_app_key,
    realtime_app_secret); tenant_s3 lists the tenant-bucket flows of the task role (files, scan, buckets,
    offboard: the storage module's tenant_policy_arns).
  EOT
  type = map(object({
    role        = string
    cpu         = number
    memory      = number
    min_count   = number
    max_count   = number
    cpu_scaling = bool
    port        = optional(number)
    capacity    = string
    secrets     = list(string)
    tenant_s3   = list(string)
  }))
  default = {
    tenant = {
      role        = "web"
      cpu         = 512
      memory      = 1024
      min_count   = 2
      max_count   = 10
      cpu_scaling = true
      port        = 3000
      capacity    = "FARGATE"
      secrets     = ["realtime_app_id", "realtime_app_key"]
      tenant_s3   = []
    }
    hq = {
      role        = "hq"
      cpu         = 512
      memory      = 1024
      min_count   = 1
      max_count   = 1
      cpu_scaling = false
      port        = 3000
      capacity    = "FARGATE"
      secrets     = ["db", "realtime_app_id", "realtime_app_key"]
      tenant_s3   = []
    }
    api = {
      role        = "api"
      cpu         = 512
      memory      = 1024
      min_count   = 2
      max_count   = 10
      cpu_scaling = true
      port        = 8000
      capacity    = "FARGATE"
      secrets     = ["db", "redis", "realtime_app_id", "realtime_app_key", "realtime_app_secret"]
      tenant_s3   = ["files", "buckets"]
    }
    worker = {
      role        = "worker"
      cpu         = 256
      memory      = 512
      min_count   = 1
      max_count   = 5
      cpu_scaling = true
      port        = null
      capacity    = "FARGATE_SPOT"
      secrets     = ["db", "redis", "realtime_app_id", "realtime_app_key", "realtime_app_secret"]
      tenant_s3   = ["scan", "buckets", "offboard"]
    }
    scheduler = {
      role        = "scheduler"
      cpu         = 256
      memory      = 512
      min_count   = 1
      max_count   = 1
      cpu_scaling = false
      port        = null
      capacity    = "FARGATE"
      secrets     = ["redis"]
      tenant_s3   = []
    }
    realtime = {
      role        = "realtime"
      cpu         = 256
      memory      = 512
      min_count   = 1
      max_count   = 1
      cpu_scaling = false
      port        = 8080
      capacity    = "FARGATE"
      secrets     = ["redis", "realtime_app_id", "realtime_app_key", "realtime_app_secret"]
      tenant_s3   = []
    }
  }


  validation {
    condition     = alltrue([for s in values(var.services) : contains(["web", "hq", "api", "worker", "scheduler", "realtime"], s.role)])
    error_message = "Every service role must be one of web, hq, api, worker, scheduler, realtime."
  }

  validation {
    condition     = alltrue([for s in values(var.services) : s.min_count >= 1 && s.min_count <= s.max_count])
    error_message = "Every service needs 1 <= min_count <= max_count (always on, spec 1)."
  }

  validation {
    condition     = alltrue([for s in values(var.services) : contains(["FARGATE", "FARGATE_SPOT"], s.capacity)])
    error_message = "capacity must be FARGATE or FARGATE_SPOT."
  }

  validation {
    condition     = alltrue(flatten([for s in values(var.services) : [for f in s.tenant_s3 : contains(["files", "scan", "buckets", "offboard"], f)]]))
    error_message = "tenant_s3 may only name the flows files, scan, buckets and offboard."
  }

  validation {
    condition     = alltrue(flatten([for s in values(var.services) : [for k in s.secrets : contains(["db", "redis", "realtime_app_id", "realtime_app_key", "realtime_app_secret"], k)]]))
    error_message = "secrets may only name db, redis, realtime_app_id, realtime_app_key and realtime_app_secret."
  }
}

variable "metrics_port" {
  description = "Port of the Prometheus metrics listener in every container (PALISADE_METRICS_ADDR)."
  type        = number
  default     = 9090
}

variable "cpu_target_percent" {
  description = "Average CPU utilisation that CPU-scaled services track."
  type        = number
  default     = 60
}

variable "stop_timeout_seconds" {
  description = "Seconds between SIGTERM and SIGKILL, for draining in-flight work (Fargate allows up to 120)."
  type        = number
  default     = 30
}

variable "image_repository_url" {
  description = "ECR repository of the palisade image (one image, every role)."
  type        = string
  default     = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/palisade-staging/palisade"
}

variable "image_repository_arn" {
  description = "ARN of that ECR repository; the execution roles may pull from it alone."
  type        = string
  default     = "arn:aws:ecr:eu-west-2:123456789012:repository/palisade-staging/palisade"
}

variable "image_tag" {
  description = "Release tag of the first image, written once into each service's image-tag SSM parameter; afterwards the release pipelines own that parameter (Terraform never rolls the image back or forward)."
  type        = string
  default     = "v0.1.0"

  validation {
    condition     = can(regex("^v[0-9]+\\.[0-9]+\\.[0-9]+([-+][0-9A-Za-z.-]+)?$", var.image_tag))
    error_message = "image_tag must be a release tag such as v1.2.3."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets of the tasks."
  type        = list(string)
  default     = []
}

variable "service_security_group_ids" {
  description = "Security group of each service (from the alb module)."
  type        = map(string)
  default     = {}
}

variable "target_group_arns" {
  description = "Target group of each load-balanced service (from the alb module)."
  type        = map(string)
  default     = {}
}

variable "secret_arns" {
  description = "Secrets Manager secrets: db (the master DSN without password, key dsn: migrate only), db-master (the RDS-managed master secret, key password: migrate only), db-<role> (each role user's DSN, key dsn: a service's \"db\" ref reads db-<service>), redis-<role> (each role user's URL, key url: a service's \"redis\" ref reads redis-<service>), app (realtime_app_id, realtime_app_key, realtime_app_secret)."
  type        = map(string)
  default     = {}
}

variable "secrets_kms_key_arn" {
  description = "KMS key that encrypts the secrets; the execution roles may decrypt with it."
  type        = string
  default     = null
}

variable "logs_kms_key_arn" {
  description = "KMS key of the log groups and of ECS Exec sessions."
  type        = string
  default     = null
}

variable "log_group_names" {
  description = "CloudWatch log group of each service."
  type        = map(string)
  default     = {}
}

variable "exec_log_group_name" {
  description = "CloudWatch log group that records ECS Exec sessions."
  type        = string
  default     = "/ecs/palisade-staging/exec"
}

variable "base_url" {
  description = "PALISADE_BASE_URL, https://<domain>."
  type        = string
  default     = "https://palisade.example.com"
}

variable "api_url" {
  description = "PALISADE_API_URL, http://<internal ALB DNS name>."
  type        = string
  default     = "http://internal-alb.invalid"
}

variable "trusted_proxies" {
  description = "PALISADE_TRUSTED_PROXIES: CIDRs of the subnets that hold each service's load balancer, by service (public subnets for the public ALB, private subnets for the internal ALB)."
  type        = map(list(string))
  default     = {}
}

variable "client_ip_header" {
  description = "PALISADE_CLIENT_IP_HEADER of api, tenant and hq: the CDN's client-IP header (CF-Connecting-IP, the alb module's client_ip_header output); empty sets nothing."
  type        = string
  default     = ""
}

variable "cdn_proxies" {
  description = "PALISADE_CDN_PROXIES of the API: the CDN's ranges whose client-IP header it believes (the alb module's cdn_proxies output)."
  type        = list(string)
  default     = []
}

variable "tenant_bucket_prefix" {
  description = "PALISADE_S3_BUCKET_PREFIX, \"<project>-<env>-tenant-\"."
  type        = string
  default     = "palisade-staging-tenant-"
}

variable "tenant_kms_key_id" {
  description = "PALISADE_KMS_KEY_ID: the KMS key the app sets as default encryption of the tenant buckets it creates."
  type        = string
  default     = ""
}

variable "tenant_kms_keys" {
  description = "PALISADE_KMS_TENANT_KEYS: each tenant bucket is encrypted with the tenant's own KMS key, scheduled for deletion at offboarding (crypto-shredding). Needs the storage module's tenant_kms_keys on too."
  type        = bool
  default     = true
}

variable "tenant_key_deletion_days" {
  description = "PALISADE_KMS_SHRED_DAYS: days a shredded tenant key stays pending deletion (AWS allows 7-30), the window to undo an offboarding by mistake."
  type        = number
  default     = 7

  validation {
    condition     = var.tenant_key_deletion_days >= 7 && var.tenant_key_deletion_days <= 30
    error_message = "tenant_key_deletion_days must be from 7 to 30."
  }
}

variable "tenant_policy_arns" {
  description = "IAM policy of each tenant-bucket flow (storage module output tenant_policy_arns); every flow a service's tenant_s3 names must be here."
  type        = map(string)
  default     = {}
}

variable "tenant_read_exempt_role_arns" {
  description = "PALISADE_S3_EXEMPT_ROLE_ARNS besides the worker's own task role: roles the tenant bucket policy lets read objects not yet tagged Clean (the scanner Lambda's role)."
  type        = list(string)
  default     = []
}

variable "tenant_tagger_role_arns" {
  description = "PALISADE_S3_TAGGER_ROLE_ARNS: the only roles the tenant bucket policy lets write object tags (the scanner Lambda's role, which writes the ScanStatus verdict)."
  type        = list(string)
  default     = []
}

variable "ses_mail" {
  description = "Send mail through SES (the mail module): PALISADE_MAIL_DRIVER=ses and ses:SendEmail for mail_services. A plain bool, because it decides count at plan time."
  type        = bool
  default     = false
}

variable "mail_from" {
  description = "PALISADE_MAIL_FROM of the services that send mail: an address of the SES identity."
  type        = string
  default     = "Palisade <no-reply@palisade.example.com>"
}

variable "mail_configuration_set" {
  description = "PALISADE_SES_CONFIGURATION_SET: the SES configuration set every message is sent with (with ses_mail)."
  type        = string
  default     = null
}

variable "mail_identity_arn" {
  description = "ARN of the SES domain identity the mail services may send from."
  type        = string
  default     = null
}

variable "mail_configuration_set_arn" {
  description = "ARN of the SES configuration set (ses:SendEmail authorises the identity and the configuration set)."
  type        = string
  default     = null
}

variable "mail_services" {
  description = "Services that send mail through SES (PALISADE_MAIL_DRIVER=ses and ses:SendEmail on the identity)."
  type        = list(string)
  default     = ["api", "worker", "hq", "scheduler"]
}

variable "realtime_publishers" {
  description = "Services that publish realtime events through the realtime role's HTTP API (PALISADE_REALTIME_API_URL)."
  type        = list(string)
  default     = ["api", "worker"]
}

variable "realtime_port" {
  description = "Port of the realtime role (WebSocket and the Pusher HTTP API)."
  type        = number
  default     = 8080
}

variable "service_discovery_namespace" {
  description = "Private DNS namespace (Cloud Map) in which the realtime tasks register, so api and worker reach realtime.<namespace>; null uses \"<name>.internal\"."
  type        = string
  default     = null
}

variable "container_insights" {
  description = "Enable CloudWatch Container Insights on the cluster."
  type        = bool
  default     = true
}

# --------------------------------------------------- escape hatch (spec 8) --

variable "frontend_compute" {
  description = "Where the tenant and hq services run: FARGATE (default) or EC2, an Auto Scaling Group of Graviton instances behind an ECS capacity provider (spec 8 escape hatch). The app and the target groups stay the same."
  type        = string
  default     = "FARGATE"

  validation {
    condition     = contains(["FARGATE", "EC2"], var.frontend_compute)
    error_message = "frontend_compute must be FARGATE or EC2."
  }
}

variable "frontend_services" {
  description = "Services that frontend_compute moves."
  type        = list(string)
  default     = ["tenant", "hq"]
}

variable "ec2_instance_type" {
  description = "Graviton (ARM64) instance type of the escape-hatch Auto Scaling Group."
  type        = string
  default     = "m7g.large"

  validation {
    condition     = can(regex("^[a-z]+[0-9]+g[a-z]*\\.", var.ec2_instance_type))
    error_message = "ec2_instance_type must be a Graviton type (for example t4g.large, m7g.large)."
  }
}

variable "ec2_min_size" {
  description = "Minimum instances of the escape-hatch Auto Scaling Group."
  type        = number
  default     = 2
}

variable "ec2_max_size" {
  description = "Maximum instances of the escape-hatch Auto Scaling Group."
  type        = number
  default     = 6
}

variable "ec2_root_volume_gib" {
  description = "Encrypted root volume size of the escape-hatch instances."
  type        = number
  default     = 30
}

variable "ec2_ami_parameter" {
  description = "SSM parameter with the ECS-optimised ARM64 AMI."
  type        = string
  default     = "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id"
}

variable "vpc_id" {
  description = "VPC of the escape-hatch instances' security group."
  type        = string
  default     = null
}

variable "ec2_egress_https_cidr_blocks" {
  description = "HTTPS destinations of the escape-hatch instances (the ECS agent and SSM reach AWS through the NAT gateways)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "db_user_roles" {
  description = "Roles with their own database user, whose DSN secret secret_arns[\"db-<role>\"] migrate reads (and, for a service, that service's PALISADE_DB_DSN)."
  type        = list(string)
  default     = ["api", "worker", "hq", "scanner"]
}
