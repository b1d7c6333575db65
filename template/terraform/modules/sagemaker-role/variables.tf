variable "role_name" {
  description = "Name of the SageMaker execution role."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "role_name must be 1-64 letters, digits or +=,.@_- characters."
  }
}

variable "aws_region" {
  description = "Region of the SageMaker jobs, endpoints and log groups the role works with."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS region code: <area>-<direction>-<number>."
  }
}

variable "bucket_arns" {
  description = "Buckets the role may list and read objects from."
  type        = list(string)

  validation {
    condition     = alltrue([for arn in var.bucket_arns : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", arn))])
    error_message = "bucket_arns must contain S3 bucket ARNs (arn:aws:s3:::<bucket>)."
  }
}

variable "writable_object_arns" {
  description = "Object ARN patterns the role may write, e.g. every key of the artifact bucket or the data-capture/ prefix of the log bucket."
  type        = list(string)

  validation {
    condition     = alltrue([for arn in var.writable_object_arns : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9-]{1,61}[a-z0-9]/.+$", arn))])
    error_message = "writable_object_arns must contain object ARN patterns (arn:aws:s3:::<bucket>/<prefix>*)."
  }
}

variable "kms_key_arns" {
  description = "KMS keys that encrypt the buckets and the container repository the role uses."
  type        = list(string)

  validation {
    condition     = alltrue([for arn in var.kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]+$", arn))])
    error_message = "kms_key_arns must contain KMS key ARNs."
  }
}

variable "ecr_repository_arn" {
  description = "Container repository of the project image the jobs and endpoints run."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{12}:repository/.+$", var.ecr_repository_arn))
    error_message = "ecr_repository_arn must be an ECR repository ARN."
  }
}

variable "cross_account_kms_alias" {
  description = "Key in another account (the development account's artefact key) the role may decrypt with, selected by its alias; the key policy there names this role."
  type = object({
    account_id = string
    alias_name = string
  })
  default = null

  validation {
    condition     = var.cross_account_kms_alias == null || (can(regex("^[0-9]{12}$", try(var.cross_account_kms_alias.account_id, ""))) && startswith(try(var.cross_account_kms_alias.alias_name, ""), "alias/"))
    error_message = "cross_account_kms_alias needs a 12-digit account_id and an alias_name starting with alias/."
  }
}

variable "pipeline" {
  description = "When set, the role may also run the SageMaker Pipeline: its processing and training jobs and the registration into the model package group."
  type = object({
    pipeline_name            = string
    model_package_group_name = string
  })
  default = null
}

variable "tags" {
  description = "Tags of the role, on top of the provider's default tags."
  type        = map(string)
  default     = {}
}
