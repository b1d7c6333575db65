# One deployment stage: rollback alarms for the endpoint <prefix>-<stage> and,
# in multi-account mode, the stage account's own buckets and execution role.

provider "aws" {
  region              = var.aws_region
  allowed_account_ids = [var.aws_account_id]

  default_tags {
    tags = var.tags
  }
}

module "stage" {
  source = "../../modules/stage"

  resource_prefix   = var.resource_prefix
  stage             = var.stage
  aws_region        = var.aws_region
  account_resources = var.account_resources
}
