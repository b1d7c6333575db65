# Everything a use case shares across stages, created in the development
# account: the key, the buckets, the execution role, the model package group,
# the container repository, notifications and the optional budget and MLflow.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  partition           = data.aws_partition.current.partition
  account_id          = data.aws_caller_identity.current.account_id
  model_package_group = "${var.resource_prefix}-models"
  pipeline_name       = "${var.resource_prefix}-pipeline"
  reader_account_ids  = distinct([for arn in var.cross_account_reader_role_arns : split(":", arn)[4]])
  reader_account_roots = [
    for account_id in local.reader_account_ids : "arn:${local.partition}:iam::${account_id}:root"
  ]
  sagemaker_role_arn = var.sagemaker_role.create ? module.sagemaker_role[0].arn : var.sagemaker_role.arn
}

# ------------------------------------------------------------------ key ---

resource "aws_kms_key" "this" {
  description             = "Encrypts the ${var.resource_prefix} data, artefacts, image and notifications."
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.resource_prefix}"
  target_key_id = aws_kms_key.this.key_id
}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:A key policy's "*" resource is the key itself; the account root statement hands access control to IAM.
  #checkov:skip=CKV_AWS_111:A key policy's "*" resource is the key itself; the account root statement hands access control to IAM.
  #checkov:skip=CKV_AWS_356:A key policy's "*" resource is the key itself.
  statement {
    sid       = "AccountAdministersKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "NotificationServicesEncryptMessages"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "budgets.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  dynamic "statement" {
    for_each = length(local.reader_account_roots) == 0 ? [] : [local.reader_account_roots]

    content {
      sid       = "StageAccountsDecryptArtefacts"
      actions   = ["kms:Decrypt", "kms:DescribeKey"]
      resources = ["*"]

      principals {
        type        = "AWS"
        identifiers = statement.value
      }

      condition {
        test     = "ArnEquals"
        variable = "aws:PrincipalArn"
        values   = var.cross_account_reader_role_arns
      }

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${var.aws_region}.amazonaws.com", "ecr.${var.aws_region}.amazonaws.com"]
      }
    }
  }
}

# -------------------------------------------------------------- buckets ---

module "log_bucket" {
  source = "../log-bucket"

  name                = var.buckets.logs
  source_bucket_names = [var.buckets.data, var.buckets.artifacts]
  tags                = var.tags
}

module "data_bucket" {
  source = "../s3-bucket"

  name              = var.buckets.data
  kms_key_arn       = aws_kms_key.this.arn
  access_log_bucket = module.log_bucket.name
  tags              = var.tags
}

module "artifact_bucket" {
  source = "../s3-bucket"

  name                = var.buckets.artifacts
  kms_key_arn         = aws_kms_key.this.arn
  access_log_bucket   = module.log_bucket.name
  read_principal_arns = var.cross_account_reader_role_arns
  tags                = var.tags
}

# -------------------------------------------------------- execution role ---

module "sagemaker_role" {
  source = "../sagemaker-role"
  count  = var.sagemaker_role.create ? 1 : 0

  role_name   = var.sagemaker_role.name
  aws_region  = var.aws_region
  bucket_arns = [module.data_bucket.arn, module.artifact_bucket.arn, module.log_bucket.arn]
  writable_object_arns = [
    "${module.artifact_bucket.arn}/*",
    "${module.data_bucket.arn}/prepared/*",
    "${module.log_bucket.arn}/data-capture/*",
    "${module.log_bucket.arn}/monitoring/*",
  ]
  kms_key_arns       = [aws_kms_key.this.arn]
  ecr_repository_arn = aws_ecr_repository.this.arn
  pipeline = {
    pipeline_name            = local.pipeline_name
    model_package_group_name = local.model_package_group
  }
  tags = var.tags
}

# ------------------------------------------------------- model registry ---

resource "aws_sagemaker_model_package_group" "this" {
  model_package_group_name        = local.model_package_group
  model_package_group_description = "Model packages of ${var.resource_prefix}; approval here starts the deployment."
  tags                            = var.tags
}

data "aws_iam_policy_document" "model_package_group" {
  count = length(local.reader_account_roots) == 0 ? 0 : 1

  statement {
    sid = "StageAccountsReadModelPackages"
    actions = [
      "sagemaker:DescribeModelPackage",
      "sagemaker:DescribeModelPackageGroup",
      "sagemaker:ListModelPackages",
    ]
    resources = [
      aws_sagemaker_model_package_group.this.arn,
      "arn:${local.partition}:sagemaker:${var.aws_region}:${local.account_id}:model-package/${local.model_package_group}/*",
    ]

    principals {
      type        = "AWS"
      identifiers = local.reader_account_roots
    }
  }
}

resource "aws_sagemaker_model_package_group_policy" "this" {
  count = length(local.reader_account_roots) == 0 ? 0 : 1

  model_package_group_name = aws_sagemaker_model_package_group.this.model_package_group_name
  resource_policy          = data.aws_iam_policy_document.model_package_group[0].json
}

# ------------------------------------------------------ container image ---

resource "aws_ecr_repository" "this" {
  name                 = var.resource_prefix
  image_tag_mutability = "IMMUTABLE"
  tags                 = var.tags

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.this.arn
  }
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the 50 newest images; deployed images are far fewer."
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = 50
      }
      action = { type = "expire" }
    }]
  })
}

data "aws_iam_policy_document" "ecr" {
  count = length(local.reader_account_roots) == 0 ? 0 : 1

  statement {
    sid = "StageAccountsPullImage"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]

    principals {
      type        = "AWS"
      identifiers = local.reader_account_roots
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:PrincipalArn"
      values   = var.cross_account_reader_role_arns
    }
  }
}

resource "aws_ecr_repository_policy" "this" {
  count = length(local.reader_account_roots) == 0 ? 0 : 1

  repository = aws_ecr_repository.this.name
  policy     = data.aws_iam_policy_document.ecr[0].json
}

# -------------------------------------------------------- notifications ---

resource "aws_sns_topic" "notifications" {
  name              = "${var.resource_prefix}-notifications"
  kms_master_key_id = aws_kms_key.this.arn
  tags              = var.tags
}

data "aws_iam_policy_document" "notifications" {
  statement {
    sid       = "EventBridgePublishesModelPackageChanges"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.model_package_state.arn]
    }
  }

  statement {
    sid       = "BudgetsPublishAlerts"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]

    principals {
      type        = "Service"
      identifiers = ["budgets.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "notifications" {
  arn    = aws_sns_topic.notifications.arn
  policy = data.aws_iam_policy_document.notifications.json
}

resource "aws_cloudwatch_event_rule" "model_package_state" {
  name        = "${var.resource_prefix}-model-package-state"
  description = "A model package of ${local.model_package_group} was registered, approved or rejected."
  tags        = var.tags
  event_pattern = jsonencode({
    source        = ["aws.sagemaker"]
    "detail-type" = ["SageMaker Model Package State Change"]
    detail = {
      ModelPackageGroupName = [local.model_package_group]
    }
  })
}

resource "aws_cloudwatch_event_target" "model_package_state" {
  rule      = aws_cloudwatch_event_rule.model_package_state.name
  target_id = "notifications"
  arn       = aws_sns_topic.notifications.arn
}

# --------------------------------------------------------------- budget ---

resource "aws_budgets_budget" "this" {
  count = var.monthly_budget_usd > 0 ? 1 : 0

  name         = "${var.resource_prefix}-monthly"
  budget_type  = "COST"
  limit_amount = format("%.2f", var.monthly_budget_usd)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"
  tags         = var.tags

  dynamic "cost_filter" {
    for_each = var.budget_cost_tag == null ? [] : [var.budget_cost_tag]

    content {
      name   = "TagKeyValue"
      values = [format("user:%s$%s", cost_filter.value.key, cost_filter.value.value)]
    }
  }

  notification {
    comparison_operator       = "GREATER_THAN"
    threshold                 = 80
    threshold_type            = "PERCENTAGE"
    notification_type         = "ACTUAL"
    subscriber_sns_topic_arns = [aws_sns_topic.notifications.arn]
  }

  notification {
    comparison_operator       = "GREATER_THAN"
    threshold                 = 100
    threshold_type            = "PERCENTAGE"
    notification_type         = "FORECASTED"
    subscriber_sns_topic_arns = [aws_sns_topic.notifications.arn]
  }
}

# --------------------------------------------------------------- MLflow ---

data "aws_iam_policy_document" "mlflow_trust" {
  count = var.mlflow_tracking_server == null ? 0 : 1

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "mlflow" {
  count = var.mlflow_tracking_server == null ? 0 : 1

  name               = "${var.resource_prefix}-mlflow"
  description        = "Lets the MLflow tracking server store experiment artefacts."
  assume_role_policy = data.aws_iam_policy_document.mlflow_trust[0].json
  tags               = var.tags
}

data "aws_iam_policy_document" "mlflow" {
  count = var.mlflow_tracking_server == null ? 0 : 1

  statement {
    sid       = "ListArtifactBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [module.artifact_bucket.arn]
  }

  statement {
    sid       = "ReadWriteMlflowArtefacts"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${module.artifact_bucket.arn}/mlflow/*"]
  }

  statement {
    sid       = "UseProjectKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [aws_kms_key.this.arn]
  }
}

resource "aws_iam_role_policy" "mlflow" {
  count = var.mlflow_tracking_server == null ? 0 : 1

  name   = "mlflow-artefacts"
  role   = aws_iam_role.mlflow[0].id
  policy = data.aws_iam_policy_document.mlflow[0].json
}

resource "aws_sagemaker_mlflow_tracking_server" "this" {
  count = var.mlflow_tracking_server == null ? 0 : 1

  tracking_server_name         = "${var.resource_prefix}-mlflow"
  tracking_server_size         = var.mlflow_tracking_server.size
  artifact_store_uri           = "s3://${module.artifact_bucket.name}/mlflow"
  role_arn                     = aws_iam_role.mlflow[0].arn
  automatic_model_registration = false
  tags                         = var.tags
}
