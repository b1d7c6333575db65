variable "aws_region" {
  description = "Region of the state bucket and of the project's resources."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS region code: <area>-<direction>-<number>."
  }
}

variable "aws_account_id" {
  description = "Account this bootstrap configures; Terraform refuses credentials of any other account."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id must be exactly 12 digits."
  }
}

variable "resource_prefix" {
  description = "Prefix of every resource name of the project."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}[a-z0-9]$", var.resource_prefix)) && !strcontains(var.resource_prefix, "--")
    error_message = "resource_prefix must be 2-20 lowercase letters, digits and single hyphens, starting with a letter."
  }
}

variable "state_bucket_name" {
  description = "Bucket that keeps the Terraform state of the environments in this account."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be 3-63 lowercase letters, digits or hyphens."
  }
}

variable "state_log_bucket_name" {
  description = "Bucket that receives the access logs of the state bucket."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.state_log_bucket_name))
    error_message = "state_log_bucket_name must be 3-63 lowercase letters, digits or hyphens."
  }
}

variable "github_repository" {
  description = "GitHub repository (<owner>/<name>) whose workflows may assume the environment roles."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9](-?[A-Za-z0-9]){0,38}/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must be <owner>/<name>."
  }
}

variable "create_oidc_provider" {
  description = "Create the account's GitHub OIDC provider; false when the account already has one (there can be only one per account)."
  type        = bool
  default     = true
}

variable "create_plan_roles" {
  description = <<-EOT
    Create the role <prefix>-github-plan-<environment> per environment: read-only,
    trusted by pull requests of github_repository, for the plans of the infra
    workflow. Anyone who can push a branch can then read the environment's
    state and resource settings (never bucket objects).
  EOT
  type        = bool
  default     = true
}

variable "model_registry_account_id" {
  description = "Account of the model package group <prefix>-models (the development account)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.model_registry_account_id))
    error_message = "model_registry_account_id must be exactly 12 digits."
  }
}

variable "environments" {
  description = <<-EOT
    Environments whose Terraform and deployments run in this account. Each gets
    the role <prefix>-github-<environment>, trusted only by that GitHub
    environment. name_prefix limits the resources the role manages
    (<prefix> for dev, <prefix>-<stage> for a stage); bucket_names and
    role_arns are the buckets and IAM roles its configuration creates or passes to SageMaker.
  EOT
  type = map(object({
    name_prefix  = string
    bucket_names = list(string)
    role_arns    = list(string)
  }))

  validation {
    condition     = length(var.environments) > 0 && alltrue([for name in keys(var.environments) : contains(["dev", "staging", "production"], name)])
    error_message = "environments must name at least one of dev, staging and production."
  }
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}
