terraform {
  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 3.2"
    }
  }

  backend "kubernetes" {
    secret_suffix = "terraform-drift"
    namespace     = "lab-CHANGE-ME" # your lab namespace
  }
}

# Credentials come from the lab kubeconfig: export KUBE_CONFIG_PATH=$PWD/lab.kubeconfig
provider "kubernetes" {}
