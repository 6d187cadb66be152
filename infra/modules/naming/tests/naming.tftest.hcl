# Offline tests: this module has no provider, so `tofu test` needs no network.

run "defaults_follow_the_naming_convention" {
  command = apply

  assert {
    condition     = output.prefix == "palisade-staging"
    error_message = "prefix must be <project>-<env>"
  }

  assert {
    condition     = output.tenant_bucket_prefix == "palisade-staging-tenant-"
    error_message = "tenant buckets are <project>-<env>-tenant-*"
  }

  assert {
    condition     = output.tenant_bucket_arn_pattern == "arn:aws:s3:::palisade-staging-tenant-*"
    error_message = "tenant bucket IAM scope must be arn:aws:s3:::<project>-<env>-tenant-*"
  }

  assert {
    condition     = output.pipeline_artifacts_bucket == "palisade-staging-pipeline-artifacts"
    error_message = "artifacts bucket must be <project>-<env>-pipeline-artifacts"
  }

  assert {
    condition     = output.hostnames == { tenant = "*.palisade.example.com", hq = "admin.palisade.example.com", realtime = "wss.palisade.example.com" }
    error_message = "public hostnames must be *.domain, admin.domain and wss.domain"
  }

  assert {
    condition     = output.base_url == "https://palisade.example.com"
    error_message = "base URL must be https://<domain>"
  }

  assert {
    condition     = output.tags.Environment == "staging" && output.tags.Project == "palisade" && output.tags.ManagedBy == "terraform"
    error_message = "standard tags missing"
  }
}

run "production_and_other_partition" {
  command = apply

  variables {
    project     = "acme"
    environment = "production"
    domain      = "acme.io"
    partition   = "aws-us-gov"
    extra_tags  = { CostCenter = "42", Project = "ignored" }
  }

  assert {
    condition     = output.prefix == "acme-production"
    error_message = "prefix must follow the variables"
  }

  assert {
    condition     = output.tenant_bucket_arn_pattern == "arn:aws-us-gov:s3:::acme-production-tenant-*"
    error_message = "ARN must use the partition"
  }

  assert {
    condition     = output.tags.CostCenter == "42" && output.tags.Project == "acme"
    error_message = "extra tags are kept, but the standard tags win"
  }
}

run "rejects_unknown_environment" {
  command = plan

  variables {
    environment = "dev"
  }

  expect_failures = [var.environment]
}

run "rejects_project_unfit_for_bucket_names" {
  command = plan

  variables {
    project = "Palisade_HQ"
  }

  expect_failures = [var.project]
}

run "rejects_domain_with_scheme" {
  command = plan

  variables {
    domain = "https://example.com"
  }

  expect_failures = [var.domain]
}

run "rejects_project_too_long_for_alb_names" {
  command = plan

  variables {
    project = "palisade-saas"
  }

  expect_failures = [var.project]
}

run "accepts_the_longest_project_that_fits" {
  command = plan

  variables {
    project     = "palisade-hq1"
    environment = "production"
  }

  assert {
    condition     = length("${output.prefix}-internal") <= 32
    error_message = "the internal ALB name must fit in 32 characters"
  }
}
