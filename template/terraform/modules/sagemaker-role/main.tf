# The execution role of SageMaker jobs and endpoints: only the project's
# buckets, keys, image, log groups and (for the pipeline) model package group.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  sagemaker  = "arn:${local.partition}:sagemaker:${var.aws_region}:${local.account_id}"
}

data "aws_iam_policy_document" "trust" {
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

resource "aws_iam_role" "this" {
  name                 = var.role_name
  description          = "Runs the project's SageMaker jobs and endpoints."
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600
  tags                 = var.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "ListProjectBuckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = var.bucket_arns
  }

  statement {
    sid       = "ReadProjectObjects"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = [for arn in var.bucket_arns : "${arn}/*"]
  }

  statement {
    sid       = "WriteProjectObjects"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = var.writable_object_arns
  }

  statement {
    sid       = "UseProjectKeys"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = var.kms_key_arns
  }

  dynamic "statement" {
    for_each = var.cross_account_kms_alias == null ? [] : [var.cross_account_kms_alias]

    content {
      sid       = "DecryptSourceArtefacts"
      actions   = ["kms:Decrypt", "kms:DescribeKey"]
      resources = ["arn:${local.partition}:kms:${var.aws_region}:${statement.value.account_id}:key/*"]

      condition {
        test     = "ForAnyValue:StringEquals"
        variable = "kms:ResourceAliases"
        values   = [statement.value.alias_name]
      }
    }
  }

  statement {
    sid       = "AuthenticateToEcr"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullProjectImage"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    resources = [var.ecr_repository_arn]
  }

  statement {
    sid = "WriteSageMakerLogs"
    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:DescribeLogStreams",
      "logs:PutLogEvents",
    ]
    resources = [
      "arn:${local.partition}:logs:${var.aws_region}:${local.account_id}:log-group:/aws/sagemaker/*",
      "arn:${local.partition}:logs:${var.aws_region}:${local.account_id}:log-group:/aws/sagemaker/*:log-stream:*",
    ]
  }

  statement {
    sid       = "PublishSageMakerMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringLike"
      variable = "cloudwatch:namespace"
      values   = ["/aws/sagemaker/*", "aws/sagemaker/*"]
    }
  }

  dynamic "statement" {
    for_each = var.pipeline == null ? [] : [var.pipeline]

    content {
      sid = "RunPipelineJobs"
      actions = [
        "sagemaker:AddTags",
        "sagemaker:CreateProcessingJob",
        "sagemaker:CreateTrainingJob",
        "sagemaker:DescribeProcessingJob",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:StopProcessingJob",
        "sagemaker:StopTrainingJob",
      ]
      resources = [
        "${local.sagemaker}:processing-job/*",
        "${local.sagemaker}:training-job/*",
      ]
    }
  }

  dynamic "statement" {
    for_each = var.pipeline == null ? [] : [var.pipeline]

    content {
      sid = "RegisterModelPackages"
      actions = [
        "sagemaker:AddTags",
        "sagemaker:CreateModelPackage",
        "sagemaker:DescribeModelPackage",
        "sagemaker:DescribeModelPackageGroup",
        "sagemaker:ListModelPackages",
      ]
      resources = [
        "${local.sagemaker}:model-package-group/${statement.value.model_package_group_name}",
        "${local.sagemaker}:model-package/${statement.value.model_package_group_name}/*",
      ]
    }
  }

  dynamic "statement" {
    for_each = var.pipeline == null ? [] : [var.pipeline]

    content {
      sid = "ReadOwnPipeline"
      actions = [
        "sagemaker:DescribePipeline",
        "sagemaker:DescribePipelineExecution",
        "sagemaker:ListPipelineExecutionSteps",
      ]
      resources = [
        "${local.sagemaker}:pipeline/${statement.value.pipeline_name}",
        "${local.sagemaker}:pipeline/${statement.value.pipeline_name}/execution/*",
      ]
    }
  }

  dynamic "statement" {
    for_each = var.pipeline == null ? [] : [var.pipeline]

    content {
      sid       = "PassSelfToPipelineJobs"
      actions   = ["iam:PassRole"]
      resources = [aws_iam_role.this.arn]

      condition {
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = ["sagemaker.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "sagemaker-execution"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}
