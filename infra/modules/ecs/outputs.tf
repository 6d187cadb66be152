output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "service_names" {
  description = "ECS service name of each service."
  value       = { for k in keys(var.services) : k => aws_ecs_service.this[k].name }
}

output "task_definition_arns" {
  description = "Task definition of each service."
  value       = { for k, v in aws_ecs_task_definition.this : k => v.arn }
}

output "task_role_arns" {
  description = "Task role of each service, and migrate's."
  value       = { for k, v in aws_iam_role.task : k => v.arn }
}

output "execution_role_arns" {
  description = "Execution role of each service, and migrate's (the deploy pipeline passes these)."
  value       = { for k, v in aws_iam_role.execution : k => v.arn }
}

output "capacity_providers" {
  description = "Capacity provider each service runs on."
  value       = local.capacity
}

output "frontend_autoscaling_group_name" {
  description = "Auto Scaling Group of the escape hatch, or null while the front ends run on Fargate."
  value       = local.use_ec2 ? aws_autoscaling_group.ec2[0].name : null
}

output "realtime_api_url" {
  description = "PALISADE_REALTIME_API_URL of the publishers: realtime's HTTP API under its Cloud Map name."
  value       = local.realtime_api_url
}

output "image_tag_parameter_names" {
  description = "SSM parameter holding the release tag each service runs; the release pipelines write it after a deploy."
  value       = { for k, v in aws_ssm_parameter.image_tag : k => v.name }
}

output "image_tag_parameter_arns" {
  description = "ARNs of those parameters, for the pipelines' IAM policies."
  value       = { for k, v in aws_ssm_parameter.image_tag : k => v.arn }
}

output "migrate_task_family" {
  description = "Family of the migrate task definition (the only one with the master DSN); the pipeline's Migrate stage registers its revisions."
  value       = local.migrate_family
}
