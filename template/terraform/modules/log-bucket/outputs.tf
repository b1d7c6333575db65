output "name" {
  description = "Name of the log bucket."
  value       = aws_s3_bucket.this.id
}

output "arn" {
  description = "ARN of the log bucket."
  value       = aws_s3_bucket.this.arn
}
