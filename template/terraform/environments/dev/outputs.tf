output "kms_key_arn" {
  description = "ARN of the project's KMS key."
  value       = module.platform.kms_key_arn
}

output "bucket_names" {
  description = "Names of the data, artifact and log buckets."
  value       = module.platform.bucket_names
}

output "sagemaker_role_arn" {
  description = "ARN of the SageMaker execution role."
  value       = module.platform.sagemaker_role_arn
}

output "model_package_group_arn" {
  description = "ARN of the model package group."
  value       = module.platform.model_package_group_arn
}

output "ecr_repository_url" {
  description = "URL of the container repository of the project image."
  value       = module.platform.ecr_repository_url
}

output "notifications_topic_arn" {
  description = "SNS topic of model package state changes and budget alerts."
  value       = module.platform.notifications_topic_arn
}

output "mlflow_tracking_server_arn" {
  description = "ARN of the MLflow tracking server, or null."
  value       = module.platform.mlflow_tracking_server_arn
}
