output "alert_topic_arn" {
  description = "SNS topic every alarm notifies; other alarms and EventBridge rules of the account may publish to it too."
  value       = aws_sns_topic.alerts.arn
}

output "alert_key_arn" {
  description = "KMS key encrypting the alert topic."
  value       = aws_kms_key.alerts.arn
}

output "alarm_names" {
  description = "Name of every alarm, by key."
  value = merge(
    { for k, a in aws_cloudwatch_metric_alarm.metric : k => a.alarm_name },
    { for k, a in aws_cloudwatch_metric_alarm.alb_5xx : "alb-${k}-5xx-rate" => a.alarm_name },
    { for k, a in aws_cloudwatch_metric_alarm.ecs_running : "ecs-${k}-running-below-desired" => a.alarm_name },
  )
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the environment."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}
