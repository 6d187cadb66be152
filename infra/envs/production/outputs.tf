output "public_alb_dns_name" {
  description = "Point domain, www.domain and *.domain at this name (through the CDN)."
  value       = module.alb.public_alb_dns_name
}

output "internal_alb_dns_name" {
  description = "Internal ALB of the API."
  value       = module.alb.internal_alb_dns_name
}

output "certificate_validation_records" {
  description = "DNS records that validate a certificate this configuration requested; create them DNS-only (not proxied) before the second apply."
  value       = module.alb.certificate_validation_records
}

output "cluster_name" {
  description = "ECS cluster."
  value       = module.ecs.cluster_name
}

output "ecr_repository_urls" {
  description = "ECR repositories to push release images to."
  value       = module.security.ecr_repository_urls
}

output "pipeline_artifacts_bucket" {
  description = "Bucket of the CI/CD pipelines."
  value       = module.storage.artifacts_bucket_name
}

output "tenant_bucket_prefix" {
  description = "Prefix of the tenant buckets the app creates."
  value       = module.naming.tenant_bucket_prefix
}

output "tenant_bucket_read_exempt_role_arns" {
  description = "Roles that tenant bucket policies let read objects not yet tagged Clean (PALISADE_S3_EXEMPT_ROLE_ARNS of the tasks): the scanner and the worker."
  value       = [module.scanner.role_arns["scan"], module.ecs.task_role_arns["worker"]]
}

output "scanner_dead_letter_queue_url" {
  description = "Scan events that failed; alarm on its depth."
  value       = module.scanner.dead_letter_queue_url
}

output "pipeline_names" {
  description = "Release pipelines: api, tenant, hq."
  value       = module.cicd.pipeline_names
}

output "github_connection_arn" {
  description = "CodeStar connection of the pipelines; approve it in the console if it is PENDING."
  value       = module.cicd.connection_arn
}

output "task_network" {
  description = "Private subnets and per-service security groups, for one-off tasks (migrate, hq create-operator)."
  value = {
    subnets         = module.network.private_subnet_ids
    security_groups = module.alb.service_security_group_ids
  }
}

output "mail_dns_records" {
  description = "DNS records of the SES identity (DKIM CNAMEs, MAIL FROM MX and SPF); create them DNS-only at the DNS provider."
  value       = module.mail.dkim_records
}

output "image_tag_parameters" {
  description = "SSM parameter of each service's running release tag; the pipelines write them, Terraform reads them."
  value       = module.ecs.image_tag_parameter_names
}

output "schema_version_parameter" {
  description = "SSM parameter with the schema version the API pipeline's Migrate stage reached."
  value       = module.cicd.schema_version_parameter_name
}
