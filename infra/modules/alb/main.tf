locals {
  # Every ECS service gets its own security group.
  services = ["tenant", "hq", "api", "worker", "scheduler", "realtime"]

  # Which load balancer may reach which service: the public ALB reaches the
  # two web front ends and realtime, the internal ALB reaches the API only.
  public_targets   = ["tenant", "hq", "realtime"]
  internal_targets = ["api"]

  # Front ends call the API through the internal ALB (BFF, spec 2.2).
  api_clients = ["tenant", "hq"]

  # api and worker publish events to realtime's HTTP API (Pusher
  # POST /apps/<id>/events), task to task under its Cloud Map name.
  realtime_publishers = ["api", "worker"]

  # Data-tier ports each service may open (least privilege): tenant and hq
  # never use Redis (they call the API), hq's database user serves
  # `hq create-operator`, the scheduler has no database user.
  data_ports = {
    tenant    = []
    hq        = [3306]
    api       = [3306, 6379]
    worker    = [3306, 6379]
    scheduler = [6379]
    realtime  = [6379]
  }
  data_rules = merge([
    for svc, ports in local.data_ports : {
      for pair in setproduct(ports, var.data_subnet_cidrs) : "${svc}-${pair[0]}-${pair[1]}" => { service = svc, port = pair[0], cidr = pair[1] }
    }
  ]...)

  https_egress_rules = merge([
    for svc in local.services : { for cidr in var.egress_https_cidr_blocks : "${svc}-${cidr}" => { service = svc, cidr = cidr } }
  ]...)

  # Cloudflare origin lock (spec 2): only Cloudflare's edges reach the
  # public ALB, they must present the origin-pull client certificate, and the
  # client is the one Cloudflare names in its header. Without the lock (no
  # CDN) the escape hatch public_ingress_cidr_blocks applies instead.
  origin_lock      = var.cloudflare_origin_lock
  ingress_cidrs    = local.origin_lock ? var.cloudflare_ip_ranges : var.public_ingress_cidr_blocks
  client_ip_header = local.origin_lock ? var.waf_client_ip_header : null
  origin_pull_ca   = coalesce(var.origin_pull_ca_file, "${path.module}/cloudflare-origin-pull-ca.pem")

  public_ingress_rules = {
    for pair in setproduct([443, 80], local.ingress_cidrs) : "${pair[0]}-${pair[1]}" => { port = pair[0], cidr = pair[1], ipv6 = can(regex(":", pair[1])) }
  }

  # The admin. host's allow-list, split by address family (one WAF IP set each).
  admin_ip_sets = length(var.admin_allowed_cidrs) == 0 ? {} : {
    IPV4 = [for c in var.admin_allowed_cidrs : c if !can(regex(":", c))]
    IPV6 = [for c in var.admin_allowed_cidrs : c if can(regex(":", c))]
  }

  # Host rules of the HTTPS listener. "*.domain" does not match the apex
  # itself, so the sign-up site (apex and www, served by the web role) has
  # its own rule to the tenant target group.
  hosts = {
    hq       = { values = ["admin.${var.domain}"], target = "hq" }
    realtime = { values = ["wss.${var.domain}"], target = "realtime" }
    apex     = { values = [var.domain, "www.${var.domain}"], target = "tenant" }
    tenant   = { values = ["*.${var.domain}"], target = "tenant" }
  }

  # Rule priorities: the specific hosts before the tenant wildcard.
  host_rule_priority = { hq = 10, realtime = 20, apex = 30, tenant = 100 }

  # Target group names are name_prefix + a random suffix, so that
  # create_before_destroy can create the replacement before the old group
  # (with its fixed name) is gone. AWS allows at most 6 characters.
  target_group_prefixes = { tenant = "tnt-", hq = "hq-", realtime = "rt-", api = "api-" }

  api_paths = { api = 10, broadcasting = 20 }

  certificate_arn = var.certificate_arn != null ? var.certificate_arn : aws_acm_certificate_validation.this[0].certificate_arn
}

# ------------------------------------------------------- security groups --

resource "aws_security_group" "public_alb" {
  name        = "${var.name}-public-alb"
  description = "Public ALB: HTTPS (and HTTP for the redirect) from Cloudflare"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-public-alb" })

  lifecycle {
    precondition {
      condition     = !var.cloudflare_origin_lock || length(var.public_ingress_cidr_blocks) == 0
      error_message = "public_ingress_cidr_blocks is the no-CDN escape hatch: leave it empty while cloudflare_origin_lock is on (cloudflare_ip_ranges are admitted), or set cloudflare_origin_lock = false."
    }
    precondition {
      condition     = var.cloudflare_origin_lock || length(var.public_ingress_cidr_blocks) > 0
      error_message = "Without the Cloudflare origin lock, public_ingress_cidr_blocks must name who may reach the public ALB (for example [\"0.0.0.0/0\"])."
    }
  }
}

resource "aws_vpc_security_group_ingress_rule" "public_alb" {
  for_each = local.public_ingress_rules

  security_group_id = aws_security_group.public_alb.id
  description       = each.value.port == 443 ? (local.origin_lock ? "HTTPS from Cloudflare" : "HTTPS from clients") : (local.origin_lock ? "HTTP from Cloudflare, redirected to HTTPS" : "HTTP from clients, redirected to HTTPS")
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = each.value.ipv6 ? null : each.value.cidr
  cidr_ipv6         = each.value.ipv6 ? each.value.cidr : null
}

resource "aws_vpc_security_group_egress_rule" "public_alb" {
  for_each = toset(local.public_targets)

  security_group_id            = aws_security_group.public_alb.id
  description                  = "To ${each.key} tasks"
  ip_protocol                  = "tcp"
  from_port                    = var.service_ports[each.key]
  to_port                      = var.service_ports[each.key]
  referenced_security_group_id = aws_security_group.service[each.key].id
}

resource "aws_security_group" "internal_alb" {
  name        = "${var.name}-internal-alb"
  description = "Internal ALB: HTTP from the web front ends only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-internal-alb" })
}

resource "aws_vpc_security_group_ingress_rule" "internal_alb" {
  for_each = toset(local.api_clients)

  security_group_id            = aws_security_group.internal_alb.id
  description                  = "HTTP from ${each.key} tasks"
  ip_protocol                  = "tcp"
  from_port                    = 80
  to_port                      = 80
  referenced_security_group_id = aws_security_group.service[each.key].id
}

resource "aws_vpc_security_group_egress_rule" "internal_alb" {
  for_each = toset(local.internal_targets)

  security_group_id            = aws_security_group.internal_alb.id
  description                  = "To ${each.key} tasks"
  ip_protocol                  = "tcp"
  from_port                    = var.service_ports[each.key]
  to_port                      = var.service_ports[each.key]
  referenced_security_group_id = aws_security_group.service[each.key].id
}

resource "aws_security_group" "service" {
  for_each = toset(local.services)

  name        = "${var.name}-${each.key}"
  description = "ECS service ${each.key}: no SSH; ingress only from its load balancer"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

resource "aws_vpc_security_group_ingress_rule" "from_public_alb" {
  for_each = toset(local.public_targets)

  security_group_id            = aws_security_group.service[each.key].id
  description                  = "From the public ALB"
  ip_protocol                  = "tcp"
  from_port                    = var.service_ports[each.key]
  to_port                      = var.service_ports[each.key]
  referenced_security_group_id = aws_security_group.public_alb.id
}

resource "aws_vpc_security_group_ingress_rule" "from_internal_alb" {
  for_each = toset(local.internal_targets)

  security_group_id            = aws_security_group.service[each.key].id
  description                  = "From the internal ALB"
  ip_protocol                  = "tcp"
  from_port                    = var.service_ports[each.key]
  to_port                      = var.service_ports[each.key]
  referenced_security_group_id = aws_security_group.internal_alb.id
}

resource "aws_vpc_security_group_egress_rule" "to_internal_alb" {
  for_each = toset(local.api_clients)

  security_group_id            = aws_security_group.service[each.key].id
  description                  = "To the API through the internal ALB"
  ip_protocol                  = "tcp"
  from_port                    = 80
  to_port                      = 80
  referenced_security_group_id = aws_security_group.internal_alb.id
}

resource "aws_vpc_security_group_ingress_rule" "realtime_from_publishers" {
  for_each = toset(local.realtime_publishers)

  security_group_id            = aws_security_group.service["realtime"].id
  description                  = "Realtime HTTP API from ${each.key} tasks"
  ip_protocol                  = "tcp"
  from_port                    = var.service_ports["realtime"]
  to_port                      = var.service_ports["realtime"]
  referenced_security_group_id = aws_security_group.service[each.key].id
}

resource "aws_vpc_security_group_egress_rule" "to_realtime" {
  for_each = toset(local.realtime_publishers)

  security_group_id            = aws_security_group.service[each.key].id
  description                  = "To the realtime HTTP API (events)"
  ip_protocol                  = "tcp"
  from_port                    = var.service_ports["realtime"]
  to_port                      = var.service_ports["realtime"]
  referenced_security_group_id = aws_security_group.service["realtime"].id
}

resource "aws_vpc_security_group_egress_rule" "to_endpoints" {
  for_each = toset(local.services)

  security_group_id = aws_security_group.service[each.key].id
  description       = "HTTPS to the interface VPC endpoints"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = var.vpc_cidr
}

resource "aws_vpc_security_group_egress_rule" "to_s3" {
  for_each = toset(local.services)

  security_group_id = aws_security_group.service[each.key].id
  description       = "HTTPS to S3 through the gateway endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = var.s3_prefix_list_id
}

resource "aws_vpc_security_group_egress_rule" "to_data" {
  for_each = local.data_rules

  security_group_id = aws_security_group.service[each.value.service].id
  description       = each.value.port == 3306 ? "MariaDB" : "Redis"
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = each.value.cidr
}

resource "aws_vpc_security_group_egress_rule" "to_internet_https" {
  for_each = local.https_egress_rules

  security_group_id = aws_security_group.service[each.value.service].id
  description       = "HTTPS through the NAT gateways"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  # trivy:ignore:AVD-AWS-0104 Egress leaves through the NAT gateways (spec 3.1) for AWS APIs without an endpoint (KMS, STS, SSM messages for ECS Exec) and third-party HTTPS; HTTPS only, never inbound. Narrow egress_https_cidr_blocks to restrict it.
  cidr_ipv4 = each.value.cidr
}

# ------------------------------------------------------------ public ALB --

# trivy:ignore:AVD-AWS-0053 This is the internet-facing ALB of spec 3.3; the API stays behind the internal ALB.
resource "aws_lb" "public" {
  name                       = "${var.name}-public"
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.public_subnet_ids
  security_groups            = [aws_security_group.public_alb.id]
  drop_invalid_header_fields = true
  idle_timeout               = var.idle_timeout_seconds
  enable_deletion_protection = var.deletion_protection

  # Access logs to the audit module's bucket (issue 16, item 2).
  dynamic "access_logs" {
    for_each = var.access_logs_bucket == null ? [] : [var.access_logs_bucket]

    content {
      bucket  = access_logs.value
      prefix  = "alb/public"
      enabled = true
    }
  }

  tags = merge(var.tags, { Name = "${var.name}-public" })
}

resource "aws_acm_certificate" "this" {
  count = var.certificate_arn == null ? 1 : 0

  domain_name               = var.domain
  subject_alternative_names = ["*.${var.domain}"]
  validation_method         = "DNS"

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

# Waits until the DNS validation records (output certificate_validation_records)
# exist at the DNS provider.
resource "aws_acm_certificate_validation" "this" {
  count = var.certificate_arn == null ? 1 : 0

  certificate_arn = aws_acm_certificate.this[0].arn
}

# Authenticated origin pulls: the HTTPS listener verifies the client
# certificate Cloudflare presents against its origin-pull CA, so a client
# that found the ALB's address cannot complete a TLS handshake even from an
# address inside Cloudflare's ranges (a Worker, say) without Cloudflare's
# certificate. The trust store copies the bundle from S3 when it is created
# and whenever the object's version changes.
resource "aws_s3_object" "origin_pull_ca" {
  count = local.origin_lock ? 1 : 0

  bucket       = var.trust_store_bucket
  key          = "alb-trust-store/${var.name}/cloudflare-origin-pull-ca.pem"
  source       = local.origin_pull_ca
  source_hash  = filemd5(local.origin_pull_ca)
  content_type = "application/x-pem-file"

  tags = var.tags
}

resource "aws_lb_trust_store" "cloudflare" {
  count = local.origin_lock ? 1 : 0

  name                                     = "${var.name}-cloudflare"
  ca_certificates_bundle_s3_bucket         = aws_s3_object.origin_pull_ca[0].bucket
  ca_certificates_bundle_s3_key            = aws_s3_object.origin_pull_ca[0].key
  ca_certificates_bundle_s3_object_version = aws_s3_object.origin_pull_ca[0].version_id

  tags = var.tags
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.public.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = local.certificate_arn

  dynamic "mutual_authentication" {
    for_each = local.origin_lock ? [aws_lb_trust_store.cloudflare[0].arn] : []

    content {
      mode                             = "verify"
      trust_store_arn                  = mutual_authentication.value
      ignore_client_certificate_expiry = false
    }
  }

  default_action {
    type = "fixed-response"

    fixed_response {
      content_type = "text/plain"
      message_body = "Not found"
      status_code  = "404"
    }
  }

  tags = var.tags
}

resource "aws_lb_listener" "http_redirect" {
  load_balancer_arn = aws_lb.public.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      protocol    = "HTTPS"
      port        = "443"
      status_code = "HTTP_301"
    }
  }

  tags = var.tags
}

resource "aws_lb_target_group" "public" {
  for_each = toset(local.public_targets)

  name_prefix          = local.target_group_prefixes[each.key]
  port                 = var.service_ports[each.key]
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = var.deregistration_delay_seconds

  health_check {
    path                = var.health_check_path
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  stickiness {
    enabled         = each.key == "realtime"
    type            = "lb_cookie"
    cookie_duration = var.realtime_stickiness_seconds
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb_listener_rule" "host" {
  for_each = local.hosts

  listener_arn = aws_lb_listener.https.arn
  priority     = local.host_rule_priority[each.key]

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.public[each.value.target].arn
  }

  condition {
    host_header {
      values = each.value.values
    }
  }

  tags = var.tags
}

# ---------------------------------------------------------- internal ALB --

resource "aws_lb" "internal" {
  name                       = "${var.name}-internal"
  load_balancer_type         = "application"
  internal                   = true
  subnets                    = var.private_subnet_ids
  security_groups            = [aws_security_group.internal_alb.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection

  # Access logs to the audit module's bucket (issue 16, item 2).
  dynamic "access_logs" {
    for_each = var.access_logs_bucket == null ? [] : [var.access_logs_bucket]

    content {
      bucket  = access_logs.value
      prefix  = "alb/internal"
      enabled = true
    }
  }

  tags = merge(var.tags, { Name = "${var.name}-internal" })
}

# trivy:ignore:AVD-AWS-0054 Spec 3.3: the internal ALB listens on HTTP:80 inside the private subnets only; its security group admits the tenant and hq tasks alone.
resource "aws_lb_listener" "internal_http" {
  load_balancer_arn = aws_lb.internal.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "fixed-response"

    fixed_response {
      content_type = "text/plain"
      message_body = "Not found"
      status_code  = "404"
    }
  }

  tags = var.tags
}

resource "aws_lb_target_group" "api" {
  name_prefix          = local.target_group_prefixes["api"]
  port                 = var.service_ports["api"]
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = var.deregistration_delay_seconds

  health_check {
    path                = var.health_check_path
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb_listener_rule" "api_path" {
  for_each = local.api_paths

  listener_arn = aws_lb_listener.internal_http.arn
  priority     = each.value

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }

  condition {
    path_pattern {
      values = ["/${each.key}/*"]
    }
  }

  tags = var.tags
}

# ------------------------------------------------------------------- WAF --

resource "aws_wafv2_web_acl" "public" {
  name        = "${var.name}-public"
  description = "Public ALB: AWS managed rule groups and a per-client rate limit"
  scope       = "REGIONAL"

  default_action {
    allow {}
  }

  dynamic "rule" {
    for_each = var.waf_managed_rule_groups

    content {
      name     = rule.value
      priority = rule.key + 1

      override_action {
        none {}
      }

      statement {
        managed_rule_group_statement {
          vendor_name = "AWS"
          name        = rule.value
        }
      }

      visibility_config {
        cloudwatch_metrics_enabled = true
        metric_name                = "${var.name}-${rule.value}"
        sampled_requests_enabled   = true
      }
    }
  }

  rule {
    name     = "rate-limit-per-client"
    priority = 0

    action {
      block {}
    }

    statement {
      rate_based_statement {
        limit              = var.waf_rate_limit
        aggregate_key_type = local.client_ip_header == null ? "IP" : "FORWARDED_IP"

        # Behind Cloudflare every request carries CF-Connecting-IP (the
        # listener admits Cloudflare alone). MATCH: a request whose header
        # is not an address is counted as matching, so it is blocked once
        # the rule is over its limit rather than escaping the rate limit.
        dynamic "forwarded_ip_config" {
          for_each = local.client_ip_header == null ? [] : [local.client_ip_header]

          content {
            header_name       = forwarded_ip_config.value
            fallback_behavior = "MATCH"
          }
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-rate-limit"
      sampled_requests_enabled   = true
    }
  }

  # admin.<domain> only from admin_allowed_cidrs (the client as Cloudflare
  # names it): a request for the HQ host from anywhere else is blocked.
  # NO_MATCH: a missing or garbled client header is outside the list.
  dynamic "rule" {
    for_each = length(local.admin_ip_sets) > 0 ? [1] : []

    content {
      name     = "admin-allow-list"
      priority = 100

      action {
        block {}
      }

      statement {
        and_statement {
          statement {
            byte_match_statement {
              search_string         = "admin.${var.domain}"
              positional_constraint = "STARTS_WITH"

              field_to_match {
                single_header {
                  name = "host"
                }
              }

              text_transformation {
                priority = 0
                type     = "LOWERCASE"
              }
            }
          }

          dynamic "statement" {
            for_each = local.admin_ip_sets

            content {
              not_statement {
                statement {
                  ip_set_reference_statement {
                    arn = aws_wafv2_ip_set.admin[statement.key].arn

                    dynamic "ip_set_forwarded_ip_config" {
                      for_each = local.client_ip_header == null ? [] : [local.client_ip_header]

                      content {
                        header_name       = ip_set_forwarded_ip_config.value
                        fallback_behavior = "NO_MATCH"
                        position          = "FIRST"
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }

      visibility_config {
        cloudwatch_metrics_enabled = true
        metric_name                = "${var.name}-admin-allow-list"
        sampled_requests_enabled   = true
      }
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "${var.name}-public"
    sampled_requests_enabled   = true
  }

  tags = var.tags
}

resource "aws_wafv2_ip_set" "admin" {
  for_each = local.admin_ip_sets

  name               = "${var.name}-admin-${lower(each.key)}"
  description        = "Clients allowed on admin.${var.domain}"
  scope              = "REGIONAL"
  ip_address_version = each.key
  addresses          = each.value

  tags = var.tags
}

resource "aws_wafv2_web_acl_association" "public" {
  resource_arn = aws_lb.public.arn
  web_acl_arn  = aws_wafv2_web_acl.public.arn
}

# WAF requires the log group name to start with "aws-waf-logs-".
resource "aws_cloudwatch_log_group" "waf" {
  name              = "aws-waf-logs-${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn

  tags = var.tags
}

resource "aws_wafv2_web_acl_logging_configuration" "public" {
  resource_arn            = aws_wafv2_web_acl.public.arn
  log_destination_configs = [aws_cloudwatch_log_group.waf.arn]
}
