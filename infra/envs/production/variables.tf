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
  default     = "palisade.example.com"
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
  description = "Sources allowed to reach the public ALB; narrow to the CDN's ranges when it fronts every request."
  type        = list(string)
  default     = ["0.0.0.0/0"]
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
