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

output "tenant_policy_arns" {
  description = "IAM policy of each tenant-bucket flow: files (upload, download, delete a file), scan (read and tag uploads), buckets (provision and audit a bucket), offboard (delete every version and the bucket)."
  value       = { for k, v in aws_iam_policy.tenant : k => v.arn }
}
