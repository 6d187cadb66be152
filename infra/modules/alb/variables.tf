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

variable "vpc_id" {
  description = "ID of the VPC."
  type        = string
  default     = null
}

variable "vpc_cidr" {
  description = "CIDR of the VPC; tasks reach the interface endpoints inside it."
  type        = string
  default     = "10.0.0.0/16"
}

variable "public_subnet_ids" {
  description = "Public subnets of the internet-facing ALB."
  type        = list(string)
  default     = []
}

variable "private_subnet_ids" {
  description = "Private subnets of the internal ALB."
  type        = list(string)
  default     = []
}

variable "data_subnet_cidrs" {
  description = "CIDRs of the data subnets; tasks reach MariaDB and Redis there."
  type        = list(string)
  default     = ["10.0.21.0/24", "10.0.22.0/24"]
}

variable "s3_prefix_list_id" {
  description = "Prefix list of the S3 gateway endpoint; tasks reach S3 through it (the network module's s3_prefix_list_id output)."
  type        = string
  default     = null
}

variable "domain" {
  description = "Apex domain: *.domain goes to tenant, admin.domain to hq, wss.domain to realtime."
  type        = string
  default     = "palisade.example.com"
}

variable "certificate_arn" {
  description = "ACM certificate covering domain and *.domain; null requests one (validate it with the DNS records in the certificate_validation_records output)."
  type        = string
  default     = null
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener; TLS 1.2 is the minimum (spec 5.2)."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"

  validation {
    condition     = contains(["ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06", "ELBSecurityPolicy-TLS13-1-3-2021-06", "ELBSecurityPolicy-TLS-1-2-2017-01", "ELBSecurityPolicy-FS-1-2-Res-2020-10"], var.ssl_policy)
    error_message = "ssl_policy must be a policy whose minimum is TLS 1.2 or newer."
  }
}

variable "public_ingress_cidr_blocks" {
  description = "Sources allowed to reach the public ALB. Narrow this to the CDN's ranges (for example Cloudflare's) to stop clients bypassing it."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "egress_https_cidr_blocks" {
  description = "Destinations the tasks may reach on HTTPS through the NAT gateways (AWS APIs without a VPC endpoint such as KMS, STS and SSM messages for ECS Exec, and third-party HTTPS)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "service_ports" {
  description = "Container port of each service behind a load balancer (spec 3.2)."
  type        = map(number)
  default = {
    tenant   = 3000
    hq       = 3000
    api      = 8000
    realtime = 8080
  }
}

variable "health_check_path" {
  description = "Target-group health check path: /readyz answers 200 once the dependencies are reachable (/healthz only says the process is alive)."
  type        = string
  default     = "/readyz"

  validation {
    condition     = contains(["/healthz", "/readyz"], var.health_check_path)
    error_message = "health_check_path must be /healthz or /readyz."
  }
}

variable "realtime_stickiness_seconds" {
  description = "Cookie stickiness of the realtime (WebSocket) target group, in seconds."
  type        = number
  default     = 86400
}

variable "idle_timeout_seconds" {
  description = "Idle timeout of the public ALB; WebSocket clients ping well within it."
  type        = number
  default     = 120
}

variable "deregistration_delay_seconds" {
  description = "Time a draining target keeps its in-flight requests."
  type        = number
  default     = 30
}

variable "deletion_protection" {
  description = "Refuse deletion of the load balancers."
  type        = bool
  default     = true
}

variable "waf_managed_rule_groups" {
  description = "AWS managed rule groups on the public ALB, in priority order."
  type        = list(string)
  default = [
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
  ]
}

variable "waf_rate_limit" {
  description = "Requests per client IP per 5 minutes before the rate-based rule blocks."
  type        = number
  default     = 2000

  validation {
    condition     = var.waf_rate_limit >= 100
    error_message = "waf_rate_limit must be at least 100 (the AWS WAF minimum)."
  }
}

variable "waf_client_ip_header" {
  description = "Header that carries the client IP for the rate rule when a CDN sits in front (for example CF-Connecting-IP); null uses the source IP. Only set it when public_ingress_cidr_blocks admits the CDN alone."
  type        = string
  default     = null
}

variable "logs_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the WAF log group."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the WAF log group in days (spec 5.3: 90)."
  type        = number
  default     = 90
}
