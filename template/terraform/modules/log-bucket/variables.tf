variable "name" {
  description = "Name of the log bucket (globally unique; lowercase letters, digits and hyphens)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.name))
    error_message = "The bucket name must be 3-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit."
  }
}

variable "source_bucket_names" {
  description = "Buckets of this account whose server access logs this bucket receives."
  type        = list(string)

  validation {
    condition     = length(var.source_bucket_names) > 0
    error_message = "Name at least one bucket whose access logs come here."
  }
}

variable "access_log_days" {
  description = "Days to keep S3 server access logs (objects under s3-access/)."
  type        = number
  default     = 365

  validation {
    condition     = var.access_log_days >= 30
    error_message = "Keep access logs for at least 30 days."
  }
}

variable "data_capture_days" {
  description = "Days to keep captured endpoint requests and responses (objects under data-capture/); they hold patient records."
  type        = number
  default     = 90

  validation {
    condition     = var.data_capture_days >= 1
    error_message = "data_capture_days must be at least 1."
  }
}

variable "tags" {
  description = "Tags of the bucket, on top of the provider's default tags."
  type        = map(string)
  default     = {}
}
