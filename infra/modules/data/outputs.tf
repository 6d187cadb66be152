output "db_address" {
  description = "Host name of the RDS instance."
  value       = aws_db_instance.this.address
}

output "db_port" {
  description = "Port of the RDS instance."
  value       = aws_db_instance.this.port
}

output "db_instance_arn" {
  description = "ARN of the RDS instance."
  value       = aws_db_instance.this.arn
}

output "db_security_group_id" {
  description = "Security group of the RDS instance."
  value       = aws_security_group.db.id
}

output "redis_primary_endpoint" {
  description = "Primary endpoint of the Redis replication group."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "redis_security_group_id" {
  description = "Security group of the Redis replication group."
  value       = aws_security_group.redis.id
}

output "db_secret_arn" {
  description = "ARN of the DB secret, available once its value (the DSN) is written; tasks must not start before."
  value       = aws_secretsmanager_secret_version.db.arn
}

output "redis_role_secret_arns" {
  description = "ARN of each role's Redis-user secret, by role, available once its value (the URL) is written."
  value       = { for k, v in aws_secretsmanager_secret_version.redis_role : k => v.arn }
}

output "db_instance_identifier" {
  description = "Identifier of the RDS instance (the DBInstanceIdentifier dimension of its metrics)."
  value       = aws_db_instance.this.identifier
}

output "redis_member_cluster_ids" {
  description = "CacheClusterId of every node of the Redis replication group (<id>-001, -002, ...: how ElastiCache names the members of a cluster-mode-disabled group)."
  value       = [for i in range(var.redis_num_cache_clusters) : format("%s-%03d", aws_elasticache_replication_group.this.replication_group_id, i + 1)]
}

output "db_role_secret_arns" {
  description = "ARN of each role's database-user secret, by role, available once its value (the DSN) is written."
  value       = { for k, v in aws_secretsmanager_secret_version.db_role : k => v.arn }
}

output "db_master_secret_arn" {
  description = "The RDS-managed secret of the master user (JSON username/password, rotated by RDS); only the migrate task reads it."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}
