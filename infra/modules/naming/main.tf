locals {
  # Every resource name starts with "<project>-<env>".
  prefix = "${var.project}-${var.environment}"

  # Tenant buckets are created by the application at run time, one per
  # tenant: "<project>-<env>-tenant-<tenant>". Terraform only owns the IAM
  # scope, the KMS key and the EventBridge rule that match this prefix.
  tenant_bucket_prefix = "${local.prefix}-tenant-"

  hostnames = {
    tenant   = "*.${var.domain}"
    hq       = "admin.${var.domain}"
    realtime = "wss.${var.domain}"
  }

  tags = merge(var.extra_tags, {
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "terraform"
  })
}
