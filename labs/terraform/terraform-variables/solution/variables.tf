variable "namespace" {
  type        = string
  description = "The lab namespace."
}

variable "replicas" {
  type        = number
  description = "How many pods the Deployment tf-api runs."
  default     = 1

  validation {
    condition     = var.replicas >= 1 && var.replicas <= 5
    error_message = "replicas must be between 1 and 5."
  }
}

variable "environment" {
  type        = string
  description = "Where this runs: dev, staging or prod."

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of dev, staging, prod."
  }
}
