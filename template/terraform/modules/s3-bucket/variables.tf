variable "name" {
  description = "Name of the bucket (globally unique; lowercase letters, digits and hyphens)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.name))
    error_message = "The bucket name must be 3-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer managed KMS key that encrypts every object by default."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be the ARN of a KMS key (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "access_log_bucket" {
  description = "Name of the bucket that receives the server access logs of this bucket."
  type        = string
}

variable "lifecycle_rules" {
  description = "Object expiry by key prefix; noncurrent versions of every object expire after noncurrent_version_days."
  type = list(object({
    id                 = string
    prefix             = string
    expiration_days    = number
    transition_ia_days = optional(number)
  }))
  default = []

  validation {
    condition     = alltrue([for rule in var.lifecycle_rules : rule.expiration_days >= 1])
    error_message = "expiration_days must be at least 1 in every lifecycle rule."
  }
}

variable "noncurrent_version_days" {
  description = "Days after which an overwritten or deleted object version is removed."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_days >= 1
    error_message = "noncurrent_version_days must be at least 1."
  }
}

variable "read_principal_arns" {
  description = "IAM role ARNs in other accounts that may list the bucket and read its objects (cross-account model artefacts)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.read_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", arn))])
    error_message = "read_principal_arns must contain IAM role ARNs only."
  }
}

variable "tags" {
  description = "Tags of the bucket, on top of the provider's default tags."
  type        = map(string)
  default     = {}
}
