resource "kubernetes_deployment_v1" "api" {
  metadata {
    name      = "tf-api"
    namespace = var.namespace
    labels = {
      environment = var.environment
    }
  }
  spec {
    replicas = var.replicas
    selector {
      match_labels = { app = "tf-api" }
    }
    template {
      metadata {
        labels = { app = "tf-api", environment = var.environment }
      }
      spec {
        security_context {
          run_as_non_root = true
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }
        container {
          name  = "api"
          image = "rotation.local/web:1.0"
          security_context {
            allow_privilege_escalation = false
            # The provider defaults run_as_non_root to false here, which Pod Security
            # "restricted" refuses: set it, even though the pod sets it too.
            run_as_non_root = true
            capabilities {
              drop = ["ALL"]
            }
          }
        }
      }
    }
  }
}
