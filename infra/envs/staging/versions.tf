terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }

  # Partial configuration: pass bucket, key, region and the lock table with
  # `tofu init -backend-config=backend.hcl` (see infra/README.md). The state
  # holds generated secrets, so the bucket must be KMS-encrypted.
  backend "s3" {}
}
