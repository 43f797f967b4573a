// Package labimages builds the container images lab pods run, from the Go
// sources in labs/images/<name>, with go build and go-containerregistry:
// no Docker engine and no image from the internet.
//
// Every image is named under the registry Registry ("rotation.local"), a
// name that never resolves, so a node can only get the images from us:
//
//   - WriteArchive writes them all into one tarball (an OCI image layout
//     that is also a docker-archive) for `ctr -n k8s.io images import`, the
//     way a local node is loaded;
//   - PublishImages pushes them to a real registry under a prefix, and the
//     nodes of a real cluster map rotation.local to it with a containerd
//     hosts.toml mirror (README.md, "Lab images").
//
// Build caches each image as an OCI layout under
//
//	<cache root>/labimages/<name>-<tag>-<key>/
//
// where the cache root is toolchain.CacheRoot ($ROTATION_CACHE_DIR or
// os.UserCacheDir()/rotation-operator) and key hashes the image's sources,
// the Go version, the target architecture and the image's spec, so a warm
// Build costs milliseconds and a change to any of them builds afresh. The
// builds are reproducible: same key, same digest.
package labimages
