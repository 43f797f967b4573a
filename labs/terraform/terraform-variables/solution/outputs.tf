output "deployment_name" {
  value = kubernetes_deployment_v1.api.metadata[0].name
}

output "replicas" {
  value = var.replicas
}

output "environment" {
  value = var.environment
}
