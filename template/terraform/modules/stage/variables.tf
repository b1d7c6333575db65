variable "resource_prefix" {
  description = "Prefix of every resource name; the stage's endpoint is <prefix>-<stage>."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}[a-z0-9]$", var.resource_prefix)) && !strcontains(var.resource_prefix, "--")
    error_message = "resource_prefix must be 2-20 lowercase letters, digits and single hyphens, starting with a letter."
  }
}

variable "stage" {
  description = "Deployment stage this configuration serves."
  type        = string

  validation {
    condition     = contains(["staging", "production"], var.stage)
    error_message = "stage must be staging or production."
  }
}

variable "aws_region" {
  description = "Region of the stage's endpoint."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS region code: <area>-<direction>-<number>."
  }
}

variable "variant_name" {
  description = "Production variant of the endpoint whose metrics the alarms watch (the deploy step's variant name)."
  type        = string
  default     = "AllTraffic"

  validation {
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", var.variant_name))
    error_message = "variant_name must be 1-63 letters, digits and hyphens."
  }
}

variable "max_model_latency_ms" {
  description = "Average model latency in milliseconds above which the latency alarm fires (and a deployment rolls back)."
  type        = number
  default     = 1000

  validation {
    condition     = var.max_model_latency_ms > 0
    error_message = "max_model_latency_ms must be positive."
  }
}

variable "account_resources" {
  description = "In multi-account mode, the stage account's own capture and log buckets and execution role, which reads the model from the development account's artifact bucket, key (alias/<prefix>) and repository (<prefix>); null in single-account mode."
  type = object({
    capture_bucket_name         = string
    log_bucket_name             = string
    sagemaker_role_name         = string
    source_account_id           = string
    source_artifact_bucket_name = string
  })
  default = null

  validation {
    condition     = var.account_resources == null || can(regex("^[0-9]{12}$", try(var.account_resources.source_account_id, "")))
    error_message = "account_resources.source_account_id must be a 12-digit account id."
  }
}

variable "tags" {
  description = "Tags of every resource, on top of the provider's default tags."
  type        = map(string)
  default     = {}
}
