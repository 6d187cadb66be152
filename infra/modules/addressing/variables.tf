variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && can(regex("^[0-9.]+/(1[6-9]|20)$", var.vpc_cidr))
    error_message = "vpc_cidr must be an IPv4 CIDR block with a prefix length between /16 and /20."
  }
}

variable "az_count" {
  description = "Number of availability zones; one public, one private and one data subnet in each."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 3 && floor(var.az_count) == var.az_count
    error_message = "az_count must be 2 or 3 (Multi-AZ RDS and ElastiCache need at least two)."
  }
}

variable "subnet_newbits" {
  description = "Bits added to the VPC prefix for each subnet (8 turns a /16 into /24 subnets)."
  type        = number
  default     = 8

  validation {
    condition     = var.subnet_newbits >= 4 && var.subnet_newbits <= 12
    error_message = "subnet_newbits must be between 4 and 12."
  }
}

variable "public_netnum_base" {
  description = "Subnet number of the first public subnet (1 gives 10.0.1.0/24 in a 10.0.0.0/16 VPC)."
  type        = number
  default     = 1

  validation {
    condition     = var.public_netnum_base >= 0
    error_message = "public_netnum_base must not be negative."
  }
}

variable "private_netnum_base" {
  description = "Subnet number of the first private (application) subnet (11 gives 10.0.11.0/24)."
  type        = number
  default     = 11

  validation {
    condition     = var.private_netnum_base >= 0
    error_message = "private_netnum_base must not be negative."
  }
}

variable "data_netnum_base" {
  description = "Subnet number of the first data subnet (21 gives 10.0.21.0/24)."
  type        = number
  default     = 21

  validation {
    condition     = var.data_netnum_base >= 0
    error_message = "data_netnum_base must not be negative."
  }
}
