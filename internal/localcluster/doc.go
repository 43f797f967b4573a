// Package localcluster starts a real Kubernetes control plane on loopback,
// for integration tests and for the operator's no-cluster default mode.
//
// The base is controller-runtime's envtest (etcd + kube-apiserver, RBAC
// enforced, default admission plugins). With Options.Full it additionally
// runs kube-controller-manager (namespace deletion, garbage collection,
// Deployments/ReplicaSets, quota, ...), kube-scheduler and kwok with one fake
// Node, so ordinary workloads get scheduled and become Ready without a
// container runtime.
//
// Binaries come from internal/toolchain; every process logs to a file in the
// cluster's work dir (see Cluster.LogFiles).
package localcluster
