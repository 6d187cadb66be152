output "prefix" {
  description = "Name prefix \"<project>-<env>\" for every resource."
  value       = local.prefix
}

output "project" {
  description = "Project name."
  value       = var.project
}

output "environment" {
  description = "Environment name."
  value       = var.environment
}

output "domain" {
  description = "Apex domain of the environment."
  value       = var.domain
}

output "base_url" {
  description = "Public base URL of the environment (PALISADE_BASE_URL)."
  value       = "https://${var.domain}"
}

output "hostnames" {
  description = "Host-header values of the public ALB rules: tenant (*.domain), hq (admin.domain) and realtime (wss.domain)."
  value       = local.hostnames
}

output "tenant_bucket_prefix" {
  description = "Name prefix of the per-tenant buckets the application creates (PALISADE_S3_BUCKET_PREFIX)."
  value       = local.tenant_bucket_prefix
}

output "tenant_bucket_arn_pattern" {
  description = "ARN pattern that matches every tenant bucket; IAM scopes use it."
  value       = "arn:${var.partition}:s3:::${local.tenant_bucket_prefix}*"
}

output "pipeline_artifacts_bucket" {
  description = "Name of the CI/CD artifacts bucket."
  value       = "${local.prefix}-pipeline-artifacts"
}

output "definitions_bucket" {
  description = "Name of the bucket that holds the ClamAV signature databases."
  value       = "${local.prefix}-clamav-definitions"
}

output "tags" {
  description = "Standard tags for every resource."
  value       = local.tags
}

output "service_namespace" {
  description = "Private DNS namespace (Cloud Map) of service-to-service names, \"<project>-<env>.internal\"."
  value       = "${local.prefix}.internal"
}

output "realtime_api_url" {
  description = "PALISADE_REALTIME_API_URL: realtime's HTTP API under its Cloud Map name in service_namespace (port 8080, spec 3.2)."
  value       = "http://realtime.${local.prefix}.internal:8080"
}
