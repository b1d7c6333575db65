variable "resource_prefix" {
  description = "Prefix of every resource name: the model package group is <prefix>-models, the container repository <prefix>."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}[a-z0-9]$", var.resource_prefix)) && !strcontains(var.resource_prefix, "--")
    error_message = "resource_prefix must be 2-20 lowercase letters, digits and single hyphens, starting with a letter."
  }
}

variable "aws_region" {
  description = "Region of the project's resources."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS region code: <area>-<direction>-<number>."
  }
}

variable "buckets" {
  description = "Names of the project's buckets: raw and prepared data, pipeline artefacts, and access logs with endpoint data capture."
  type = object({
    data      = string
    artifacts = string
    logs      = string
  })

  validation {
    condition     = length(distinct([var.buckets.data, var.buckets.artifacts, var.buckets.logs])) == 3
    error_message = "The data, artifact and log buckets must be three different buckets."
  }
}

variable "sagemaker_role" {
  description = "SageMaker execution role: create = true makes a role called name; create = false uses the existing role arn."
  type = object({
    create = bool
    name   = optional(string)
    arn    = optional(string)
  })

  validation {
    condition = (
      var.sagemaker_role.create
      ? var.sagemaker_role.name != null
      : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", coalesce(var.sagemaker_role.arn, "-")))
    )
    error_message = "Give a role name when create is true, and the ARN of an existing role when it is false."
  }
}

variable "cross_account_reader_role_arns" {
  description = "Roles in the staging and production accounts that may read model artefacts, decrypt them, describe model packages and pull the image."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.cross_account_reader_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", arn))])
    error_message = "cross_account_reader_role_arns must contain IAM role ARNs only."
  }
}

variable "monthly_budget_usd" {
  description = "Monthly cost budget in USD with alerts at 80% (actual) and 100% (forecast); 0 creates no budget."
  type        = number
  default     = 0

  validation {
    condition     = var.monthly_budget_usd >= 0 && var.monthly_budget_usd <= 1000000
    error_message = "monthly_budget_usd must be within 0-1000000."
  }
}

variable "budget_cost_tag" {
  description = "Cost allocation tag that selects the project's costs for the budget; null counts every cost of the account."
  type = object({
    key   = string
    value = string
  })
  default = null
}

variable "mlflow_tracking_server" {
  description = "SageMaker managed MLflow tracking server; null creates none."
  type = object({
    size = optional(string, "Small")
  })
  default = null

  validation {
    condition     = var.mlflow_tracking_server == null || contains(["Small", "Medium", "Large"], try(var.mlflow_tracking_server.size, ""))
    error_message = "The MLflow tracking server size must be Small, Medium or Large."
  }
}

variable "tags" {
  description = "Tags of every resource, on top of the provider's default tags."
  type        = map(string)
  default     = {}
}
