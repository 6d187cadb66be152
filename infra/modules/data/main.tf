locals {
  db_identifier = "${var.name}-mariadb"
}

# ------------------------------------------------------- security groups --

resource "aws_security_group" "db" {
  name        = "${var.name}-mariadb"
  description = "MariaDB: only from the application task security groups"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-mariadb" })
}

resource "aws_vpc_security_group_ingress_rule" "db" {
  for_each = var.db_client_security_group_ids

  security_group_id            = aws_security_group.db.id
  description                  = "MariaDB from ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = 3306
  to_port                      = 3306
  referenced_security_group_id = each.value
}

resource "aws_security_group" "redis" {
  name        = "${var.name}-redis"
  description = "Redis: only from the application task security groups"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-redis" })
}

resource "aws_vpc_security_group_ingress_rule" "redis" {
  for_each = var.redis_client_security_group_ids

  security_group_id            = aws_security_group.redis.id
  description                  = "Redis from ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = each.value
}

# ------------------------------------------------------------------ RDS --

resource "aws_db_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.data_subnet_ids

  tags = var.tags
}

# name_prefix, not name: create_before_destroy must create the replacement
# group (a family change) while the old one, still attached, keeps its name.
resource "aws_db_parameter_group" "this" {
  name_prefix = "${var.name}-mariadb-"
  family      = var.db_parameter_group_family

  # Refuse any connection that is not TLS (spec 5.2).
  parameter {
    name  = "require_secure_transport"
    value = "ON"
  }

  parameter {
    name  = "character_set_server"
    value = "utf8mb4"
  }

  parameter {
    name  = "collation_server"
    value = "utf8mb4_unicode_ci"
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

# The audit log export needs the MariaDB audit plugin: connections and
# DDL/DCL statements are recorded (ISO 27001 logging).
resource "aws_db_option_group" "this" {
  name_prefix              = "${var.name}-mariadb-"
  option_group_description = "${var.name} MariaDB audit plugin"
  engine_name              = "mariadb"
  major_engine_version     = var.db_engine_version

  option {
    option_name = "MARIADB_AUDIT_PLUGIN"

    option_settings {
      name  = "SERVER_AUDIT_EVENTS"
      value = "CONNECT,QUERY_DDL,QUERY_DCL"
    }
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudwatch_log_group" "db" {
  for_each = toset(var.db_log_exports)

  name              = "/aws/rds/instance/${local.db_identifier}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn

  tags = var.tags
}

resource "aws_db_instance" "this" {
  identifier     = local.db_identifier
  engine         = "mariadb"
  engine_version = var.db_engine_version
  instance_class = var.db_instance_class

  db_name  = var.db_name
  username = var.db_username
  port     = 3306

  # RDS keeps the master password in its own secret and rotates it (every 7
  # days by default); Terraform never sees it. Only the migrate task reads
  # it (PALISADE_DB_PASSWORD), at its start.
  manage_master_user_password   = true
  master_user_secret_kms_key_id = var.kms_key_arn

  multi_az               = var.db_multi_az
  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.db.id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.this.name
  option_group_name      = aws_db_option_group.this.name

  allocated_storage     = var.db_allocated_storage
  max_allocated_storage = var.db_max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  backup_retention_period   = var.db_backup_retention_days
  backup_window             = "02:00-03:00"
  maintenance_window        = "sun:03:30-sun:04:30"
  copy_tags_to_snapshot     = true
  deletion_protection       = var.db_deletion_protection
  skip_final_snapshot       = false
  final_snapshot_identifier = "${local.db_identifier}-final"

  iam_database_authentication_enabled = true
  auto_minor_version_upgrade          = true
  enabled_cloudwatch_logs_exports     = var.db_log_exports

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.db]
}

resource "aws_secretsmanager_secret_version" "db" {
  secret_id = var.db_secret_id
  secret_string = jsonencode({
    engine   = "mariadb"
    host     = aws_db_instance.this.address
    port     = aws_db_instance.this.port
    dbname   = var.db_name
    username = var.db_username
    # go-sql-driver/mysql DSN. TLS because the parameter group refuses plain
    # connections; tls=rds (not tls=true, whose system roots lack the RDS
    # CA) is the app's registered configuration that verifies the server
    # against the Amazon RDS global CA bundle and the host name
    # (internal/store, PALISADE_DB_TLS_CA). No password: the master's is
    # RDS's own rotated secret (db_master_secret_arn, PALISADE_DB_PASSWORD).
    dsn = "${var.db_username}@tcp(${aws_db_instance.this.address}:${aws_db_instance.this.port})/${var.db_name}?tls=rds&parseTime=true&charset=utf8mb4"
  })
}

# Each role's own database user, "<master>_<role>" (internal/store
# RoleUser): the DSN its task reads as PALISADE_DB_DSN. The user itself is
# created, and its password and grants (re)applied, by `palisade migrate`,
# which alone reads the master secret above; a role task started before the
# first migrate of a fresh database cannot log in (the pipeline migrates
# before it deploys).
resource "aws_secretsmanager_secret_version" "db_role" {
  for_each = toset(var.db_roles)

  secret_id = var.db_role_secret_ids[each.key]
  secret_string = jsonencode({
    engine   = "mariadb"
    host     = aws_db_instance.this.address
    port     = aws_db_instance.this.port
    dbname   = var.db_name
    username = "${var.db_username}_${each.key}"
    password = var.db_role_passwords[each.key]
    dsn      = "${var.db_username}_${each.key}:${var.db_role_passwords[each.key]}@tcp(${aws_db_instance.this.address}:${aws_db_instance.this.port})/${var.db_name}?tls=rds&parseTime=true&charset=utf8mb4"
  })
}

# ---------------------------------------------------------- ElastiCache --

resource "aws_elasticache_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.data_subnet_ids

  tags = var.tags
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id = "${var.name}-redis"
  description          = "${var.name} Redis: queues, sessions, realtime fan-out"

  engine               = "redis"
  engine_version       = var.redis_engine_version
  node_type            = var.redis_node_type
  parameter_group_name = var.redis_parameter_group_name
  port                 = 6379

  num_cache_clusters         = var.redis_num_cache_clusters
  automatic_failover_enabled = true
  multi_az_enabled           = true

  subnet_group_name  = aws_elasticache_subnet_group.this.name
  security_group_ids = [aws_security_group.redis.id]

  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  transit_encryption_enabled = true
  # RBAC instead of one shared AUTH token: each role logs in as its own
  # user (aws_elasticache_user.role).
  user_group_ids = [aws_elasticache_user_group.this.user_group_id]

  snapshot_retention_limit   = var.redis_snapshot_retention_days
  snapshot_window            = "01:00-02:00"
  maintenance_window         = "sun:04:30-sun:05:30"
  auto_minor_version_upgrade = true
  apply_immediately          = false

  tags = var.tags
}

# ElastiCache RBAC: a user group must hold a user named "default"; ours is
# switched off, so a client that does not name its user gets nothing.
resource "aws_elasticache_user" "default" {
  user_id       = "${var.name}-default"
  user_name     = "default"
  engine        = "redis"
  access_string = "off -@all"

  authentication_mode {
    type      = "password"
    passwords = [var.redis_passwords["default"]]
  }

  tags = var.tags
}

# One user per role, limited to the keys, channels and commands its code
# uses (redis_access_strings; the Go test TestRedisAccessStrings applies
# these very strings to a real Redis and runs each role's operations).
resource "aws_elasticache_user" "role" {
  for_each = toset(var.redis_roles)

  user_id       = "${var.name}-${each.key}"
  user_name     = "${var.name}-${each.key}"
  engine        = "redis"
  access_string = var.redis_access_strings[each.key]

  authentication_mode {
    type      = "password"
    passwords = [var.redis_passwords[each.key]]
  }

  tags = var.tags
}

resource "aws_elasticache_user_group" "this" {
  user_group_id = "${var.name}-redis"
  engine        = "redis"
  user_ids      = concat([aws_elasticache_user.default.user_id], [for r in var.redis_roles : aws_elasticache_user.role[r].user_id])

  tags = var.tags
}

# Each role's PALISADE_REDIS_URL: its own user name and password.
resource "aws_secretsmanager_secret_version" "redis_role" {
  for_each = toset(var.redis_roles)

  secret_id = var.redis_secret_ids[each.key]
  secret_string = jsonencode({
    host     = aws_elasticache_replication_group.this.primary_endpoint_address
    port     = aws_elasticache_replication_group.this.port
    username = "${var.name}-${each.key}"
    password = var.redis_passwords[each.key]
    # rediss:// because transit encryption is on.
    url = "rediss://${var.name}-${each.key}:${var.redis_passwords[each.key]}@${aws_elasticache_replication_group.this.primary_endpoint_address}:${aws_elasticache_replication_group.this.port}/0"
  })
}
