output "endpoint_name" {
  description = "Name of the stage's endpoint, created by the deploy step."
  value       = local.endpoint_name
}

output "rollback_alarm_names" {
  description = "Alarms the deploy step passes as the endpoint's automatic rollback configuration."
  value       = [aws_cloudwatch_metric_alarm.errors.alarm_name, aws_cloudwatch_metric_alarm.latency.alarm_name]
}

output "alarms_topic_arn" {
  description = "SNS topic of the stage's alarms; subscribe the on-call people to it."
  value       = aws_sns_topic.alarms.arn
}

output "kms_key_arn" {
  description = "KMS key of the stage's alarms and, in multi-account mode, of its captured data (single-account mode captures with the shared key)."
  value       = aws_kms_key.this.arn
}

output "capture_bucket_name" {
  description = "Bucket of the stage's data capture in multi-account mode, or null when the shared log bucket holds it."
  value       = try(module.capture_bucket["this"].name, null)
}

output "sagemaker_role_arn" {
  description = "Execution role of the stage's endpoint in multi-account mode, or null when the shared role runs it."
  value       = try(module.sagemaker_role["this"].arn, null)
}
