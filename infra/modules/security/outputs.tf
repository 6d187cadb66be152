output "kms_key_arns" {
  description = "ARNs of the KMS keys by purpose: logs, data, storage."
  value       = { for k, v in aws_kms_key.this : k => v.arn }
}

output "kms_key_ids" {
  description = "IDs of the KMS keys by purpose: logs, data, storage."
  value       = { for k, v in aws_kms_key.this : k => v.key_id }
}

output "secret_arns" {
  description = "ARNs of the Secrets Manager secrets: db (master), app, db-<role> (each role's database user) and redis-<role> (each role's Redis user)."
  value       = { for k, v in aws_secretsmanager_secret.this : k => v.arn }
}

output "app_secret_arn" {
  description = "ARN of the app secret (realtime id, key, secret), available once its value is written."
  value       = aws_secretsmanager_secret_version.app.arn
}

output "secret_ids" {
  description = "IDs of the Secrets Manager secrets: db (master), app, db-<role> (each role's database user) and redis-<role> (each role's Redis user)."
  value       = { for k, v in aws_secretsmanager_secret.this : k => v.id }
}

output "db_username" {
  description = "Master user name of the database."
  value       = var.db_username
}


output "db_roles" {
  description = "Roles with their own database user."
  value       = var.db_roles
}

output "db_role_passwords" {
  description = "Generated password of each role's database user, by role."
  value       = { for k, v in random_password.db_role : k => v.result }
  sensitive   = true
}

output "redis_roles" {
  description = "Roles with their own Redis user."
  value       = var.redis_roles
}

output "redis_passwords" {
  description = "Generated password of each Redis user, by role, and of the disabled default user (key default)."
  value       = { for k, v in random_password.redis_user : k => v.result }
  sensitive   = true
}

output "service_log_group_names" {
  description = "CloudWatch log group of each ECS service."
  value       = { for k, v in aws_cloudwatch_log_group.service : k => v.name }
}

output "exec_log_group_name" {
  description = "CloudWatch log group that records ECS Exec sessions."
  value       = aws_cloudwatch_log_group.exec.name
}

output "exec_log_group_arn" {
  description = "ARN of the ECS Exec session log group."
  value       = aws_cloudwatch_log_group.exec.arn
}

output "ecr_repository_urls" {
  description = "ECR repository URLs by short name."
  value       = { for k, v in aws_ecr_repository.this : k => v.repository_url }
}

output "ecr_repository_arns" {
  description = "ECR repository ARNs by short name."
  value       = { for k, v in aws_ecr_repository.this : k => v.arn }
}
