package localcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// componentStartTimeout bounds each component's wait for /healthz. Generous
// because on a 2-core machine several test packages start clusters at once.
const componentStartTimeout = 90 * time.Second

// kubeComponent starts kube-controller-manager or kube-scheduler: both take
// the same serving and client flags. Each gets its own system:masters user.
// No --authentication/--authorization-kubeconfig: we only need /healthz
// (always allowed), and delegated authn would log an error every few seconds
// because envtest's apiserver has no requestheader CA to publish.
func (c *Cluster) kubeComponent(ctx context.Context, name, binary string, extra ...string) error {
	dir, err := componentDir(c.WorkDir, name)
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := adminKubeconfig(c.Env, "system:"+name, kubeconfig); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	args := append([]string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=false", // single instance; saves lease round trips
		"--bind-address=127.0.0.1",
		"--secure-port=" + itoa(port),
		"--cert-dir=" + dir, // self-signed serving cert lands here, not /var/run
		"--v=2",
	}, extra...)
	return c.run(ctx, name, binary, args, nil, fmt.Sprintf("https://127.0.0.1:%d/healthz", port))
}

func (c *Cluster) startControllerManager(ctx context.Context, binary string) error {
	caFile := filepath.Join(c.WorkDir, "ca.crt")
	if err := os.WriteFile(caFile, c.Config.CAData, 0o644); err != nil {
		return err
	}
	return c.kubeComponent(ctx, "kube-controller-manager", binary,
		// All default controllers: namespace deletion, garbage collector,
		// deployment/replicaset, resourcequota, serviceaccount, ...
		"--controllers=*",
		// Controllers use the KCM's own (admin) credentials; per-controller
		// service-account tokens would need the ServiceAccount admission
		// plugin that envtest disables.
		"--use-service-account-credentials=false",
		// envtest's apiserver verifies service-account tokens with the key
		// pair in its CertDir; signing with the same key keeps tokens valid.
		"--service-account-private-key-file="+filepath.Join(c.Env.ControlPlane.APIServer.CertDir, "sa-signer.key"),
		// Published as the kube-root-ca.crt ConfigMap in every namespace.
		"--root-ca-file="+caFile,
		// kwok renews the fake node's Lease; on a loaded 2-core machine a
		// renewal can be late, and the default 50s grace would mark the
		// node NotReady, taint it and make every pod unready mid-test.
		"--node-monitor-grace-period=10m",
	)
}

func (c *Cluster) startScheduler(ctx context.Context, binary string) error {
	return c.kubeComponent(ctx, "kube-scheduler", binary)
}

// kwok makes Nodes annotated kwok.x-k8s.io/node=fake behave like kubelets:
// they turn Ready, keep their lease, and pods bound to them go Running/Ready
// and are finalized on deletion. Job pods are completed by kwok's
// pod-complete stage, except those the harness runs (see RunPods).
//
// kwok's server is also the node's kubelet API: --node-port publishes its
// port as the node's kubeletEndpoint, so kube-apiserver proxies pods/log
// (and exec, port-forward) to it; it serves TLS with a self-signed test
// cert and plain HTTP on the same port, and the apiserver, having no
// --kubelet-certificate-authority, does not verify the cert. Logs objects
// (the CRD is installed with the apiserver) name the file a pod's log is
// read from.
func (c *Cluster) startKwok(ctx context.Context, binary string, stages []string) error {
	dir, err := componentDir(c.WorkDir, "kwok")
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := adminKubeconfig(c.Env, "kwok", kubeconfig); err != nil {
		return err
	}
	stages, err = withHarnessPodComplete(stages, dir)
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + fakeNodeAnnotation + "=fake",
		// Without a server address kwok serves nothing, so no /healthz.
		"--server-address=127.0.0.1:" + itoa(port),
		"--node-ip=127.0.0.1",
		// The node's kubelet port, for kube-apiserver's pods/log proxying.
		"--node-port=" + itoa(port),
		// Watch Logs objects: RunPods creates one per pod it runs.
		"--enable-crds=" + kwokLogsKind,
		// The default 10.0.0.0/24 overlaps envtest's service range and holds
		// only 254 pod IPs.
		"--cidr=10.244.0.0/16",
	}
	for _, s := range stages {
		args = append(args, "--config="+s)
	}
	// kwok also loads ~/.kwok/kwok.yaml when it exists; a private HOME keeps a
	// developer's kwokctl setup out of our cluster.
	env := append(os.Environ(), "HOME="+dir)
	c.kwokAddr = "127.0.0.1:" + itoa(port)
	return c.run(ctx, "kwok", binary, args, env, fmt.Sprintf("http://%s/healthz", c.kwokAddr))
}

// run starts a component, registers it for Stop, and waits until healthy.
func (c *Cluster) run(ctx context.Context, name, binary string, args, env []string, healthURL string) error {
	logPath := filepath.Join(c.WorkDir, name+".log")
	p, err := startProcess(name, binary, args, env, logPath)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	c.logs[name] = logPath
	return p.waitHealthy(ctx, healthURL, componentStartTimeout)
}
