# Monitoring (ISO 27001 8.16): one alert topic, the CloudWatch alarms of
# docs/operations.md ("Alarms") and one dashboard. Every alarm's metric is
# one AWS documents for its namespace or one the app writes as EMF
# (internal/obs/emf); infra/alarms_test.go (TestAlarmsWatchEmittedMetrics) checks both.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account = data.aws_caller_identity.current.account_id
  region  = data.aws_region.current.name

  # Alarms on one metric: namespace, metric, dimensions, statistic (or an
  # extended statistic such as p99), comparison and threshold.
  ecs_alarms = merge([
    for svc, name in var.ecs_service_names : {
      "ecs-${svc}-cpu" = {
        namespace   = "AWS/ECS", metric = "CPUUtilization", dimensions = { ClusterName = var.ecs_cluster_name, ServiceName = name }
        statistic   = "Average", extended = null, op = "GreaterThanThreshold", threshold = var.thresholds.ecs_cpu_percent
        period      = 300, evaluations = 3, missing = "notBreaching"
        description = "${svc}: average CPU above ${var.thresholds.ecs_cpu_percent}% for 15 minutes."
      }
      "ecs-${svc}-memory" = {
        namespace   = "AWS/ECS", metric = "MemoryUtilization", dimensions = { ClusterName = var.ecs_cluster_name, ServiceName = name }
        statistic   = "Average", extended = null, op = "GreaterThanThreshold", threshold = var.thresholds.ecs_memory_percent
        period      = 300, evaluations = 3, missing = "notBreaching"
        description = "${svc}: average memory above ${var.thresholds.ecs_memory_percent}% for 15 minutes."
      }
    }
  ]...)

  alb_alarms = {
    for svc, d in var.target_groups : "alb-${svc}-p99" => {
      namespace   = "AWS/ApplicationELB", metric = "TargetResponseTime", dimensions = { LoadBalancer = d.load_balancer, TargetGroup = d.target_group }
      statistic   = null, extended = "p99", op = "GreaterThanThreshold", threshold = var.thresholds.alb_p99_seconds
      period      = 300, evaluations = 3, missing = "notBreaching"
      description = "${svc}: p99 target response time above ${var.thresholds.alb_p99_seconds} s for 15 minutes."
    }
  }

  db_alarms = merge([
    for k, id in var.db_instances : {
      "rds-${k}-cpu" = {
        namespace   = "AWS/RDS", metric = "CPUUtilization", dimensions = { DBInstanceIdentifier = id }
        statistic   = "Average", extended = null, op = "GreaterThanThreshold", threshold = var.thresholds.rds_cpu_percent
        period      = 300, evaluations = 3, missing = "notBreaching"
        description = "Database ${id}: CPU above ${var.thresholds.rds_cpu_percent}% for 15 minutes."
      }
      "rds-${k}-storage" = {
        namespace   = "AWS/RDS", metric = "FreeStorageSpace", dimensions = { DBInstanceIdentifier = id }
        statistic   = "Minimum", extended = null, op = "LessThanThreshold", threshold = var.thresholds.rds_free_storage_bytes
        period      = 300, evaluations = 1, missing = "breaching"
        description = "Database ${id}: less than ${var.thresholds.rds_free_storage_bytes} bytes of free storage."
      }
      "rds-${k}-connections" = {
        namespace   = "AWS/RDS", metric = "DatabaseConnections", dimensions = { DBInstanceIdentifier = id }
        statistic   = "Maximum", extended = null, op = "GreaterThanThreshold", threshold = var.thresholds.rds_connections
        period      = 300, evaluations = 2, missing = "notBreaching"
        description = "Database ${id}: more than ${var.thresholds.rds_connections} connections for 10 minutes."
      }
    }
  ]...)

  replica_alarms = {
    for k, id in var.db_replica_identifiers : "rds-replica-${k}-lag" => {
      namespace   = "AWS/RDS", metric = "ReplicaLag", dimensions = { DBInstanceIdentifier = id }
      statistic   = "Maximum", extended = null, op = "GreaterThanThreshold", threshold = var.thresholds.rds_replica_lag_seconds
      period      = 60, evaluations = 5, missing = "breaching"
      description = "Replica ${id}: more than ${var.thresholds.rds_replica_lag_seconds} s behind for 5 minutes."
    }
  }

  redis_nodes = { for i, id in var.redis_cluster_ids : format("%03d", i + 1) => id }
  redis_alarms = merge([
    for n, id in local.redis_nodes : {
      "redis-${n}-memory" = {
        namespace   = "AWS/ElastiCache", metric = "DatabaseMemoryUsagePercentage", dimensions = { CacheClusterId = id }
        statistic   = "Maximum", extended = null, op = "GreaterThanThreshold", threshold = var.thresholds.redis_memory_percent
        period      = 300, evaluations = 2, missing = "notBreaching"
        description = "Redis node ${id}: memory above ${var.thresholds.redis_memory_percent}% of maxmemory."
      }
      "redis-${n}-evictions" = {
        namespace   = "AWS/ElastiCache", metric = "Evictions", dimensions = { CacheClusterId = id }
        statistic   = "Sum", extended = null, op = "GreaterThanThreshold", threshold = 0
        period      = 300, evaluations = 1, missing = "notBreaching"
        description = "Redis node ${id}: keys evicted (sessions, throttles or jobs may be lost)."
      }
      "redis-${n}-cpu" = {
        namespace   = "AWS/ElastiCache", metric = "EngineCPUUtilization", dimensions = { CacheClusterId = id }
        statistic   = "Average", extended = null, op = "GreaterThanThreshold", threshold = var.thresholds.redis_engine_cpu_percent
        period      = 300, evaluations = 3, missing = "notBreaching"
        description = "Redis node ${id}: engine CPU above ${var.thresholds.redis_engine_cpu_percent}% for 15 minutes."
      }
    }
  ]...)

  lambda_alarms = merge([
    for k, fn in var.lambda_function_names : {
      "lambda-${k}-errors" = {
        namespace   = "AWS/Lambda", metric = "Errors", dimensions = { FunctionName = fn }
        statistic   = "Sum", extended = null, op = "GreaterThanThreshold", threshold = 0
        period      = 300, evaluations = 1, missing = "notBreaching"
        description = "Lambda ${fn}: invocations failed (for the scanner: clamd or S3 unreachable; files stay pending)."
      }
      "lambda-${k}-throttles" = {
        namespace   = "AWS/Lambda", metric = "Throttles", dimensions = { FunctionName = fn }
        statistic   = "Sum", extended = null, op = "GreaterThanThreshold", threshold = 0
        period      = 300, evaluations = 1, missing = "notBreaching"
        description = "Lambda ${fn}: invocations throttled (concurrency limit)."
      }
    }
  ]...)

  queue_alarms = {
    for k, q in var.dead_letter_queues : "sqs-${k}-dlq" => {
      namespace   = "AWS/SQS", metric = "ApproximateNumberOfMessagesVisible", dimensions = { QueueName = q }
      statistic   = "Maximum", extended = null, op = "GreaterThanThreshold", threshold = 0
      period      = 300, evaluations = 1, missing = "notBreaching"
      description = "Dead-letter queue ${q}: events that could not be delivered or processed are waiting."
    }
  }

  certificate_alarms = {
    for k, arn in var.certificates : "acm-${k}-expiry" => {
      namespace   = "AWS/CertificateManager", metric = "DaysToExpiry", dimensions = { CertificateArn = arn }
      statistic   = "Minimum", extended = null, op = "LessThanThreshold", threshold = var.thresholds.certificate_days_to_expiry
      period      = 86400, evaluations = 1, missing = "notBreaching"
      description = "Certificate expires in under ${var.thresholds.certificate_days_to_expiry} days (ACM renews DNS-validated ones itself: the validation record is missing)."
    }
  }

  # The app's own metrics (EMF, written by the worker): internal/obs/emf.Catalog.
  app_dimensions = { Service = var.worker_service, Environment = var.environment }
  app_alarms = {
    "app-queue-depth" = {
      namespace   = var.app_namespace, metric = "JobsPending", dimensions = local.app_dimensions
      statistic   = "Maximum", extended = null, op = "GreaterThanThreshold", threshold = var.thresholds.queue_depth
      period      = 300, evaluations = 3, missing = "notBreaching"
      description = "More than ${var.thresholds.queue_depth} jobs waiting for 15 minutes: workers are too few or stuck."
    }
    "app-dead-jobs" = {
      namespace   = var.app_namespace, metric = "JobsDead", dimensions = local.app_dimensions
      statistic   = "Maximum", extended = null, op = "GreaterThanThreshold", threshold = var.thresholds.dead_jobs
      period      = 300, evaluations = 1, missing = "notBreaching"
      description = "Jobs in the dead-letter queue (every attempt failed); HQ > Jobs lists them."
    }
    "app-files-pending-overdue" = {
      namespace   = var.app_namespace, metric = "FilesPendingOverdue", dimensions = local.app_dimensions
      statistic   = "Maximum", extended = null, op = "GreaterThanThreshold", threshold = var.thresholds.files_pending_overdue
      period      = 300, evaluations = 2, missing = "notBreaching"
      description = "Files pending a scan verdict longer than PALISADE_FILES_RESCAN_AFTER for 10 minutes: the scanner is not scanning."
    }
    "app-scan-errors" = {
      namespace   = var.app_namespace, metric = "FileScanErrors", dimensions = local.app_dimensions
      statistic   = "Maximum", extended = null, op = "GreaterThanThreshold", threshold = var.thresholds.scan_errors
      period      = 300, evaluations = 1, missing = "notBreaching"
      description = "Scans that ended in an Error verdict in the last hour (too large, clamd limits): those files can never be downloaded."
    }
    "app-audit-verify-failed" = {
      namespace   = var.app_namespace, metric = "AuditVerifyFailed", dimensions = local.app_dimensions
      statistic   = "Maximum", extended = null, op = "GreaterThanThreshold", threshold = 0
      period      = 300, evaluations = 1, missing = "notBreaching"
      description = "The newest audit trail verification found a break: treat as a security incident."
    }
    "app-audit-verify-overdue" = {
      namespace   = var.app_namespace, metric = "AuditVerifyAge", dimensions = local.app_dimensions
      statistic   = "Minimum", extended = null, op = "GreaterThanThreshold", threshold = var.thresholds.audit_verify_age_seconds
      period      = 3600, evaluations = 1, missing = "notBreaching"
      description = "No audit trail verification for ${var.thresholds.audit_verify_age_seconds} s: the daily job is not running."
    }
  }

  alarms = merge(local.ecs_alarms, local.alb_alarms, local.db_alarms, local.replica_alarms, local.redis_alarms,
  local.lambda_alarms, local.queue_alarms, local.certificate_alarms, local.app_alarms)
  actions = [aws_sns_topic.alerts.arn]
}

# ------------------------------------------------------------ alert topic --

data "aws_iam_policy_document" "alerts_key" {
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${local.account}:root"]
    }
  }
  # SNS encrypts with the publisher's grant: CloudWatch alarms and
  # EventBridge rules of this account must be able to use the key.
  statement {
    sid       = "AlarmsAndEventsPublish"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_kms_key" "alerts" {
  description         = "${var.name} alert topic"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.alerts_key.json
  tags                = var.tags
}

resource "aws_kms_alias" "alerts" {
  name          = "alias/${var.name}-alerts"
  target_key_id = aws_kms_key.alerts.key_id
}

resource "aws_sns_topic" "alerts" {
  name              = "${var.name}-alerts"
  kms_master_key_id = aws_kms_key.alerts.arn
  tags              = var.tags
}

data "aws_iam_policy_document" "alerts_topic" {
  statement {
    sid       = "AlarmsAndEventsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
  statement {
    sid       = "AccountManages"
    actions   = ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${local.account}:root"]
    }
  }
  statement {
    sid       = "TLSOnly"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sns_topic_policy" "alerts" {
  arn    = aws_sns_topic.alerts.arn
  policy = data.aws_iam_policy_document.alerts_topic.json
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alert_emails)

  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = each.value
}

# ----------------------------------------------------------------- alarms --

resource "aws_cloudwatch_metric_alarm" "metric" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  extended_statistic  = each.value.extended
  comparison_operator = each.value.op
  threshold           = each.value.threshold
  period              = each.value.period
  evaluation_periods  = each.value.evaluations
  treat_missing_data  = each.value.missing
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

# 5xx rate per target group: target 5xx responses over all requests.
resource "aws_cloudwatch_metric_alarm" "alb_5xx" {
  for_each = var.target_groups

  alarm_name          = "${var.name}-alb-${each.key}-5xx-rate"
  alarm_description   = "${each.key}: more than ${var.thresholds.alb_5xx_percent}% of requests answered 5xx by the targets for 10 minutes."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.thresholds.alb_5xx_percent
  evaluation_periods  = 2
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  metric_query {
    id          = "rate"
    expression  = "IF(requests > 0, 100 * errors / requests, 0)"
    label       = "5xx %"
    return_data = true
  }
  metric_query {
    id = "errors"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = { LoadBalancer = each.value.load_balancer, TargetGroup = each.value.target_group }
      stat        = "Sum"
      period      = 300
    }
  }
  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      dimensions  = { LoadBalancer = each.value.load_balancer, TargetGroup = each.value.target_group }
      stat        = "Sum"
      period      = 300
    }
  }
}

# Running below desired for 5 minutes (a deployment's brief dip is not an
# alarm): tasks crash, fail health checks or cannot be placed.
resource "aws_cloudwatch_metric_alarm" "ecs_running" {
  for_each = var.ecs_service_names

  alarm_name          = "${var.name}-ecs-${each.key}-running-below-desired"
  alarm_description   = "${each.key}: fewer tasks running than desired for 5 minutes."
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 5
  treat_missing_data  = "breaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  metric_query {
    id          = "missing"
    expression  = "desired - running"
    label       = "tasks missing"
    return_data = true
  }
  metric_query {
    id = "desired"
    metric {
      namespace   = "ECS/ContainerInsights"
      metric_name = "DesiredTaskCount"
      dimensions  = { ClusterName = var.ecs_cluster_name, ServiceName = each.value }
      stat        = "Maximum"
      period      = 60
    }
  }
  metric_query {
    id = "running"
    metric {
      namespace   = "ECS/ContainerInsights"
      metric_name = "RunningTaskCount"
      dimensions  = { ClusterName = var.ecs_cluster_name, ServiceName = each.value }
      stat        = "Minimum"
      period      = 60
    }
  }
}

# -------------------------------------------------------------- dashboard --

locals {
  tg_list  = [for svc, d in var.target_groups : { svc = svc, lb = d.load_balancer, tg = d.target_group }]
  ecs_list = [for svc, name in var.ecs_service_names : { svc = svc, name = name }]
  widget   = { width = 12, height = 6 }
  all_graphs = [
    { title = "ALB requests per service", stat = "Sum", metrics = [for t in local.tg_list : ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", t.lb, "TargetGroup", t.tg, { label = t.svc }]] },
    { title = "ALB target 5xx per service", stat = "Sum", metrics = [for t in local.tg_list : ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", t.lb, "TargetGroup", t.tg, { label = t.svc }]] },
    { title = "ALB p99 target response time (s)", stat = "p99", metrics = [for t in local.tg_list : ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", t.lb, "TargetGroup", t.tg, { label = t.svc }]] },
    { title = "ECS running tasks", stat = "Minimum", metrics = [for s in local.ecs_list : ["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", var.ecs_cluster_name, "ServiceName", s.name, { label = s.svc }]] },
    { title = "ECS CPU %", stat = "Average", metrics = [for s in local.ecs_list : ["AWS/ECS", "CPUUtilization", "ClusterName", var.ecs_cluster_name, "ServiceName", s.name, { label = s.svc }]] },
    { title = "ECS memory %", stat = "Average", metrics = [for s in local.ecs_list : ["AWS/ECS", "MemoryUtilization", "ClusterName", var.ecs_cluster_name, "ServiceName", s.name, { label = s.svc }]] },
    { title = "RDS CPU % and connections", stat = "Average", metrics = concat([for k, id in var.db_instances : ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", id]], [for k, id in var.db_instances : ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", id, { yAxis = "right" }]]) },
    { title = "RDS free storage (bytes)", stat = "Minimum", metrics = [for k, id in var.db_instances : ["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", id]] },
    { title = "Redis memory % and engine CPU %", stat = "Maximum", metrics = concat([for n, id in local.redis_nodes : ["AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "CacheClusterId", id]], [for n, id in local.redis_nodes : ["AWS/ElastiCache", "EngineCPUUtilization", "CacheClusterId", id]]) },
    { title = "Redis evictions", stat = "Sum", metrics = [for n, id in local.redis_nodes : ["AWS/ElastiCache", "Evictions", "CacheClusterId", id]] },
    { title = "Jobs: pending, retrying, dead", stat = "Maximum", metrics = [for m in ["JobsPending", "JobsRetrying", "JobsDead"] : [var.app_namespace, m, "Environment", var.environment, "Service", var.worker_service]] },
    { title = "Jobs: processed, failed, dead-lettered", stat = "Sum", metrics = [for m in ["JobsProcessed", "JobsFailed", "JobsDeadLettered"] : [var.app_namespace, m, "Environment", var.environment, "Service", var.worker_service]] },
    { title = "Files: pending past rescan, scan errors; audit verify failed", stat = "Maximum", metrics = [for m in ["FilesPendingOverdue", "FileScanErrors", "AuditVerifyFailed"] : [var.app_namespace, m, "Environment", var.environment, "Service", var.worker_service]] },
    { title = "App HTTP requests and 5xx per role", stat = "Sum", metrics = concat([for s in ["api", "web", "hq"] : [var.app_namespace, "HTTPRequests", "Environment", var.environment, "Service", s]], [for s in ["api", "web", "hq"] : [var.app_namespace, "HTTPServerErrors", "Environment", var.environment, "Service", s, { yAxis = "right" }]]) },
    { title = "Realtime connections and subscriptions", stat = "Sum", metrics = [for m in ["RealtimeConnections", "RealtimeSubscriptions"] : [var.app_namespace, m, "Environment", var.environment, "Service", "realtime"]] },
    { title = "Scanner Lambda errors, throttles; DLQ", stat = "Sum", metrics = concat([for k, fn in var.lambda_function_names : ["AWS/Lambda", "Errors", "FunctionName", fn]], [for k, fn in var.lambda_function_names : ["AWS/Lambda", "Throttles", "FunctionName", fn]], [for k, q in var.dead_letter_queues : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q, { stat = "Maximum" }]]) },
  ]
  # A widget without metrics is refused by CloudWatch (no replica, say).
  graphs = [for g in local.all_graphs : g if length(g.metrics) > 0]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = concat(
      [{
        type = "alarm", x = 0, y = 0, width = 24, height = 6
        properties = {
          title  = "Alarms"
          alarms = concat([for a in aws_cloudwatch_metric_alarm.metric : a.arn], [for a in aws_cloudwatch_metric_alarm.alb_5xx : a.arn], [for a in aws_cloudwatch_metric_alarm.ecs_running : a.arn])
        }
      }],
      [for i, g in local.graphs : {
        type       = "metric", x = (i % 2) * local.widget.width, y = 6 + floor(i / 2) * local.widget.height, width = local.widget.width, height = local.widget.height
        properties = { title = g.title, region = local.region, stat = g.stat, period = 300, view = "timeSeries", metrics = g.metrics }
      }],
    )
  })
}
