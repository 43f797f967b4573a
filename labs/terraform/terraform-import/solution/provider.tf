# The operator's labels on the starter object are not ours to manage.
provider "kubernetes" {
  ignore_labels = ["rotations\\.handson\\.dev/.*"]
}
