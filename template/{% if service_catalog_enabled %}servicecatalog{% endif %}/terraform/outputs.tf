output "portfolio_id" {
  description = "Id of the portfolio; share it with other accounts or organisational units from here."
  value       = aws_servicecatalog_portfolio.this.id
}

output "product_id" {
  description = "Id of the product (the ProductId of `aws sagemaker create-project`)."
  value       = aws_servicecatalog_product.this.id
}

output "template_url" {
  description = "HTTPS URL of the uploaded product template; also usable as a SageMaker Projects S3 template."
  value       = aws_servicecatalog_product.this.provisioning_artifact_parameters[0].template_url
}
