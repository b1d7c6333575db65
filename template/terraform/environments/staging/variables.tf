variable "aws_region" {
  description = "Region of the environment's resources."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS region code: <area>-<direction>-<number>."
  }
}

variable "aws_account_id" {
  description = "Account of the environment; Terraform refuses credentials of any other account."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id must be exactly 12 digits."
  }
}

variable "resource_prefix" {
  description = "Prefix of every resource name of the project."
  type        = string
}

variable "tags" {
  description = "Tags of every resource (the provider's default tags)."
  type        = map(string)
  default     = {}
}

variable "stage" {
  description = "Stage of this configuration (staging or production)."
  type        = string
}

variable "account_resources" {
  description = "Multi-account mode: the stage account's capture and log buckets, execution role and the development account it reads the model from; null in single-account mode."
  type = object({
    capture_bucket_name         = string
    log_bucket_name             = string
    sagemaker_role_name         = string
    source_account_id           = string
    source_artifact_bucket_name = string
  })
  default = null
}
