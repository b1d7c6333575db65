output "state_bucket_name" {
  description = "Bucket for the environments' backend.hcl files."
  value       = module.state_bucket.name
}

output "github_role_arns" {
  description = "Role per environment; store each as the AWS_ROLE_ARN variable of the GitHub environment of the same name."
  value       = { for name, role in aws_iam_role.github : name => role.arn }
}

output "github_plan_role_arns" {
  description = "Read-only plan role per environment; store each as the repository variable AWS_PLAN_ROLE_ARN_<ENVIRONMENT> (DEV, STAGING, PRODUCTION)."
  value       = { for name, role in aws_iam_role.github_plan : name => role.arn }
}

output "oidc_provider_arn" {
  description = "ARN of the GitHub OIDC provider the roles trust."
  value       = local.oidc_provider_arn
}
