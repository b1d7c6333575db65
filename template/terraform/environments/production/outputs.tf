output "endpoint_name" {
  description = "Name of the stage's endpoint."
  value       = module.stage.endpoint_name
}

output "rollback_alarm_names" {
  description = "Alarms for the endpoint's automatic rollback."
  value       = module.stage.rollback_alarm_names
}

output "alarms_topic_arn" {
  description = "SNS topic of the stage's alarms."
  value       = module.stage.alarms_topic_arn
}

output "kms_key_arn" {
  description = "KMS key of the stage."
  value       = module.stage.kms_key_arn
}

output "capture_bucket_name" {
  description = "Data capture bucket of the stage in multi-account mode, or null."
  value       = module.stage.capture_bucket_name
}

output "sagemaker_role_arn" {
  description = "Execution role of the stage in multi-account mode, or null."
  value       = module.stage.sagemaker_role_arn
}
