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

variable "buckets" {
  description = "Names of the data, artifact and log buckets."
  type = object({
    data      = string
    artifacts = string
    logs      = string
  })
}

variable "sagemaker_role" {
  description = "SageMaker execution role: create = true makes a role called name; create = false uses the existing role arn."
  type = object({
    create = bool
    name   = optional(string)
    arn    = optional(string)
  })
}

variable "cross_account_reader_role_arns" {
  description = "Execution roles in the staging and production accounts that may read the model (multi-account mode)."
  type        = list(string)
  default     = []
}

variable "monthly_budget_usd" {
  description = "Monthly cost budget in USD; 0 creates no budget."
  type        = number
  default     = 0
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
}
