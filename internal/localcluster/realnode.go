package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/handson-dev/rotation-operator/internal/labimages"
)

// NodeMode picks the node a Full cluster runs pods on.
type NodeMode string

const (
	// NodeFake is kwok: pods are scheduled and turn Ready, but no
	// container runs.
	NodeFake NodeMode = "fake"
	// NodeReal is a kubelet with containerd, runc, a CNI bridge and
	// kube-proxy on this host: containers really run. It needs Linux and
	// root, installs its Debian packages when missing, and one runs per
	// host at a time (a machine-wide lock).
	NodeReal NodeMode = "real"
	// NodeAuto is NodeReal where the host can run it and its lock is free,
	// else NodeFake, with one line saying why.
	NodeAuto NodeMode = "auto"
)

// ParseNodeMode reads a --node flag value.
func ParseNodeMode(s string) (NodeMode, error) {
	switch m := NodeMode(s); m {
	case NodeFake, NodeReal, NodeAuto:
		return m, nil
	}
	return "", fmt.Errorf("node mode %q: want auto, real or fake", s)
}

const (
	// RealNodeName is the Node a real-node cluster registers.
	RealNodeName = "localcluster-node"
	// realNodeBridge is the CNI bridge; fixed, so a crash cleanup finds it.
	realNodeBridge = "rotation0"
	// realNodePodCIDR must not overlap the service range (envtest's
	// 10.0.0.0/24) or the host's networks.
	realNodePodCIDR = "10.244.0.0/24"
	// kubernetesServiceIP is the first address of envtest's service range.
	kubernetesServiceIP = "10.0.0.1"
)

// realNode is the kubelet, containerd and kube-proxy of a cluster, and the
// host state they change.
type realNode struct {
	cfg    nodeConfig
	pki    *nodePKI
	lock   *nodeLock
	record hostRecord
	images []string // archives to import into containerd
	procs  []*process
	proxy  string // kube-proxy binary, for --cleanup
	// baseline is the host before the node changed it (under the lock);
	// afterStop as stop left it, before it released the lock.
	baseline, afterStop HostSnapshot
}

// HostBaseline is the host's state taken before the real node changed it,
// under the node lock, for tests that check Stop put it back. ok is false
// without a real node.
func (c *Cluster) HostBaseline() (s HostSnapshot, ok bool) {
	return c.hostBaseline, c.Node == NodeReal
}

// HostAfterStop is the host's state as Stop left it, taken before Stop
// released the node lock, for the same tests: a snapshot taken after
// Stop returned may already hold the node of another suite waiting for
// the lock. ok is false before Stop or without a real node.
func (c *Cluster) HostAfterStop() (s HostSnapshot, ok bool) {
	return c.hostAfterStop, c.hostAfterStop.Sysctls != nil
}

// resolveNode decides which node a Full cluster gets. For NodeReal it
// waits for the machine-wide lock; for NodeAuto it takes it only if free.
func resolveNode(mode NodeMode, progress io.Writer) (NodeMode, *nodeLock, error) {
	if mode == "" {
		mode = NodeFake
	}
	if mode == NodeFake {
		return NodeFake, nil, nil
	}
	if ok, why := RealNodeSupport(); !ok {
		if mode == NodeReal {
			return "", nil, errors.New(why)
		}
		fmt.Fprintf(progress, "fake node (kwok): pods are scheduled but no container runs, because %s\n", why)
		return NodeFake, nil, nil
	}
	lock, err := lockNode(mode == NodeReal, progress)
	if err != nil {
		if mode == NodeReal {
			return "", nil, err
		}
		fmt.Fprintf(progress, "fake node (kwok): pods are scheduled but no container runs, because %v\n", err)
		return NodeFake, nil, nil
	}
	return NodeReal, lock, nil
}

// prepareRealNode runs before the apiserver starts: it cleans up after a
// crashed node, installs missing packages, records the host's state and
// makes the certificates the apiserver needs for the node.
func prepareRealNode(ctx context.Context, workDir, certDir string, lock *nodeLock, images []string, pause string, progress io.Writer) (*realNode, error) {
	if err := CleanupHost(progress); err != nil {
		return nil, fmt.Errorf("cleaning up after an earlier real node: %w", err)
	}
	baseline := TakeHostSnapshot()
	if err := ensurePackages(ctx, progress); err != nil {
		return nil, fmt.Errorf("installing the real node's runtime: %w", err)
	}
	ip, err := nodeIP()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(workDir, "node")
	for _, d := range []string{"run", "kubelet", "pod-logs", "certs.d"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	if len(images) == 0 {
		// The project's own images: the pod sandbox and the lab images
		// the catalog runs, built from labs/images (cached) and imported,
		// so no pod ever pulls from the internet.
		built, err := labimages.Build(ctx, labimages.Options{})
		if err != nil {
			return nil, fmt.Errorf("building the lab images: %w", err)
		}
		archive := filepath.Join(dir, "lab-images.tar")
		if err := labimages.WriteArchive(archive, built...); err != nil {
			return nil, err
		}
		images, pause = []string{archive}, labimages.Pause
	}
	n := &realNode{lock: lock, images: images, baseline: baseline}
	n.cfg = nodeConfig{
		Dir:        dir,
		Socket:     filepath.Join(dir, "run", "containerd.sock"),
		PauseImage: pause,
		NodeName:   RealNodeName,
		NodeIP:     ip.String(),
		Bridge:     realNodeBridge,
		PodCIDR:    realNodePodCIDR,
	}
	n.record = newHostRecord(dir, n.cfg.Socket, realNodeBridge)
	if err := n.record.write(); err != nil {
		return nil, err
	}
	n.pki, err = newNodePKI(certDir,
		[]net.IP{net.ParseIP("127.0.0.1"), ip, net.ParseIP(kubernetesServiceIP)},
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"})
	if err != nil {
		return nil, err
	}
	n.cfg.ClientCA = n.pki.CAFile
	return n, nil
}

// configureAPIServer makes envtest's apiserver serve pods on the node: it
// listens on the node IP too and advertises it (the kubernetes Service's
// endpoint), presents a client certificate to the kubelet, authorizes
// nodes with the Node authorizer, and mounts service-account tokens.
func (n *realNode) configureAPIServer(api *envtest.APIServer) {
	// envtest generates its own serving certificate (for localhost only)
	// unless the cert dir already has one: ours also names the node IP
	// and the kubernetes Service.
	api.CA = n.pki.CACert
	args := api.Configure()
	args.Set("bind-address", "0.0.0.0")
	args.Set("advertise-address", n.cfg.NodeIP)
	args.Set("kubelet-client-certificate", n.pki.KubeletClientCert)
	args.Set("kubelet-client-key", n.pki.KubeletClientKey)
	args.Set("kubelet-preferred-address-types", "InternalIP,Hostname")
	args.Set("authorization-mode", "Node,RBAC")
	args.Disable("disable-admission-plugins")
	args.Set("enable-admission-plugins",
		"NamespaceLifecycle,LimitRanger,ServiceAccount,NodeRestriction,PodSecurity,ResourceQuota,ValidatingAdmissionPolicy,ValidatingAdmissionWebhook,MutatingAdmissionWebhook")
}

// start runs containerd, imports the images, then the kubelet,
// kube-proxy and kube-router (NetworkPolicy), and waits until the node
// takes pods.
func (n *realNode) start(ctx context.Context, c *Cluster, kubelet, kubeProxy, kubeRouter string, progress io.Writer) error {
	n.proxy = kubeProxy
	var err error
	if n.cfg.KubeletPort, err = freePort(); err != nil {
		return err
	}
	if n.cfg.HealthzPort, err = freePort(); err != nil {
		return err
	}
	if n.cfg.ProxyHealth, err = freePort(); err != nil {
		return err
	}
	if n.cfg.ProxyMetric, err = freePort(); err != nil {
		return err
	}
	kubeletKC := filepath.Join(n.cfg.Dir, "kubelet.kubeconfig")
	if err := userKubeconfig(c.Env, envtest.User{Name: "system:node:" + RealNodeName, Groups: []string{"system:nodes"}}, kubeletKC); err != nil {
		return err
	}
	n.cfg.Kubeconfig = filepath.Join(n.cfg.Dir, "kube-proxy.kubeconfig")
	if err := userKubeconfig(c.Env, envtest.User{Name: "system:kube-proxy"}, n.cfg.Kubeconfig); err != nil {
		return err
	}
	if err := n.cfg.write(); err != nil {
		return err
	}

	phase := time.Now()
	if err := n.run(ctx, c, "containerd", "containerd", []string{"--config", filepath.Join(n.cfg.Dir, "containerd.toml")}, ""); err != nil {
		return err
	}
	if err := waitFor(ctx, 30*time.Second, func() error { return n.ctr("version") }); err != nil {
		return fmt.Errorf("containerd did not answer: %w; log %s:\n%s", err, c.logs["containerd"], logTail(c.logs["containerd"], 20))
	}
	for _, img := range n.images {
		if err := n.ctr("images", "import", img); err != nil {
			return fmt.Errorf("importing %s into containerd: %w", img, err)
		}
	}
	fmt.Fprintf(progress, "  containerd + %d image archive(s): %s\n", len(n.images), time.Since(phase).Round(10*time.Millisecond))

	phase = time.Now()
	if err := n.run(ctx, c, "kubelet", kubelet, []string{
		"--config=" + filepath.Join(n.cfg.Dir, "kubelet.yaml"),
		"--kubeconfig=" + kubeletKC,
		// Without these the kubelet writes to /var/lib/kubelet even with
		// --root-dir (its pki dir).
		"--root-dir=" + filepath.Join(n.cfg.Dir, "kubelet"),
		"--cert-dir=" + filepath.Join(n.cfg.Dir, "kubelet", "pki"),
		"--hostname-override=" + RealNodeName,
		"--node-ip=" + n.cfg.NodeIP,
		"--v=2",
	}, fmt.Sprintf("http://127.0.0.1:%d/healthz", n.cfg.HealthzPort)); err != nil {
		return err
	}
	cl, err := client.New(c.Config, client.Options{})
	if err != nil {
		return err
	}
	if err := waitNodeSchedulable(ctx, cl, RealNodeName, componentStartTimeout); err != nil {
		return fmt.Errorf("%w; kubelet log %s:\n%s", err, c.logs["kubelet"], logTail(c.logs["kubelet"], 30))
	}
	c.NodeReadyAfter = time.Since(phase)
	fmt.Fprintf(progress, "  kubelet, node %s Ready: %s\n", RealNodeName, c.NodeReadyAfter.Round(10*time.Millisecond))

	phase = time.Now()
	if err := n.run(ctx, c, "kube-proxy", kubeProxy, []string{
		"--config=" + filepath.Join(n.cfg.Dir, "kube-proxy.yaml"), "--v=2",
	}, fmt.Sprintf("http://127.0.0.1:%d/healthz", n.cfg.ProxyHealth)); err != nil {
		return err
	}
	fmt.Fprintf(progress, "  kube-proxy: %s\n", time.Since(phase).Round(10*time.Millisecond))

	if kubeRouter == "" {
		return errors.New("the real node enforces NetworkPolicy with kube-router, and no binary was given: add toolchain.KubeRouter to the tools Ensure builds")
	}
	return n.startNetworkPolicy(ctx, c, kubeRouter, progress)
}

// run starts one node component, logging into the cluster's work dir.
func (n *realNode) run(ctx context.Context, c *Cluster, name, binary string, args []string, healthURL string) error {
	logPath := filepath.Join(c.WorkDir, name+".log")
	p, err := startProcess(name, binary, args, nil, logPath)
	if err != nil {
		return err
	}
	n.procs = append(n.procs, p)
	c.logs[name] = logPath
	if healthURL == "" {
		return nil
	}
	return p.waitHealthy(ctx, healthURL, componentStartTimeout)
}

// ctr runs containerd's CLI against our containerd, in the kubelet's
// namespace.
func (n *realNode) ctr(args ...string) error {
	return hostCmd("ctr", append([]string{"--address", n.cfg.Socket, "--namespace", "k8s.io"}, args...)...)
}

// stop tears the node down in the order that leaks nothing: kube-router
// (its chains and ipsets go with the host cleanup at the end), kube-proxy
// and its rules, the kubelet, then every pod sandbox through the CRI
// (stopping containers and releasing their network), then containerd.
// Whatever is left (after a failure or a kill) the host cleanup removes.
func (n *realNode) stop() error {
	if n == nil {
		return nil
	}
	var errs []error
	byName := map[string]*process{}
	for _, p := range n.procs {
		byName[p.name] = p
	}
	if p := byName["kube-router"]; p != nil {
		errs = append(errs, p.stop(10*time.Second))
	}
	if p := byName["kube-proxy"]; p != nil {
		errs = append(errs, p.stop(10*time.Second))
		if out, err := exec.Command(n.proxy, "--cleanup", "--v=0").CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("kube-proxy --cleanup: %w: %s", err, strings.TrimSpace(string(out))))
		}
	}
	if p := byName["kubelet"]; p != nil {
		errs = append(errs, p.stop(15*time.Second))
	}
	if p := byName["containerd"]; p != nil {
		if err := removeSandboxes(n.cfg.Socket); err != nil {
			errs = append(errs, fmt.Errorf("removing pod sandboxes: %w", err))
		}
		errs = append(errs, p.stop(10*time.Second))
	}
	n.procs = nil
	if err := n.record.cleanup(io.Discard); err != nil {
		errs = append(errs, err)
	} else {
		_ = os.Remove(hostRecordPath)
	}
	// Under the lock still: a node another process starts once it is
	// released is not in it.
	n.afterStop = TakeHostSnapshot()
	n.lock.unlock()
	return errors.Join(errs...)
}

// nodeIP is the host's address on its default route: what the apiserver
// advertises and pods reach the API and the kubelet on.
func nodeIP() (net.IP, error) {
	// A UDP "connection" sends nothing; it only picks the source address.
	if conn, err := net.Dial("udp4", "192.0.2.254:9"); err == nil {
		defer conn.Close()
		if ip := conn.LocalAddr().(*net.UDPAddr).IP; !ip.IsLoopback() {
			return ip, nil
		}
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			return ipn.IP, nil
		}
	}
	return nil, errors.New("the real node needs a non-loopback IPv4 address for the apiserver to advertise to pods")
}

// waitFor polls f until it succeeds or the timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, f func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// KillNodeComponent SIGKILLs a real node's component (containerd, kubelet
// or kube-proxy), as in a crash: its children (containerd's shims, and so
// the containers) keep running. For fault tests; see RestartNodeComponent.
func (c *Cluster) KillNodeComponent(name string) error {
	p, err := c.nodeProcess(name)
	if err != nil {
		return err
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return nil
}

// RestartNodeComponent starts a killed (or stopped) node component again
// with the same arguments, logging to <name>-restart-<n>.log, and waits
// until it is healthy.
func (c *Cluster) RestartNodeComponent(ctx context.Context, name string) error {
	p, err := c.nodeProcess(name)
	if err != nil {
		return err
	}
	select {
	case <-p.done:
	default:
		return fmt.Errorf("%s is still running", name)
	}
	n := c.node
	restarts := 0
	for k := range c.logs {
		if strings.HasPrefix(k, name+"-restart-") {
			restarts++
		}
	}
	logName := fmt.Sprintf("%s-restart-%d", name, restarts+1)
	logPath := filepath.Join(c.WorkDir, logName+".log")
	np, err := startProcess(name, p.cmd.Path, p.cmd.Args[1:], nil, logPath)
	if err != nil {
		return err
	}
	for i := range n.procs {
		if n.procs[i] == p {
			n.procs[i] = np
		}
	}
	c.logs[logName] = logPath
	switch name {
	case "containerd":
		return waitFor(ctx, 30*time.Second, func() error { return n.ctr("version") })
	case "kubelet":
		return np.waitHealthy(ctx, fmt.Sprintf("http://127.0.0.1:%d/healthz", n.cfg.HealthzPort), componentStartTimeout)
	case "kube-proxy":
		return np.waitHealthy(ctx, fmt.Sprintf("http://127.0.0.1:%d/healthz", n.cfg.ProxyHealth), componentStartTimeout)
	}
	return nil
}

func (c *Cluster) nodeProcess(name string) (*process, error) {
	if c.node == nil {
		return nil, errors.New("the cluster has no real node")
	}
	for _, p := range c.node.procs {
		if p.name == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("no node component %q (want containerd, kubelet or kube-proxy)", name)
}
