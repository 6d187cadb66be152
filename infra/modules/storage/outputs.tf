output "artifacts_bucket_name" {
  description = "Name of the pipeline-artifacts bucket."
  value       = aws_s3_bucket.artifacts.id
}

output "artifacts_bucket_arn" {
  description = "ARN of the pipeline-artifacts bucket."
  value       = aws_s3_bucket.artifacts.arn
}

output "tenant_bucket_arn_pattern" {
  description = "ARN pattern of the tenant buckets."
  value       = local.tenant_buckets
}

output "tenant_admin_policy_arn" {
  description = "IAM policy that creates and configures tenant buckets (attached to the api task role)."
  value       = aws_iam_policy.tenant_admin.arn
}

output "tenant_objects_policy_arn" {
  description = "IAM policy that reads, writes and tags tenant objects (api and worker task roles)."
  value       = aws_iam_policy.tenant_objects.arn
}
