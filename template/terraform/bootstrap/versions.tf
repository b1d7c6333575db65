terraform {
  # 1.11 brings S3-native state locking (use_lockfile), used by every stage.
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.61"
    }
  }
}
