output "function_arns" {
  description = "ARNs of the scan and update functions."
  value       = { for k, v in aws_lambda_function.this : k => v.arn }
}

output "role_arns" {
  description = "Roles of the scan and update functions; tenant bucket policies must let the scan role read untagged objects."
  value       = { for k, v in aws_iam_role.this : k => v.arn }
}

output "definitions_bucket_name" {
  description = "Bucket holding the ClamAV signature databases."
  value       = aws_s3_bucket.definitions.id
}

output "dead_letter_queue_url" {
  description = "Queue of scan events that could not be delivered or processed."
  value       = aws_sqs_queue.dlq.id
}

output "object_created_rule_arn" {
  description = "EventBridge rule matching uploads to tenant buckets."
  value       = aws_cloudwatch_event_rule.object_created.arn
}

output "function_names" {
  description = "Names of the scan and update functions (the API pipeline updates their image)."
  value       = { for k in keys(local.functions) : k => aws_lambda_function.this[k].function_name }
}

output "security_group_id" {
  description = "Security group of the recording scan function (the database admits it), or null without record_results."
  value       = var.record_results ? aws_security_group.scan[0].id : null
}

output "dead_letter_queue_name" {
  description = "Name of the dead-letter queue (the QueueName dimension of its metrics)."
  value       = aws_sqs_queue.dlq.name
}
