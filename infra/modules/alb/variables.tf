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
  description = "Escape hatch for running without Cloudflare (cloudflare_origin_lock = false): the sources allowed to reach the public ALB, for example [\"0.0.0.0/0\"]. Must stay empty while the origin lock is on, when cloudflare_ip_ranges alone are admitted."
  type        = list(string)
  default     = []
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
  description = "Header that carries the client IP for the WAF's rate and admin rules and for the app (PALISADE_CLIENT_IP_HEADER) while cloudflare_origin_lock is on: Cloudflare's CF-Connecting-IP. Without the origin lock the source IP is used and this is ignored."
  type        = string
  default     = "CF-Connecting-IP"

  validation {
    condition     = can(regex("^[A-Za-z0-9-]+$", var.waf_client_ip_header)) && !contains(["x-forwarded-for", "host", "forwarded"], lower(var.waf_client_ip_header))
    error_message = "waf_client_ip_header must be the CDN's own header name (CF-Connecting-IP), not X-Forwarded-For, Host or Forwarded, which clients or the load balancer write."
  }
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

# ------------------------------------------------- Cloudflare origin lock --

variable "cloudflare_origin_lock" {
  description = "Spec 2: Cloudflare fronts every request. The public ALB's security group admits cloudflare_ip_ranges alone, its HTTPS listener requires Cloudflare's origin-pull client certificate (mutual TLS, verify mode) and the WAF and the app take the client from waf_client_ip_header. false is the no-CDN escape hatch: public_ingress_cidr_blocks, no mutual TLS, the source IP."
  type        = bool
  default     = true
}

# Cloudflare's published ranges, https://www.cloudflare.com/ips-v4 and
# https://www.cloudflare.com/ips-v6, as of 2026-12-03 (15 IPv4, 7 IPv6).
# Refresh: bash scripts/cloudflare-ranges.sh prints this list from those
# URLs (docs/operations.md, "Cloudflare ranges").
variable "cloudflare_ip_ranges" {
  description = "Cloudflare's published IPv4 and IPv6 ranges (www.cloudflare.com/ips-v4 and ips-v6, as of 2026-12-03): the only sources the public ALB admits while cloudflare_origin_lock is on, and PALISADE_CDN_PROXIES of the API. Refresh with scripts/cloudflare-ranges.sh."
  type        = list(string)
  default = [
    "173.245.48.0/20",
    "103.21.244.0/22",
    "103.22.200.0/22",
    "103.31.4.0/22",
    "141.101.64.0/18",
    "108.162.192.0/18",
    "190.93.240.0/20",
    "188.114.96.0/20",
    "197.234.240.0/22",
    "198.41.128.0/17",
    "162.158.0.0/15",
    "104.16.0.0/13",
    "104.24.0.0/14",
    "172.64.0.0/13",
    "131.0.72.0/22",
    "2400:cb00::/32",
    "2606:4700::/32",
    "2803:f800::/32",
    "2405:b500::/32",
    "2405:8100::/32",
    "2a06:98c0::/29",
    "2c0f:f248::/32",
  ]

  validation {
    condition     = length(var.cloudflare_ip_ranges) > 0 && alltrue([for c in var.cloudflare_ip_ranges : can(cidrhost(c, 0)) && !contains(["0.0.0.0/0", "::/0"], c)])
    error_message = "cloudflare_ip_ranges must be CIDRs (never 0.0.0.0/0 or ::/0): Cloudflare's published list."
  }
}

variable "trust_store_bucket" {
  description = "S3 bucket (KMS-encrypted, versioned) that holds the CA bundle of the mutual-TLS trust store, Cloudflare's origin-pull CA; the storage module's artifacts bucket. The trust store copies the object when it is created or the object's version changes."
  type        = string
  default     = "palisade-staging-pipeline-artifacts"
}

variable "origin_pull_ca_file" {
  description = "PEM file of the CAs whose client certificates the HTTPS listener accepts: Cloudflare's origin-pull CA, shipped with the module (docs/operations.md, \"Origin-pull CA rotation\")."
  type        = string
  default     = null
}

variable "admin_allowed_cidrs" {
  description = "When not empty, the WAF blocks every request to admin.<domain> whose client (waf_client_ip_header behind Cloudflare, else the source IP) is outside these CIDRs. Empty leaves the HQ host open to all; Cloudflare Access on admin.<domain> is the identity-based alternative (docs/operations.md)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.admin_allowed_cidrs : can(cidrhost(c, 0)) && !contains(["0.0.0.0/0", "::/0"], c)])
    error_message = "admin_allowed_cidrs must be CIDRs narrower than 0.0.0.0/0 and ::/0 (leave it empty for no restriction)."
  }
}

variable "access_logs_bucket" {
  description = "S3 bucket for the access logs of both ALBs (prefixes alb/public and alb/internal); null turns them off."
  type        = string
  default     = null
}
