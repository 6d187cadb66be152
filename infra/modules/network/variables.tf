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

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC (spec 3.1: 10.0.0.0/16)."
  type        = string
  default     = "10.0.0.0/16"
}

variable "az_count" {
  description = "Number of availability zones (spec 3.1: two)."
  type        = number
  default     = 2
}

variable "availability_zones" {
  description = "Availability zone names to use; empty picks the first az_count available zones of the region."
  type        = list(string)
  default     = []
}

variable "single_nat_gateway" {
  description = "Use one NAT gateway for all AZs instead of one per AZ. Spec 3.1 asks for one per AZ; only set this for throw-away environments."
  type        = bool
  default     = false
}

variable "interface_endpoints" {
  description = "AWS services that get an interface VPC endpoint in the private subnets (spec 3.1: ECR, CloudWatch Logs, SSM, Secrets Manager). The S3 gateway endpoint is always created."
  type        = list(string)
  default     = ["ecr.api", "ecr.dkr", "logs", "ssm", "secretsmanager"]
}

variable "flow_log_traffic_type" {
  description = "Traffic recorded by the VPC flow log: ACCEPT, REJECT or ALL."
  type        = string
  default     = "ALL"

  validation {
    condition     = contains(["ACCEPT", "REJECT", "ALL"], var.flow_log_traffic_type)
    error_message = "flow_log_traffic_type must be ACCEPT, REJECT or ALL."
  }
}

variable "log_retention_days" {
  description = "Retention of the flow-log group in days (spec 5.3: 90)."
  type        = number
  default     = 90
}

variable "logs_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the flow-log group; null leaves CloudWatch's default encryption."
  type        = string
  default     = null
}
