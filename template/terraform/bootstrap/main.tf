# Run once per AWS account, by a person with administrator rights, before any
# environment: the state bucket and the GitHub OIDC roles that every later
# plan, apply and deployment uses (a deploy role and a read-only plan role per
# environment). No IAM users and no access keys.

provider "aws" {
  region              = var.aws_region
  allowed_account_ids = [var.aws_account_id]

  default_tags {
    tags = var.tags
  }
}

data "aws_partition" "current" {}

locals {
  partition         = data.aws_partition.current.partition
  github_host       = "token.actions.githubusercontent.com"
  oidc_provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn
  arn_tail          = "${var.aws_region}:${var.aws_account_id}"
  registry_arn      = "arn:${local.partition}:sagemaker:${var.aws_region}:${var.model_registry_account_id}"
  plan_environments = var.create_plan_roles ? var.environments : {}
}

# ---------------------------------------------------------------- state ---

resource "aws_kms_key" "state" {
  description             = "Encrypts the Terraform state of ${var.resource_prefix}."
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.state_key.json
}

resource "aws_kms_alias" "state" {
  name          = "alias/${var.resource_prefix}-tfstate"
  target_key_id = aws_kms_key.state.key_id
}

data "aws_iam_policy_document" "state_key" {
  #checkov:skip=CKV_AWS_109:A key policy's "*" resource is the key itself; the account root statement hands access control to IAM.
  #checkov:skip=CKV_AWS_111:A key policy's "*" resource is the key itself; the account root statement hands access control to IAM.
  #checkov:skip=CKV_AWS_356:A key policy's "*" resource is the key itself.
  statement {
    sid       = "AccountAdministersKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${var.aws_account_id}:root"]
    }
  }
}

module "state_log_bucket" {
  source = "../modules/log-bucket"

  name                = var.state_log_bucket_name
  source_bucket_names = [var.state_bucket_name]
}

module "state_bucket" {
  source = "../modules/s3-bucket"

  name                    = var.state_bucket_name
  kms_key_arn             = aws_kms_key.state.arn
  access_log_bucket       = module.state_log_bucket.name
  noncurrent_version_days = 365
}

# ----------------------------------------------------------- GitHub OIDC ---

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = "https://${local.github_host}"
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 0 : 1

  url = "https://${local.github_host}"
}

data "aws_iam_policy_document" "github_trust" {
  for_each = var.environments

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    # Only jobs that run in this GitHub environment, whose protection rules
    # (reviewers, branches) decide who may deploy.
    condition {
      test     = "StringEquals"
      variable = "${local.github_host}:sub"
      values   = ["repo:${var.github_repository}:environment:${each.key}"]
    }
  }
}

resource "aws_iam_role" "github" {
  for_each = var.environments

  name                 = "${var.resource_prefix}-github-${each.key}"
  description          = "Terraform and deployments of ${var.resource_prefix} ${each.key}, from GitHub Actions."
  assume_role_policy   = data.aws_iam_policy_document.github_trust[each.key].json
  max_session_duration = 3600
}

# TODO(a permissions boundary policy exists for the project's roles): require
# it on iam:CreateRole and iam:PutRolePolicy so that a deploy role cannot
# create a role stronger than itself under its own name prefix.
data "aws_iam_policy_document" "github" {
  for_each = var.environments

  statement {
    sid       = "ListOwnState"
    actions   = ["s3:ListBucket"]
    resources = [module.state_bucket.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.resource_prefix}/${each.key}/*"]
    }
  }

  statement {
    sid       = "ReadWriteOwnState"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${module.state_bucket.arn}/${var.resource_prefix}/${each.key}/*"]
  }

  statement {
    sid       = "UseStateKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [aws_kms_key.state.arn]
  }

  # IAM rejects a statement without resources: a stage that shares the
  # development account has no buckets of its own, and no statement.
  dynamic "statement" {
    for_each = length(each.value.bucket_names) > 0 ? [each.value.bucket_names] : []

    content {
      sid     = "ManageOwnBuckets"
      actions = ["s3:*"]
      resources = flatten([
        for name in statement.value : ["arn:${local.partition}:s3:::${name}", "arn:${local.partition}:s3:::${name}/*"]
      ])
    }
  }

  statement {
    sid       = "CreateKeys"
    actions   = ["kms:CreateKey", "kms:ListAliases"]
    resources = ["*"]
  }

  statement {
    sid       = "ManageOwnKeys"
    actions   = ["kms:*"]
    resources = ["arn:${local.partition}:kms:${local.arn_tail}:key/*"]

    condition {
      test     = "ForAnyValue:StringLike"
      variable = "kms:ResourceAliases"
      values   = ["alias/${each.value.name_prefix}", "alias/${each.value.name_prefix}-*"]
    }
  }

  statement {
    sid     = "ManageOwnKeyAliases"
    actions = ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"]
    resources = [
      "arn:${local.partition}:kms:${local.arn_tail}:alias/${each.value.name_prefix}",
      "arn:${local.partition}:kms:${local.arn_tail}:alias/${each.value.name_prefix}-*",
      "arn:${local.partition}:kms:${local.arn_tail}:key/*",
    ]
  }

  statement {
    sid = "ManageOwnRoles"
    actions = [
      "iam:CreateRole",
      "iam:DeleteRole",
      "iam:DeleteRolePolicy",
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole",
      "iam:ListRolePolicies",
      "iam:PassRole",
      "iam:PutRolePolicy",
      "iam:TagRole",
      "iam:UntagRole",
      "iam:UpdateAssumeRolePolicy",
      "iam:UpdateRole",
    ]
    resources = concat(
      ["arn:${local.partition}:iam::${var.aws_account_id}:role/${each.value.name_prefix}-*"],
      each.value.role_arns,
    )
  }

  statement {
    sid     = "ManageOwnSageMakerResources"
    actions = ["sagemaker:*"]
    resources = [
      "arn:${local.partition}:sagemaker:${local.arn_tail}:*/${each.value.name_prefix}",
      "arn:${local.partition}:sagemaker:${local.arn_tail}:*/${each.value.name_prefix}-*",
    ]
  }

  statement {
    sid = "ReadModelRegistry"
    actions = [
      "sagemaker:DescribeModelPackage",
      "sagemaker:DescribeModelPackageGroup",
      "sagemaker:ListModelPackages",
    ]
    resources = [
      "${local.registry_arn}:model-package-group/${var.resource_prefix}-models",
      "${local.registry_arn}:model-package/${var.resource_prefix}-models/*",
    ]
  }

  statement {
    sid = "ListSageMakerResources"
    actions = [
      "sagemaker:ListEndpointConfigs",
      "sagemaker:ListEndpoints",
      "sagemaker:ListModelPackageGroups",
      "sagemaker:ListModels",
      "sagemaker:ListPipelines",
      "sagemaker:Search",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "AuthenticateToEcr"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "ManageOwnRepository"
    actions   = ["ecr:*"]
    resources = ["arn:${local.partition}:ecr:${local.arn_tail}:repository/${each.value.name_prefix}"]
  }

  statement {
    sid     = "ManageOwnNotificationsAndAlarms"
    actions = ["sns:*", "events:*", "cloudwatch:*Alarm*", "cloudwatch:ListTagsForResource", "cloudwatch:TagResource", "cloudwatch:UntagResource"]
    resources = [
      "arn:${local.partition}:sns:${local.arn_tail}:${each.value.name_prefix}-*",
      "arn:${local.partition}:events:${local.arn_tail}:rule/${each.value.name_prefix}-*",
      "arn:${local.partition}:cloudwatch:${local.arn_tail}:alarm:${each.value.name_prefix}-*",
    ]
  }

  statement {
    sid       = "ManageOwnBudget"
    actions   = ["budgets:*"]
    resources = ["arn:${local.partition}:budgets::${var.aws_account_id}:budget/${each.value.name_prefix}-*"]
  }
}

resource "aws_iam_role_policy" "github" {
  for_each = var.environments

  name   = "terraform-and-deploy"
  role   = aws_iam_role.github[each.key].id
  policy = data.aws_iam_policy_document.github[each.key].json
}

# -------------------------------------------------------- GitHub plans ---

# Plans of pull requests run provider code from the branch under review, so
# their roles can change nothing: no write action, no lock file (the workflow
# plans with -lock=false; a plan never writes state, and one that races an
# apply is only stale), and no object reads outside the state.

data "aws_iam_policy_document" "github_plan_trust" {
  for_each = local.plan_environments

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    # Jobs of pull requests from branches of this repository; GitHub gives
    # pull requests from forks no token.
    condition {
      test     = "StringEquals"
      variable = "${local.github_host}:sub"
      values   = ["repo:${var.github_repository}:pull_request"]
    }
  }
}

resource "aws_iam_role" "github_plan" {
  for_each = local.plan_environments

  name                 = "${var.resource_prefix}-github-plan-${each.key}"
  description          = "Read-only Terraform plans of ${var.resource_prefix} ${each.key}, from GitHub pull requests."
  assume_role_policy   = data.aws_iam_policy_document.github_plan_trust[each.key].json
  max_session_duration = 3600
}

# Reads the settings of what the environment's deploy role manages (same name
# prefixes), nothing more. Not the managed ReadOnlyAccess: it reads every
# object of every bucket of the account, patient data included. Not
# ViewOnlyAccess either: it describes every resource of the account, yet
# leaves out reads the AWS provider makes (key policies, inline role
# policies), so these statements would be needed besides it.
data "aws_iam_policy_document" "github_plan" {
  for_each = local.plan_environments

  statement {
    sid       = "ListOwnState"
    actions   = ["s3:ListBucket"]
    resources = [module.state_bucket.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.resource_prefix}/${each.key}/*"]
    }
  }

  statement {
    sid       = "ReadOwnState"
    actions   = ["s3:GetObject"]
    resources = ["${module.state_bucket.arn}/${var.resource_prefix}/${each.key}/*"]
  }

  statement {
    sid       = "DecryptState"
    actions   = ["kms:Decrypt", "kms:DescribeKey"]
    resources = [aws_kms_key.state.arn]
  }

  # Bucket ARNs only: object reads (s3:GetObject) need an object ARN, so the
  # data stays out of reach. s3:ListBucket is what HeadBucket asks for; it
  # lists object names, not contents.
  dynamic "statement" {
    for_each = length(each.value.bucket_names) > 0 ? [each.value.bucket_names] : []

    content {
      sid       = "ReadOwnBucketSettings"
      actions   = ["s3:Get*", "s3:ListBucket"]
      resources = [for name in statement.value : "arn:${local.partition}:s3:::${name}"]
    }
  }

  statement {
    sid       = "ListKeyAliases"
    actions   = ["kms:ListAliases"]
    resources = ["*"]
  }

  statement {
    sid       = "ReadOwnKeys"
    actions   = ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"]
    resources = ["arn:${local.partition}:kms:${local.arn_tail}:key/*"]

    condition {
      test     = "ForAnyValue:StringLike"
      variable = "kms:ResourceAliases"
      values   = ["alias/${each.value.name_prefix}", "alias/${each.value.name_prefix}-*"]
    }
  }

  statement {
    sid     = "ReadOwnRoles"
    actions = ["iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies"]
    resources = concat(
      ["arn:${local.partition}:iam::${var.aws_account_id}:role/${each.value.name_prefix}-*"],
      each.value.role_arns,
    )
  }

  statement {
    sid     = "ReadOwnSageMakerResources"
    actions = ["sagemaker:Describe*", "sagemaker:GetModelPackageGroupPolicy", "sagemaker:ListTags"]
    resources = [
      "arn:${local.partition}:sagemaker:${local.arn_tail}:*/${each.value.name_prefix}",
      "arn:${local.partition}:sagemaker:${local.arn_tail}:*/${each.value.name_prefix}-*",
    ]
  }

  statement {
    sid       = "ReadOwnRepository"
    actions   = ["ecr:DescribeRepositories", "ecr:GetLifecyclePolicy", "ecr:GetRepositoryPolicy", "ecr:ListTagsForResource"]
    resources = ["arn:${local.partition}:ecr:${local.arn_tail}:repository/${each.value.name_prefix}"]
  }

  statement {
    sid       = "ReadOwnTopics"
    actions   = ["sns:GetDataProtectionPolicy", "sns:GetTopicAttributes", "sns:ListTagsForResource"]
    resources = ["arn:${local.partition}:sns:${local.arn_tail}:${each.value.name_prefix}-*"]
  }

  statement {
    sid       = "ReadOwnEventRules"
    actions   = ["events:DescribeRule", "events:ListTagsForResource", "events:ListTargetsByRule"]
    resources = ["arn:${local.partition}:events:${local.arn_tail}:rule/${each.value.name_prefix}-*"]
  }

  statement {
    sid       = "ReadOwnAlarms"
    actions   = ["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"]
    resources = ["arn:${local.partition}:cloudwatch:${local.arn_tail}:alarm:${each.value.name_prefix}-*"]
  }

  statement {
    sid       = "ReadOwnBudget"
    actions   = ["budgets:ListTagsForResource", "budgets:ViewBudget"]
    resources = ["arn:${local.partition}:budgets::${var.aws_account_id}:budget/${each.value.name_prefix}-*"]
  }
}

resource "aws_iam_role_policy" "github_plan" {
  for_each = local.plan_environments

  name   = "terraform-plan"
  role   = aws_iam_role.github_plan[each.key].id
  policy = data.aws_iam_policy_document.github_plan[each.key].json
}
