terraform {
  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 3.2"
    }
  }

  backend "kubernetes" {
    secret_suffix = "terraform-import"
    namespace     = "lab-CHANGE-ME" # your lab namespace
  }
}
