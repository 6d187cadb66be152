output "kms_key_arn" {
  description = "ARN of the audit KMS key (CloudTrail log files, Config deliveries)."
  value       = aws_kms_key.audit.arn
}

output "trail_arn" {
  description = "ARN of the CloudTrail trail."
  value       = aws_cloudtrail.this.arn
}

output "trail_bucket_name" {
  description = "Object Lock bucket holding the CloudTrail log files and digests."
  value       = aws_s3_bucket.this["trail"].id
}

output "trail_log_group_name" {
  description = "CloudWatch log group of the trail (null when cloudwatch_logs_enabled is false)."
  value       = var.cloudwatch_logs_enabled ? aws_cloudwatch_log_group.trail[0].name : null
}

output "config_bucket_name" {
  description = "Bucket of the AWS Config snapshots and history."
  value       = aws_s3_bucket.this["config"].id
}

output "access_logs_bucket_name" {
  description = "Bucket for ALB access logs (prefix alb/<lb>/) and S3 server access logs (prefix s3/<bucket>/); pass it to the alb module."
  value       = local.buckets.access_logs
  # Known at plan (the ALB's access_logs block depends on it), but not handed
  # out before ELB may write to the bucket: the ALB checks with a test object.
  depends_on = [aws_s3_bucket_policy.this]
}

output "access_logs_bucket_arn" {
  description = "ARN of the access-logs bucket."
  value       = aws_s3_bucket.this["access_logs"].arn
}

output "guardduty_detector_id" {
  description = "GuardDuty detector (null when account_services_enabled is false)."
  value       = var.account_services_enabled ? aws_guardduty_detector.this[0].id : null
}

output "config_rule_names" {
  description = "Names of the AWS Config managed rules."
  value       = [for r in aws_config_config_rule.this : r.name]
}
