variable "namespace" {
  type        = string
  description = "The lab namespace."
}

resource "kubernetes_config_map_v1" "app" {
  metadata {
    name      = "app-config"
    namespace = var.namespace
  }
  data = {
    greeting = "hello"
  }
}

resource "kubernetes_deployment_v1" "web" {
  metadata {
    name      = "tf-web"
    namespace = var.namespace
  }
  spec {
    replicas = 2
    selector {
      match_labels = { app = "tf-web" }
    }
    template {
      metadata {
        labels = { app = "tf-web" }
      }
      spec {
        security_context {
          run_as_non_root = true
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }
        container {
          name  = "web"
          image = "rotation.local/web:1.0"
          env_from {
            config_map_ref {
              name = kubernetes_config_map_v1.app.metadata[0].name
            }
          }
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
