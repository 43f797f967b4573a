terraform {
  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 3.2"
    }
  }

  # State lives in your lab, in the Secret tfstate-default-terraform-basics.
  # The grader uses the same state, with its own copy of your kubeconfig.
  backend "kubernetes" {
    secret_suffix = "terraform-basics"
    namespace     = "lab-CHANGE-ME" # your lab namespace
  }
}

# Credentials come from the lab kubeconfig: export KUBE_CONFIG_PATH=$PWD/lab.kubeconfig
provider "kubernetes" {}
