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
  description = "Environment name passed to the handler as PALISADE_ENV."
  type        = string
  default     = "staging"
}

variable "tenant_bucket_prefix" {
  description = "Name prefix of the tenant buckets whose uploads are scanned."
  type        = string
  default     = "palisade-staging-tenant-"
}

variable "tenant_kms_key_arn" {
  description = "KMS key of the tenant buckets (the scanner decrypts uploads with it)."
  type        = string
  default     = null
}

variable "storage_kms_key_arn" {
  description = "KMS key of the ClamAV definitions bucket."
  type        = string
  default     = null
}

variable "queue_kms_key_arn" {
  description = "KMS key of the dead-letter queue."
  type        = string
  default     = null
}

variable "logs_kms_key_arn" {
  description = "KMS key of the Lambda log groups."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the Lambda log groups in days (spec 5.3: 90)."
  type        = number
  default     = 90
}

variable "image_uri" {
  description = "ARM64 container image with ClamAV and the Palisade scan handler (repository:tag in ECR)."
  type        = string
  default     = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/palisade-staging/scanner:v0.1.0"
}

variable "scan_command" {
  description = "Image command of the scan function (the handler argument)."
  type        = list(string)
  default     = ["scan"]
}

variable "update_command" {
  description = "Image command of the signature-update function."
  type        = list(string)
  default     = ["update-definitions"]
}

variable "memory_mb" {
  description = "Memory of the scan function; ClamAV holds its signatures in memory."
  type        = number
  default     = 3008
}

variable "timeout_seconds" {
  description = "Timeout of each function."
  type        = number
  default     = 300
}

variable "ephemeral_storage_mb" {
  description = "/tmp of each function: signatures plus the scanned object."
  type        = number
  default     = 4096
}

variable "update_schedule" {
  description = "EventBridge schedule of the signature update."
  type        = string
  default     = "rate(3 hours)"
}

variable "max_event_age_seconds" {
  description = "How long EventBridge keeps retrying delivery of an upload event."
  type        = number
  default     = 3600
}

variable "max_retry_attempts" {
  description = "EventBridge delivery retries before the event goes to the dead-letter queue."
  type        = number
  default     = 10
}

variable "dlq_retention_seconds" {
  description = "How long failed scan events wait in the dead-letter queue (up to 14 days)."
  type        = number
  default     = 1209600
}

variable "force_destroy" {
  description = "Allow Terraform to delete the definitions bucket with objects in it."
  type        = bool
  default     = false
}

# ------------------------------------------------- recording the verdicts --

variable "record_results" {
  description = "Run the scan function in the VPC so it records each verdict in the database at once, publishes it live and mails the malware notice (app.ScanHandler with PALISADE_DB_DSN). Off, the tag alone is the verdict and nothing moves the file out of pending in the database. A plain bool: it decides count at plan time."
  type        = bool
  default     = false
}

variable "vpc_id" {
  description = "VPC of the scan function (with record_results)."
  type        = string
  default     = null
}

variable "subnet_ids" {
  description = "Private subnets of the scan function (with record_results); S3 through the gateway endpoint, other AWS APIs through the NAT gateways."
  type        = list(string)
  default     = []
}

variable "data_subnet_cidrs" {
  description = "CIDRs of the data subnets; the scan function reaches MariaDB there (3306)."
  type        = list(string)
  default     = ["10.0.21.0/24", "10.0.22.0/24"]
}

variable "realtime_security_group_id" {
  description = "Security group of the realtime tasks; the scan function publishes verdicts to its HTTP API."
  type        = string
  default     = null
}

variable "realtime_port" {
  description = "Port of the realtime HTTP API."
  type        = number
  default     = 8080
}

variable "egress_https_cidr_blocks" {
  description = "HTTPS destinations of the scan function: S3, KMS, Secrets Manager, SES (NAT gateways and VPC endpoints)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "app_environment" {
  description = "Application settings of the recording scan function (PALISADE_BASE_URL, PALISADE_REALTIME_API_URL, mail); secrets go as aws-sm:// references in secret_environment."
  type        = map(string)
  default     = {}
}

variable "secret_environment" {
  description = "Environment variable -> [Secrets Manager secret ARN, JSON key]; the function gets aws-sm://<arn>#<key>, which the app resolves at start-up (Lambda has no native secret injection)."
  type        = map(list(string))
  default     = {}
}

variable "secrets_kms_key_arn" {
  description = "KMS key of the secrets the recording scan function reads."
  type        = string
  default     = null
}

variable "mail_resource_arns" {
  description = "SES identity and configuration set the recording scan function may send the malware notice with (empty: no mail permission)."
  type        = list(string)
  default     = []
}

variable "tenant_kms_keys" {
  description = "Tenants have their own KMS keys (the ecs module's tenant_kms_keys): the scan function may decrypt with this environment's tenant keys, through S3 only."
  type        = bool
  default     = true
}
