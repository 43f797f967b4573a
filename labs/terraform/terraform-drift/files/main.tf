variable "namespace" {
  type        = string
  description = "Your lab namespace."
}

resource "kubernetes_config_map_v1" "settings" {
  metadata {
    name      = "shop-settings"
    namespace = var.namespace
  }
  data = {
    currency = "EUR"
    checkout = "off"
  }
}

resource "kubernetes_deployment_v1" "shop" {
  metadata {
    name      = "tf-shop"
    namespace = var.namespace
  }
  spec {
    replicas = 2
    selector {
      match_labels = { app = "tf-shop" }
    }
    template {
      metadata {
        labels = { app = "tf-shop" }
      }
      spec {
        security_context {
          run_as_non_root = true
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }
        container {
          name  = "shop"
          image = "rotation.local/web:1.0"
          env_from {
            config_map_ref {
              name = kubernetes_config_map_v1.settings.metadata[0].name
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
          resources {
            requests = { cpu = "50m", memory = "64Mi" }
            limits   = { cpu = "200m", memory = "128Mi" }
          }
        }
      }
    }
  }
}
