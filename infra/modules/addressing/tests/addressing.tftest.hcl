# Offline tests: this module has no provider, so `tofu test` needs no network.

run "spec_layout_by_default" {
  command = apply

  assert {
    condition     = output.public_subnets == ["10.0.1.0/24", "10.0.2.0/24"]
    error_message = "public subnets must be 10.0.1.0/24 and 10.0.2.0/24 (spec 3.1)"
  }

  assert {
    condition     = output.private_subnets == ["10.0.11.0/24", "10.0.12.0/24"]
    error_message = "private subnets must be 10.0.11.0/24 and 10.0.12.0/24 (spec 3.1)"
  }

  assert {
    condition     = output.data_subnets == ["10.0.21.0/24", "10.0.22.0/24"]
    error_message = "data subnets must be 10.0.21.0/24 and 10.0.22.0/24 (spec 3.1)"
  }

  assert {
    condition     = output.vpc_cidr == "10.0.0.0/16" && output.az_count == 2
    error_message = "VPC must be 10.0.0.0/16 over two AZs"
  }
}

run "three_azs_in_another_range" {
  command = apply

  variables {
    vpc_cidr = "172.20.0.0/16"
    az_count = 3
  }

  assert {
    condition     = output.public_subnets == ["172.20.1.0/24", "172.20.2.0/24", "172.20.3.0/24"]
    error_message = "public subnets follow the VPC range and AZ count"
  }

  assert {
    condition     = output.data_subnets == ["172.20.21.0/24", "172.20.22.0/24", "172.20.23.0/24"]
    error_message = "data subnets follow the VPC range and AZ count"
  }
}

run "smaller_vpc_gives_smaller_subnets" {
  command = apply

  variables {
    vpc_cidr = "10.8.0.0/20"
  }

  assert {
    condition     = output.private_subnets == ["10.8.0.176/28", "10.8.0.192/28"]
    error_message = "a /20 with 8 new bits gives /28 subnets"
  }
}

run "rejects_overlapping_tiers" {
  command = plan

  variables {
    private_netnum_base = 2
  }

  expect_failures = [output.public_subnets]
}

run "rejects_single_az" {
  command = plan

  variables {
    az_count = 1
  }

  expect_failures = [var.az_count]
}

run "rejects_bad_cidr" {
  command = plan

  variables {
    vpc_cidr = "10.0.0.0/8"
  }

  expect_failures = [var.vpc_cidr]
}
