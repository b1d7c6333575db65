output "name" {
  description = "Name of the SageMaker execution role."
  value       = aws_iam_role.this.name
}

output "arn" {
  description = "ARN of the SageMaker execution role."
  value       = aws_iam_role.this.arn
}
