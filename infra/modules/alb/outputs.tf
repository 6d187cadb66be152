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
  description = "DNS records to create at the DNS provider when this module requested the certificate: DNS-only (proxied = false at Cloudflare), or ACM never sees them. domain and *.domain share one record."
  value = distinct(flatten([
    for cert in aws_acm_certificate.this : [
      for o in cert.domain_validation_options : { name = o.resource_record_name, type = o.resource_record_type, value = o.resource_record_value, proxied = false }
    ]
  ]))
}

output "target_group_dimensions" {
  description = "CloudWatch AWS/ApplicationELB dimensions of each service's target group: load_balancer and target_group ARN suffixes (the api's is on the internal ALB)."
  value = merge(
    { for k in local.public_targets : k => { load_balancer = aws_lb.public.arn_suffix, target_group = aws_lb_target_group.public[k].arn_suffix } },
    { api = { load_balancer = aws_lb.internal.arn_suffix, target_group = aws_lb_target_group.api.arn_suffix } },
  )
}

output "certificate_arn" {
  description = "ACM certificate of the public ALB's HTTPS listener (given or requested)."
  value       = local.certificate_arn
}

output "client_ip_header" {
  description = "PALISADE_CLIENT_IP_HEADER for api, tenant and hq: Cloudflare's CF-Connecting-IP while the origin lock is on, else empty (X-Forwarded-For alone)."
  value       = local.client_ip_header == null ? "" : local.client_ip_header
}

output "cdn_proxies" {
  description = "PALISADE_CDN_PROXIES for the API: Cloudflare's ranges while the origin lock is on, else empty."
  value       = local.origin_lock ? var.cloudflare_ip_ranges : []
}

output "trust_store_arn" {
  description = "ARN of the mutual-TLS trust store (Cloudflare's origin-pull CA) of the HTTPS listener; null without the origin lock."
  value       = local.origin_lock ? aws_lb_trust_store.cloudflare[0].arn : null
}
