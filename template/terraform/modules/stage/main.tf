# What one stage needs besides the endpoint that the deploy step creates:
# alarms that trigger automatic rollback, a topic for them, and (multi-account
# mode) the stage account's own buckets and execution role.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  partition     = data.aws_partition.current.partition
  account_id    = data.aws_caller_identity.current.account_id
  endpoint_name = "${var.resource_prefix}-${var.stage}"
  own_account   = var.account_resources == null ? [] : [var.account_resources]
}

resource "aws_kms_key" "this" {
  description             = "Encrypts the ${local.endpoint_name} alarms and captured data."
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${local.endpoint_name}"
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
    sid       = "CloudWatchEncryptsAlarmMessages"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# --------------------------------------------------------------- alarms ---

resource "aws_sns_topic" "alarms" {
  name              = "${local.endpoint_name}-alarms"
  kms_master_key_id = aws_kms_key.this.arn
  tags              = var.tags
}

data "aws_iam_policy_document" "alarms" {
  statement {
    sid       = "CloudWatchPublishesAlarms"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarms.json
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${local.endpoint_name}-invocation-5xx-errors"
  alarm_description   = "The ${local.endpoint_name} endpoint answers with server errors."
  namespace           = "AWS/SageMaker"
  metric_name         = "Invocation5XXErrors"
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags

  dimensions = {
    EndpointName = local.endpoint_name
    VariantName  = var.variant_name
  }
}

resource "aws_cloudwatch_metric_alarm" "latency" {
  alarm_name          = "${local.endpoint_name}-model-latency"
  alarm_description   = "The ${local.endpoint_name} endpoint's model answers slower than ${var.max_model_latency_ms} ms on average."
  namespace           = "AWS/SageMaker"
  metric_name         = "ModelLatency"
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = var.max_model_latency_ms * 1000
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags

  dimensions = {
    EndpointName = local.endpoint_name
    VariantName  = var.variant_name
  }
}

# ------------------------------------------ stage account (multi-account) ---

module "log_bucket" {
  source   = "../log-bucket"
  for_each = { for resources in local.own_account : "this" => resources }

  name                = each.value.log_bucket_name
  source_bucket_names = [each.value.capture_bucket_name]
  tags                = var.tags
}

module "capture_bucket" {
  source   = "../s3-bucket"
  for_each = { for resources in local.own_account : "this" => resources }

  name              = each.value.capture_bucket_name
  kms_key_arn       = aws_kms_key.this.arn
  access_log_bucket = module.log_bucket["this"].name
  lifecycle_rules = [
    { id = "data-capture", prefix = "data-capture/", expiration_days = 90 },
    { id = "monitoring", prefix = "monitoring/", expiration_days = 365, transition_ia_days = 30 },
  ]
  tags = var.tags
}

module "sagemaker_role" {
  source   = "../sagemaker-role"
  for_each = { for resources in local.own_account : "this" => resources }

  role_name   = each.value.sagemaker_role_name
  aws_region  = var.aws_region
  bucket_arns = [module.capture_bucket["this"].arn, "arn:${local.partition}:s3:::${each.value.source_artifact_bucket_name}"]
  writable_object_arns = [
    "${module.capture_bucket["this"].arn}/data-capture/*",
    "${module.capture_bucket["this"].arn}/monitoring/*",
  ]
  kms_key_arns       = [aws_kms_key.this.arn]
  ecr_repository_arn = "arn:${local.partition}:ecr:${var.aws_region}:${each.value.source_account_id}:repository/${var.resource_prefix}"
  cross_account_kms_alias = {
    account_id = each.value.source_account_id
    alias_name = "alias/${var.resource_prefix}"
  }
  tags = var.tags
}
