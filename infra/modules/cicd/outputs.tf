output "pipeline_names" {
  description = "CodePipeline of each component: api, tenant, hq."
  value       = { for k, v in aws_codepipeline.this : k => v.name }
}

output "pipeline_arns" {
  description = "ARN of each pipeline."
  value       = { for k, v in aws_codepipeline.this : k => v.arn }
}

output "pipeline_services" {
  description = "ECS services each pipeline deploys, by container name."
  value       = { for k, p in local.pipelines : k => p.services }
}

output "connection_arn" {
  description = "CodeStar connection to GitHub; a new one is PENDING until approved in the console."
  value       = local.connection_arn
}

output "codebuild_project_names" {
  description = "CodeBuild projects: build-api, build-tenant, build-hq, build-scanner, migrate and release-api, release-tenant, release-hq."
  value       = { for k, v in aws_codebuild_project.this : k => v.name }
}

output "approval_topic_arn" {
  description = "SNS topic of the approval requests, or null without a Manual approval stage."
  value       = var.manual_approval ? aws_sns_topic.approvals[0].arn : null
}

output "schema_version_parameter_name" {
  description = "SSM parameter with the schema version the API pipeline's Migrate stage reached; the tenant and hq pipelines wait for it."
  value       = aws_ssm_parameter.schema_version.name
}
