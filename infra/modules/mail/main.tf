data "aws_region" "current" {}

locals {
  configuration_set_name = "${var.name}-mail"
  mail_from_domain       = var.mail_from_subdomain == null ? null : "${var.mail_from_subdomain}.${var.domain}"
}

# Mail leaves through the SES v2 API (HTTPS through the NAT gateways, signed
# with the task role): no SMTP password exists to store or rotate.

resource "aws_sesv2_configuration_set" "this" {
  configuration_set_name = local.configuration_set_name

  delivery_options {
    tls_policy = "REQUIRE"
  }

  reputation_options {
    reputation_metrics_enabled = true
  }

  sending_options {
    sending_enabled = true
  }

  # Addresses that bounced or complained are not mailed again.
  suppression_options {
    suppressed_reasons = ["BOUNCE", "COMPLAINT"]
  }

  tags = var.tags
}

# Easy DKIM: SES signs with a 2048-bit key whose three public halves are
# CNAME records at the DNS provider (output dkim_records). The identity
# stays pending until they resolve.
resource "aws_sesv2_email_identity" "domain" {
  email_identity         = var.domain
  configuration_set_name = aws_sesv2_configuration_set.this.configuration_set_name

  dkim_signing_attributes {
    next_signing_key_length = "RSA_2048_BIT"
  }

  tags = var.tags
}

resource "aws_sesv2_email_identity_mail_from_attributes" "domain" {
  count = local.mail_from_domain == null ? 0 : 1

  email_identity         = aws_sesv2_email_identity.domain.email_identity
  mail_from_domain       = local.mail_from_domain
  behavior_on_mx_failure = "USE_DEFAULT_VALUE"
}
