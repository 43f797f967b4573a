// Package toolchain locates, or builds once, the control-plane binaries the
// project runs locally (kube-apiserver, kube-controller-manager, kube-scheduler,
// etcd, kwok), and on request tools for the labs (helm).
//
// The binaries are built from the wrapper modules under hack/tools/<name> with
// the Go toolchain only (the Go module proxy is the one source we can rely on),
// and cached outside the repository under
//
//	<cache root>/tools/<name>-<version>-<key>/
//
// where key is a short hash of the wrapper's go.mod and go.sum, so bumping a
// version in a wrapper module builds a fresh directory instead of reusing a
// stale one. The cache root is $ROTATION_CACHE_DIR, or
// os.UserCacheDir()/rotation-operator.
package toolchain
