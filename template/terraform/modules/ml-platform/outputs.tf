output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the data and artifact buckets, the image and the notifications."
  value       = aws_kms_key.this.arn
}

output "bucket_names" {
  description = "Names of the data, artifact and log buckets."
  value = {
    data      = module.data_bucket.name
    artifacts = module.artifact_bucket.name
    logs      = module.log_bucket.name
  }
}

output "sagemaker_role_arn" {
  description = "ARN of the SageMaker execution role (created here or given)."
  value       = local.sagemaker_role_arn
}

output "model_package_group_arn" {
  description = "ARN of the model package group <prefix>-models."
  value       = aws_sagemaker_model_package_group.this.arn
}

output "ecr_repository_url" {
  description = "URL of the container repository to push the project image to."
  value       = aws_ecr_repository.this.repository_url
}

output "notifications_topic_arn" {
  description = "SNS topic that receives model package state changes and budget alerts; subscribe the team to it."
  value       = aws_sns_topic.notifications.arn
}

output "mlflow_tracking_server_arn" {
  description = "ARN of the MLflow tracking server, or null when none was requested."
  value       = one(aws_sagemaker_mlflow_tracking_server.this[*].arn)
}
