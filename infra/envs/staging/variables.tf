variable "region" {
  description = "AWS region (spec 7: eu-west-2, London)."
  type        = string
  default     = "eu-west-2"
}

variable "project" {
  description = "Project name, the first part of every resource name."
  type        = string
  default     = "palisade"
}

variable "domain" {
  description = "Apex domain of this environment: tenants on *.domain, HQ on admin.domain, realtime on wss.domain."
  type        = string
  default     = "staging.palisade.example.com"
}

variable "certificate_arn" {
  description = "Existing ACM certificate for domain and *.domain; null requests one (validate it with the records in the certificate_validation_records output)."
  type        = string
  default     = null
}

variable "image_tag" {
  description = "Release tag of the palisade and scanner images (spec 4.3: never latest)."
  type        = string
  default     = "v0.1.0"
}

variable "frontend_compute" {
  description = "Spec 8 escape hatch: FARGATE, or EC2 to move tenant and hq onto a Graviton Auto Scaling Group."
  type        = string
  default     = "FARGATE"
}

variable "public_ingress_cidr_blocks" {
  description = "No-CDN escape hatch: sources allowed to reach the public ALB when cloudflare_origin_lock = false (for example [\"0.0.0.0/0\"]); empty while Cloudflare fronts every request."
  type        = list(string)
  default     = []
}

variable "github_repository" {
  description = "GitHub repository the release pipelines build, owner/name."
  type        = string
  default     = "palisade-hq/palisade"
}

variable "github_connection_arn" {
  description = "Existing CodeStar connection to GitHub; null creates one (approve it once in the console)."
  type        = string
  default     = null
}

variable "approval_emails" {
  description = "Addresses notified when a release waits for approval (production)."
  type        = list(string)
  default     = []
}

variable "release_tag_patterns" {
  description = "Git tag patterns that start the api, tenant and hq pipelines."
  type        = map(list(string))
  default = {
    api    = ["v*"]
    tenant = ["v*"]
    hq     = ["v*"]
  }
}

variable "alert_emails" {
  description = "Addresses the alarms mail (SNS e-mail subscriptions; each confirms once)."
  type        = list(string)
  default     = []
}

variable "alarm_thresholds" {
  description = "Overrides of the monitoring module's alarm thresholds (infra/modules/monitoring, variable thresholds)."
  type        = any
  default     = {}
}

variable "cloudflare_origin_lock" {
  description = "Spec 2: only Cloudflare reaches the public ALB (its ranges, authenticated origin pulls) and the client is CF-Connecting-IP. false is the no-CDN escape hatch (public_ingress_cidr_blocks)."
  type        = bool
  default     = true
}

variable "admin_allowed_cidrs" {
  description = "Client CIDRs allowed on admin.<domain> (WAF rule on CF-Connecting-IP); empty leaves the HQ host open (or protect it with Cloudflare Access)."
  type        = list(string)
  default     = []
}

variable "account_services_enabled" {
  description = "Create the account-wide security services (Config, GuardDuty, Security Hub, Inspector) from this environment; false when another environment in the same account and region owns them."
  type        = bool
  default     = true
}

variable "malware_protection_bucket_names" {
  description = "Tenant buckets GuardDuty Malware Protection for S3 scans as a second scanner beside ClamAV; empty turns it off."
  type        = list(string)
  default     = []
}

variable "backup_region" {
  description = "Region AWS Backup copies every recovery point to (cross-region copy)."
  type        = string
  default     = "eu-west-1"
}

variable "s3_backup_enabled" {
  description = "Also back up the tenant buckets with AWS Backup (by name prefix and tenant tag)."
  type        = bool
  default     = false
}
