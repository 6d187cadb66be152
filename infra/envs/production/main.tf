provider "aws" {
  region = var.region

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
  db_password      = module.security.db_password
  db_secret_id     = module.security.secret_ids["db"]
  redis_auth_token = module.security.redis_auth_token
  redis_secret_id  = module.security.secret_ids["redis"]

  # The same least-privilege split as the tasks' egress rules.
  db_client_security_group_ids = {
    for svc in ["hq", "api", "worker", "scheduler"] : svc => module.alb.service_security_group_ids[svc]
  }
  redis_client_security_group_ids = {
    for svc in ["tenant", "hq", "api", "worker", "scheduler", "realtime"] : svc => module.alb.service_security_group_ids[svc]
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
  secret_arns = {
    db    = module.data.db_secret_arn
    redis = module.data.redis_secret_arn
    app   = module.security.app_secret_arn
  }
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

  tenant_bucket_prefix      = module.naming.tenant_bucket_prefix
  tenant_kms_key_id         = module.security.kms_key_arns["storage"]
  tenant_admin_policy_arn   = module.storage.tenant_admin_policy_arn
  tenant_objects_policy_arn = module.storage.tenant_objects_policy_arn

  frontend_compute = var.frontend_compute
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

  cluster_name        = module.ecs.cluster_name
  service_names       = module.ecs.service_names
  task_role_arns      = module.ecs.task_role_arns
  execution_role_arns = module.ecs.execution_role_arns

  # The migration runs as the api: its task definition, roles, secrets,
  # subnets and security group (the one the database admits).
  migrate_task_family        = "${module.naming.prefix}-api"
  migrate_subnet_ids         = module.network.private_subnet_ids
  migrate_security_group_ids = [module.alb.service_security_group_ids["api"]]
}
