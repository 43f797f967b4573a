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
// kwok runs no containers: Job pods simply "succeed". Where a test needs a
// pod to really do something, with output and an exit code, the test itself
// is the container runtime: Cluster.RunPods calls Go code for pods annotated
// RuntimeAnnotation=RuntimeHarness, writes their output as container logs
// and completes them. Their logs are still read the real way, through
// kube-apiserver's pods/log, which proxies to kwok as the node's kubelet.
//
// With Options.Node = NodeReal the node is a real kubelet with containerd,
// a CNI bridge and kube-proxy, and kube-router's network policy controller
// enforces NetworkPolicy, which the bridge ignores (see realnode_netpol.go).
//
// Binaries come from internal/toolchain; every process logs to a file in the
// cluster's work dir (see Cluster.LogFiles).
package localcluster
