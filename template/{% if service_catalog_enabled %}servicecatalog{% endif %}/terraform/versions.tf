terraform {
  required_version = ">= 1.11.0"

  # Partial configuration, completed by `terraform init -backend-config=backend.hcl`.
  backend "s3" {}

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.61"
    }
  }
}
