provider "aws" {
  region = var.region

  default_tags {
    tags = module.naming.tags
  }
}

# The copies' region: a second provider configuration, passed to the copy
# vault's module instance as its default provider.
provider "aws" {
  alias  = "backup"
  region = var.backup_region

  default_tags {
    tags = module.naming.tags
  }
}

module "naming" {
  source = "../../modules/naming"

  project     = var.project
  environment = "production"
  domain      = var.domain
}

module "security" {
  source = "../../modules/security"

  name = module.naming.prefix
  tags = module.naming.tags
}

module "network" {
  source = "../../modules/network"

  name             = module.naming.prefix
  tags             = module.naming.tags
  logs_kms_key_arn = module.security.kms_key_arns["logs"]
}

module "storage" {
  source = "../../modules/storage"

  name                 = module.naming.prefix
  tags                 = module.naming.tags
  kms_key_arn          = module.security.kms_key_arns["storage"]
  tenant_bucket_prefix = module.naming.tenant_bucket_prefix
}

module "alb" {
  source = "../../modules/alb"

  name                       = module.naming.prefix
  tags                       = module.naming.tags
  vpc_id                     = module.network.vpc_id
  vpc_cidr                   = module.network.vpc_cidr
  public_subnet_ids          = module.network.public_subnet_ids
  private_subnet_ids         = module.network.private_subnet_ids
  data_subnet_cidrs          = module.network.data_subnet_cidrs
  s3_prefix_list_id          = module.network.s3_prefix_list_id
  domain                     = module.naming.domain
  certificate_arn            = var.certificate_arn
  public_ingress_cidr_blocks = var.public_ingress_cidr_blocks
  logs_kms_key_arn           = module.security.kms_key_arns["logs"]

  # Spec 2: Cloudflare in front (security group from the module's
  # cloudflare_ip_ranges, authenticated origin pulls, CF-Connecting-IP for
  # the WAF and the app).
  cloudflare_origin_lock = var.cloudflare_origin_lock
  waf_client_ip_header   = "CF-Connecting-IP"
  trust_store_bucket     = module.storage.artifacts_bucket_name
  admin_allowed_cidrs    = var.admin_allowed_cidrs
  access_logs_bucket     = module.audit.access_logs_bucket_name
}

module "mail" {
  source = "../../modules/mail"

  name   = module.naming.prefix
  tags   = module.naming.tags
  domain = module.naming.domain
}

module "data" {
  source = "../../modules/data"

  name             = module.naming.prefix
  tags             = module.naming.tags
  vpc_id           = module.network.vpc_id
  data_subnet_ids  = module.network.data_subnet_ids
  kms_key_arn      = module.security.kms_key_arns["data"]
  logs_kms_key_arn = module.security.kms_key_arns["logs"]
  db_username      = module.security.db_username
  db_secret_id     = module.security.secret_ids["db"]

  # A Redis (RBAC) user per role that uses Redis; no shared token.
  redis_roles      = module.security.redis_roles
  redis_passwords  = module.security.redis_passwords
  redis_secret_ids = { for r in module.security.redis_roles : r => module.security.secret_ids["redis-${r}"] }

  # A database user per role; only migrate reads the master secret above.
  db_roles           = module.security.db_roles
  db_role_passwords  = module.security.db_role_passwords
  db_role_secret_ids = { for r in module.security.db_roles : r => module.security.secret_ids["db-${r}"] }

  # The same least-privilege split as the tasks' egress rules.
  # The scanner Lambda records its verdicts in the database too.
  db_client_security_group_ids = merge(
    { for svc in ["hq", "api", "worker"] : svc => module.alb.service_security_group_ids[svc] },
    { scanner = module.scanner.security_group_id },
  )
  # tenant and hq do not use Redis (they call the API).
  redis_client_security_group_ids = {
    for svc in ["api", "worker", "scheduler", "realtime"] : svc => module.alb.service_security_group_ids[svc]
  }
}

module "ecs" {
  source = "../../modules/ecs"

  name                 = module.naming.prefix
  tags                 = module.naming.tags
  environment          = module.naming.environment
  vpc_id               = module.network.vpc_id
  private_subnet_ids   = module.network.private_subnet_ids
  image_repository_url = module.security.ecr_repository_urls["palisade"]
  image_repository_arn = module.security.ecr_repository_arns["palisade"]
  image_tag            = var.image_tag

  service_security_group_ids = module.alb.service_security_group_ids
  target_group_arns          = module.alb.target_group_arns
  # Taken from the secret versions, so no task starts before its secret
  # has a value.
  # db is the master DSN, read by the migrate task alone; each service
  # with a database reads its own user's, db-<service>.
  secret_arns = merge(
    {
      db        = module.data.db_secret_arn
      db-master = module.data.db_master_secret_arn
      app       = module.security.app_secret_arn
    },
    { for r, arn in module.data.db_role_secret_arns : "db-${r}" => arn },
    { for r, arn in module.data.redis_role_secret_arns : "redis-${r}" => arn },
  )
  db_user_roles       = module.security.db_roles
  secrets_kms_key_arn = module.security.kms_key_arns["data"]
  logs_kms_key_arn    = module.security.kms_key_arns["logs"]
  log_group_names     = module.security.service_log_group_names
  exec_log_group_name = module.security.exec_log_group_name

  base_url = module.naming.base_url
  api_url  = "http://${module.alb.internal_alb_dns_name}"

  # Each service trusts X-Forwarded-For only from the proxies in front of
  # it. The API sits behind the internal ALB and the web/hq tasks (private
  # subnets), and the chain it reads also holds the public ALB's hop (public
  # subnets), so it trusts both; anything left of them is the client.
  trusted_proxies = {
    tenant    = module.network.public_subnet_cidrs
    hq        = module.network.public_subnet_cidrs
    realtime  = module.network.public_subnet_cidrs
    api       = concat(module.network.private_subnet_cidrs, module.network.public_subnet_cidrs)
    worker    = module.network.private_subnet_cidrs
    scheduler = module.network.private_subnet_cidrs
  }
  # The client behind Cloudflare: api believes CF-Connecting-IP from
  # Cloudflare's ranges only; tenant and hq pass the header on.
  client_ip_header = module.alb.client_ip_header
  cdn_proxies      = module.alb.cdn_proxies

  tenant_bucket_prefix = module.naming.tenant_bucket_prefix
  tenant_kms_key_id    = module.security.kms_key_arns["storage"]
  tenant_policy_arns   = module.storage.tenant_policy_arns
  # The scanner Lambda reads uploads before they are tagged; the worker's
  # own role is added by the module.
  tenant_read_exempt_role_arns = [module.scanner.role_arns["scan"]]
  # ...and it alone writes the ScanStatus tag.
  tenant_tagger_role_arns = [module.scanner.role_arns["scan"]]

  ses_mail                   = true
  mail_from                  = module.mail.from_address
  mail_configuration_set     = module.mail.configuration_set_name
  mail_identity_arn          = module.mail.identity_arn
  mail_configuration_set_arn = module.mail.configuration_set_arn

  frontend_compute            = var.frontend_compute
  service_discovery_namespace = module.naming.service_namespace
}

module "scanner" {
  source = "../../modules/scanner"

  name                 = module.naming.prefix
  tags                 = module.naming.tags
  environment          = module.naming.environment
  tenant_bucket_prefix = module.naming.tenant_bucket_prefix
  tenant_kms_key_arn   = module.security.kms_key_arns["storage"]
  storage_kms_key_arn  = module.security.kms_key_arns["storage"]
  queue_kms_key_arn    = module.security.kms_key_arns["data"]
  logs_kms_key_arn     = module.security.kms_key_arns["logs"]
  image_uri            = "${module.security.ecr_repository_urls["scanner"]}:${var.image_tag}"

  # The worker has no clamd in AWS: the scan function scans, tags, and
  # records the verdict in the database itself (and publishes and mails it),
  # so it runs in the private subnets.
  record_results             = true
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.private_subnet_ids
  data_subnet_cidrs          = module.network.data_subnet_cidrs
  realtime_security_group_id = module.alb.service_security_group_ids["realtime"]
  secrets_kms_key_arn        = module.security.kms_key_arns["data"]
  app_environment = {
    PALISADE_BASE_URL              = module.naming.base_url
    PALISADE_REALTIME_API_URL      = module.naming.realtime_api_url
    PALISADE_MAIL_DRIVER           = "ses"
    PALISADE_MAIL_FROM             = module.mail.from_address
    PALISADE_SES_CONFIGURATION_SET = module.mail.configuration_set_name
  }
  secret_environment = {
    PALISADE_DB_DSN              = [module.security.secret_ids["db-scanner"], "dsn"]
    PALISADE_REALTIME_APP_ID     = [module.security.app_secret_arn, "realtime_app_id"]
    PALISADE_REALTIME_APP_KEY    = [module.security.app_secret_arn, "realtime_app_key"]
    PALISADE_REALTIME_APP_SECRET = [module.security.app_secret_arn, "realtime_app_secret"]
  }
  mail_resource_arns = [module.mail.identity_arn, module.mail.configuration_set_arn]
}

module "cicd" {
  source = "../../modules/cicd"

  name       = module.naming.prefix
  tags       = module.naming.tags
  repository = var.github_repository
  # Spec 4.2: a person approves every production release; staging deploys
  # as soon as the build passes.
  manual_approval      = true
  approval_emails      = var.approval_emails
  connection_arn       = var.github_connection_arn
  release_tag_patterns = var.release_tag_patterns

  artifacts_bucket_name     = module.storage.artifacts_bucket_name
  artifacts_bucket_arn      = module.storage.artifacts_bucket_arn
  artifacts_kms_key_arn     = module.security.kms_key_arns["storage"]
  notifications_kms_key_arn = module.security.kms_key_arns["data"]
  logs_kms_key_arn          = module.security.kms_key_arns["logs"]

  image_repository_url = module.security.ecr_repository_urls["palisade"]
  image_repository_arn = module.security.ecr_repository_arns["palisade"]

  scanner_repository_url = module.security.ecr_repository_urls["scanner"]
  scanner_repository_arn = module.security.ecr_repository_arns["scanner"]
  scanner_function_names = values(module.scanner.function_names)
  scanner_function_arns  = values(module.scanner.function_arns)

  cluster_name        = module.ecs.cluster_name
  service_names       = module.ecs.service_names
  task_role_arns      = module.ecs.task_role_arns
  execution_role_arns = module.ecs.execution_role_arns

  # The migration runs as its own task definition (the master DSN and the
  # role users' DSNs) in the api's subnets and security group (one the
  # database admits).
  migrate_task_family        = module.ecs.migrate_task_family
  migrate_subnet_ids         = module.network.private_subnet_ids
  migrate_security_group_ids = [module.alb.service_security_group_ids["api"]]
}

# Alarms, alert topic and dashboard (ISO 27001 8.16; docs/operations.md,
# "Alarms"). The app's metrics arrive as EMF lines in the services' logs.
module "monitoring" {
  source = "../../modules/monitoring"

  name         = module.naming.prefix
  tags         = module.naming.tags
  environment  = module.naming.environment
  alert_emails = var.alert_emails

  target_groups         = module.alb.target_group_dimensions
  ecs_cluster_name      = module.ecs.cluster_name
  ecs_service_names     = module.ecs.service_names
  db_instances          = { primary = module.data.db_instance_identifier }
  redis_cluster_ids     = module.data.redis_member_cluster_ids
  lambda_function_names = module.scanner.function_names
  dead_letter_queues    = { scanner = module.scanner.dead_letter_queue_name }
  certificates          = { public = module.alb.certificate_arn }
  thresholds            = var.alarm_thresholds
}

# ----------------------------------------------- audit, detection, backup --
# Issue 16 items 2, 3 and 7: CloudTrail to an Object Lock bucket, AWS
# Config and its rules, GuardDuty, Security Hub, Inspector ECR scanning,
# the access-logs bucket of the ALBs, and AWS Backup with a cross-region copy.

module "audit" {
  source = "../../modules/audit"

  name                 = module.naming.prefix
  tags                 = module.naming.tags
  tenant_bucket_prefix = module.naming.tenant_bucket_prefix
  logs_kms_key_arn     = module.security.kms_key_arns["logs"]
  tenant_kms_key_arn   = module.security.kms_key_arns["storage"]

  # Production: log files are write-once for a year (COMPLIANCE: not even
  # root can shorten it) and kept seven years; 35 days of daily backups in
  # a locked vault.
  object_lock_mode           = "COMPLIANCE"
  object_lock_retention_days = 365
  archive_retention_days     = 2555

  account_services_enabled        = var.account_services_enabled
  malware_protection_enabled      = length(var.malware_protection_bucket_names) > 0
  malware_protection_bucket_names = var.malware_protection_bucket_names
}

module "backup_copy" {
  source = "../../modules/backup"
  providers = {
    aws = aws.backup
  }

  name               = module.naming.prefix
  tags               = module.naming.tags
  vault_name_suffix  = "backup-copy"
  plan_enabled       = false
  vault_lock_enabled = true
}

module "backup" {
  source = "../../modules/backup"

  name                = module.naming.prefix
  tags                = module.naming.tags
  retention_days      = 35
  copy_retention_days = 35
  copy_vault_arn      = module.backup_copy.vault_arn
  vault_lock_enabled  = true

  rds_instance_arns    = [module.data.db_instance_arn]
  source_kms_key_arns  = [module.security.kms_key_arns["data"], module.security.kms_key_arns["storage"]]
  s3_backup_enabled    = var.s3_backup_enabled
  tenant_bucket_prefix = module.naming.tenant_bucket_prefix
}
