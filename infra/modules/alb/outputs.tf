output "public_alb_arn" {
  description = "ARN of the internet-facing ALB."
  value       = aws_lb.public.arn
}

output "public_alb_dns_name" {
  description = "DNS name of the public ALB; point the domain, *.domain (CNAME, proxied by the CDN) at it."
  value       = aws_lb.public.dns_name
}

output "public_alb_zone_id" {
  description = "Hosted zone of the public ALB, for alias records."
  value       = aws_lb.public.zone_id
}

output "internal_alb_dns_name" {
  description = "DNS name of the internal ALB (PALISADE_API_URL is http://<this>)."
  value       = aws_lb.internal.dns_name
}

output "target_group_arns" {
  description = "Target group of each service behind a load balancer: tenant, hq, realtime, api. Available once the listener rules exist, because ECS refuses a target group without a load balancer."
  value       = merge({ for k, v in aws_lb_target_group.public : k => v.arn }, { api = aws_lb_target_group.api.arn })

  depends_on = [aws_lb_listener_rule.host, aws_lb_listener_rule.api_path]
}

output "service_security_group_ids" {
  description = "Security group of each ECS service."
  value       = { for k, v in aws_security_group.service : k => v.id }
}

output "web_acl_arn" {
  description = "ARN of the WAF web ACL on the public ALB."
  value       = aws_wafv2_web_acl.public.arn
}

output "certificate_validation_records" {
  description = "DNS records to create at the DNS provider when this module requested the certificate."
  value = flatten([
    for cert in aws_acm_certificate.this : [
      for o in cert.domain_validation_options : { name = o.resource_record_name, type = o.resource_record_type, value = o.resource_record_value }
    ]
  ])
}
