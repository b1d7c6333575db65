variable "aws_region" {
  description = "Region of the portfolio and the product."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS region code: <area>-<direction>-<number>."
  }
}

variable "aws_account_id" {
  description = "Account of the portfolio; Terraform refuses credentials of any other account."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id must be exactly 12 digits."
  }
}

variable "resource_prefix" {
  description = "Prefix of the portfolio's resource names; the project key alias/<prefix> encrypts the uploaded template."
  type        = string
}

variable "product_name" {
  description = "Name of the product as SageMaker Studio and Service Catalog show it."
  type        = string

  validation {
    condition     = length(var.product_name) >= 1 && length(var.product_name) <= 100
    error_message = "product_name must have 1-100 characters."
  }
}

variable "product_owner" {
  description = "Owner of the product shown to users (a team or e-mail address)."
  type        = string
}

variable "product_version" {
  description = "Name of the provisioning artefact (the product version) users pick."
  type        = string

  validation {
    condition     = can(regex("^v[0-9]+(\\.[0-9]+)*$", var.product_version))
    error_message = "product_version must look like v1 or v1.2.0."
  }
}

variable "template_bucket_name" {
  description = "Bucket the product template is uploaded to (the project's artifact bucket)."
  type        = string
}

variable "principal_arns" {
  description = "IAM roles (for example the SageMaker Studio execution role) that may launch the product."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", arn))])
    error_message = "principal_arns must contain IAM role ARNs only."
  }
}

variable "tags" {
  description = "Tags of every resource (the provider's default tags)."
  type        = map(string)
  default     = {}
}
