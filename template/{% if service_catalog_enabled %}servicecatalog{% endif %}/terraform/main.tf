# The organisation product: a portfolio, the CloudFormation product made from
# ../product.yaml, and the launch role that provisions it for users who have
# no rights of their own on the resources it creates.

provider "aws" {
  region              = var.aws_region
  allowed_account_ids = [var.aws_account_id]

  default_tags {
    tags = var.tags
  }
}

data "aws_partition" "current" {}

data "aws_kms_alias" "project" {
  name = "alias/${var.resource_prefix}"
}

locals {
  partition     = data.aws_partition.current.partition
  arn_tail      = "${var.aws_region}:${var.aws_account_id}"
  template_path = "${path.module}/../product.yaml"
  template_key  = "servicecatalog/product-${filemd5(local.template_path)}.yaml"
}

resource "aws_s3_object" "template" {
  bucket     = var.template_bucket_name
  key        = local.template_key
  source     = local.template_path
  etag       = filemd5(local.template_path)
  kms_key_id = data.aws_kms_alias.project.target_key_arn
}

resource "aws_servicecatalog_portfolio" "this" {
  name          = "${var.resource_prefix}-portfolio"
  description   = "MLOps project templates of ${var.product_owner}."
  provider_name = var.product_owner
}

resource "aws_servicecatalog_product" "this" {
  name        = var.product_name
  owner       = var.product_owner
  type        = "CLOUD_FORMATION_TEMPLATE"
  description = "Heart-disease MLOps project: buckets, key, model package group, image repository and execution role."

  provisioning_artifact_parameters {
    name                        = var.product_version
    type                        = "CLOUD_FORMATION_TEMPLATE"
    template_url                = "https://${var.template_bucket_name}.s3.${var.aws_region}.amazonaws.com/${aws_s3_object.template.key}"
    disable_template_validation = false
  }

  # This tag makes the product appear under "Organization templates" in SageMaker Studio.
  tags = {
    "sagemaker:studio-visibility" = "true"
  }
}

resource "aws_servicecatalog_product_portfolio_association" "this" {
  portfolio_id = aws_servicecatalog_portfolio.this.id
  product_id   = aws_servicecatalog_product.this.id
}

resource "aws_servicecatalog_principal_portfolio_association" "this" {
  for_each = toset(var.principal_arns)

  portfolio_id  = aws_servicecatalog_portfolio.this.id
  principal_arn = each.value
}

data "aws_iam_policy_document" "launch_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["servicecatalog.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.aws_account_id]
    }
  }
}

resource "aws_iam_role" "launch" {
  name               = "${var.resource_prefix}-servicecatalog-launch"
  description        = "Provisions the ${var.product_name} product for its users."
  assume_role_policy = data.aws_iam_policy_document.launch_trust.json
}

# Product resources are named <ResourcePrefix>-..., and buckets
# <ResourcePrefix>-<account>-<region>-...; the grants follow those shapes.
data "aws_iam_policy_document" "launch" {
  statement {
    sid       = "ManageProductStacks"
    actions   = ["cloudformation:*"]
    resources = ["arn:${local.partition}:cloudformation:${local.arn_tail}:stack/SC-${var.aws_account_id}-*"]
  }

  statement {
    sid       = "ReadProductTemplate"
    actions   = ["s3:GetObject"]
    resources = ["arn:${local.partition}:s3:::${var.template_bucket_name}/servicecatalog/*"]
  }

  statement {
    sid       = "ManageProjectBuckets"
    actions   = ["s3:*"]
    resources = ["arn:${local.partition}:s3:::*-${var.aws_account_id}-${var.aws_region}-*"]
  }

  statement {
    sid       = "CreateKeys"
    actions   = ["kms:CreateKey"]
    resources = ["*"]
  }

  statement {
    sid       = "ManageProjectKeys"
    actions   = ["kms:*"]
    resources = ["arn:${local.partition}:kms:${local.arn_tail}:key/*", "arn:${local.partition}:kms:${local.arn_tail}:alias/*"]

    condition {
      test     = "StringLike"
      variable = "aws:ResourceTag/aws:cloudformation:stack-id"
      values   = ["arn:${local.partition}:cloudformation:${local.arn_tail}:stack/SC-${var.aws_account_id}-*"]
    }
  }

  statement {
    sid       = "ManageProjectRoles"
    actions   = ["iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:GetRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:PassRole"]
    resources = ["arn:${local.partition}:iam::${var.aws_account_id}:role/*-sagemaker-execution"]
  }

  statement {
    sid       = "ManageProjectRegistries"
    actions   = ["sagemaker:*"]
    resources = ["arn:${local.partition}:sagemaker:${local.arn_tail}:model-package-group/*-models"]
  }

  statement {
    sid       = "ManageProjectRepositories"
    actions   = ["ecr:*"]
    resources = ["arn:${local.partition}:ecr:${local.arn_tail}:repository/*"]
  }
}

resource "aws_iam_role_policy" "launch" {
  name   = "provision-product"
  role   = aws_iam_role.launch.id
  policy = data.aws_iam_policy_document.launch.json
}

resource "aws_servicecatalog_constraint" "launch" {
  description  = "Provision with the launch role, not the user's own rights."
  portfolio_id = aws_servicecatalog_portfolio.this.id
  product_id   = aws_servicecatalog_product.this.id
  type         = "LAUNCH"
  parameters = jsonencode({
    RoleArn = aws_iam_role.launch.arn
  })

  depends_on = [aws_servicecatalog_product_portfolio_association.this, aws_iam_role_policy.launch]
}
