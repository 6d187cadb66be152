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

output "redis_secret_arn" {
  description = "ARN of the Redis secret, available once its value (the URL) is written."
  value       = aws_secretsmanager_secret_version.redis.arn
}
