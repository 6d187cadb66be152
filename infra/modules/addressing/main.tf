locals {
  tiers = {
    public  = var.public_netnum_base
    private = var.private_netnum_base
    data    = var.data_netnum_base
  }

  # Subnet numbers used by every tier, e.g. public = [1, 2].
  netnums = { for tier, base in local.tiers : tier => [for i in range(var.az_count) : base + i] }

  all_netnums = flatten(values(local.netnums))

  subnets = { for tier, nums in local.netnums : tier => [for n in nums : cidrsubnet(var.vpc_cidr, var.subnet_newbits, n)] }
}
