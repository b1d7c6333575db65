# The development environment: the project's shared resources. Staging and
# production endpoints use the model package group and image created here.

provider "aws" {
  region              = var.aws_region
  allowed_account_ids = [var.aws_account_id]

  default_tags {
    tags = var.tags
  }
}

module "platform" {
  source = "../../modules/ml-platform"

  resource_prefix                = var.resource_prefix
  aws_region                     = var.aws_region
  buckets                        = var.buckets
  sagemaker_role                 = var.sagemaker_role
  cross_account_reader_role_arns = var.cross_account_reader_role_arns
  monthly_budget_usd             = var.monthly_budget_usd
  budget_cost_tag                = var.budget_cost_tag
  mlflow_tracking_server         = var.mlflow_tracking_server
}
