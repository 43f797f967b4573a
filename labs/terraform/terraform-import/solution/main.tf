variable "namespace" {
  type        = string
  description = "The lab namespace."
}

import {
  to = kubernetes_config_map_v1.legacy
  id = "${var.namespace}/legacy-settings"
}

resource "kubernetes_config_map_v1" "legacy" {
  metadata {
    name      = "legacy-settings"
    namespace = var.namespace
    labels = {
      app   = "legacy"
      owner = "platform"
    }
  }
  data = {
    mode    = "legacy"
    retries = "3"
  }
}
