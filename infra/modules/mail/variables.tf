variable "name" {
  description = "Name prefix for every resource, \"<project>-<env>\"."
  type        = string
  default     = "palisade-staging"
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "domain" {
  description = "Domain the mail is sent from (the SES domain identity); its DKIM records go to the DNS provider (output dkim_records)."
  type        = string
  default     = "palisade.example.com"
}

variable "from_local_part" {
  description = "Local part of the sender address, <local>@domain."
  type        = string
  default     = "no-reply"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._+-]{0,63}$", var.from_local_part))
    error_message = "from_local_part must be a plain local part such as no-reply."
  }
}

variable "from_display_name" {
  description = "Display name of the sender."
  type        = string
  default     = "Palisade"
}

variable "mail_from_subdomain" {
  description = "Custom MAIL FROM domain <subdomain>.domain, so SPF aligns with the From domain (DMARC); null keeps amazonses.com."
  type        = string
  default     = "mail"
}
