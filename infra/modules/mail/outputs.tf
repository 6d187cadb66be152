output "identity_arn" {
  description = "ARN of the SES domain identity (the resource of ses:SendEmail)."
  value       = aws_sesv2_email_identity.domain.arn
}

output "configuration_set_name" {
  description = "SES configuration set every message is sent with (PALISADE_SES_CONFIGURATION_SET)."
  value       = local.configuration_set_name

  depends_on = [aws_sesv2_configuration_set.this]
}

output "configuration_set_arn" {
  description = "ARN of the configuration set (also a resource of ses:SendEmail)."
  value       = aws_sesv2_configuration_set.this.arn
}

output "from_address" {
  description = "PALISADE_MAIL_FROM: the sender, an address of the identity."
  value       = "${var.from_display_name} <${var.from_local_part}@${var.domain}>"
}

output "dkim_records" {
  description = "DNS records that verify the identity and publish its DKIM keys (CNAME, DNS-only at Cloudflare), plus the MAIL FROM MX and SPF records."
  value = concat(
    [for token in aws_sesv2_email_identity.domain.dkim_signing_attributes[0].tokens : {
      name = "${token}._domainkey.${var.domain}", type = "CNAME", value = "${token}.dkim.amazonses.com", proxied = false
    }],
    local.mail_from_domain == null ? [] : [
      { name = local.mail_from_domain, type = "MX", value = "10 feedback-smtp.${data.aws_region.current.name}.amazonses.com", proxied = false },
      { name = local.mail_from_domain, type = "TXT", value = "v=spf1 include:amazonses.com ~all", proxied = false },
    ],
  )
}
