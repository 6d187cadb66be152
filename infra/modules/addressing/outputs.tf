output "vpc_cidr" {
  description = "The VPC CIDR block."
  value       = var.vpc_cidr
}

output "az_count" {
  description = "Number of availability zones."
  value       = var.az_count
}

output "public_subnets" {
  description = "Public subnet CIDRs, one per AZ (NAT gateways, public ALB)."
  value       = local.subnets.public

  precondition {
    condition     = length(distinct(local.all_netnums)) == length(local.all_netnums)
    error_message = "The public, private and data subnet ranges overlap: space the *_netnum_base values at least az_count apart."
  }

  precondition {
    condition     = max(local.all_netnums...) < pow(2, var.subnet_newbits)
    error_message = "A subnet number does not fit in subnet_newbits bits."
  }
}

output "private_subnets" {
  description = "Private subnet CIDRs, one per AZ (ECS tasks, internal ALB)."
  value       = local.subnets.private
}

output "data_subnets" {
  description = "Data subnet CIDRs, one per AZ (RDS, ElastiCache)."
  value       = local.subnets.data
}
