output "vault_arn" {
  description = "ARN of the backup vault."
  value       = aws_backup_vault.this.arn
}

output "vault_name" {
  description = "Name of the backup vault."
  value       = aws_backup_vault.this.name
}

output "kms_key_arn" {
  description = "KMS key of the vault."
  value       = aws_kms_key.backup.arn
}

output "plan_id" {
  description = "ID of the backup plan (null when plan_enabled is false)."
  value       = var.plan_enabled ? aws_backup_plan.this[0].id : null
}

output "role_arn" {
  description = "Role AWS Backup runs the plan and restores with (null when plan_enabled is false)."
  value       = var.plan_enabled ? aws_iam_role.backup[0].arn : null
}
