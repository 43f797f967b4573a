// Package registry is the labs' image registry: an OCI distribution
// registry the operator runs on loopback in embedded mode (Server), and the
// configuration that names a lab's repositories and credentials in any
// registry, embedded or external (Config).
//
// Labs are isolated without stored state. A lab signs in with user = its
// namespace and password = Credentials(key, namespace), an HMAC of the
// namespace under the registry's secret key; the operator writes them into
// the lab as a kubernetes.io/dockerconfigjson Secret (DockerConfigJSON) and
// the registry verifies them by recomputing the HMAC. A lab may read and
// write only <prefix>/<namespace>/... repositories.
//
// The registry is distribution v3 (the reference implementation, used as a
// library) with its filesystem storage driver, rather than
// go-containerregistry's pkg/registry: the latter keeps manifests and
// chunked uploads in memory (a restart loses every image, a large push
// holds the whole layer in the operator's memory) and serves any blob by
// digest from any repository, where distribution streams uploads to disk,
// persists everything, and links blobs per repository, so a lab cannot read
// another lab's layers even knowing their digests.
package registry
