package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// Options configures Start.
type Options struct {
	// CRDDirectoryPaths are installed by envtest (and waited for) before
	// Start returns; a missing path is an error.
	CRDDirectoryPaths []string
	// Manifests are YAML files (multi-document allowed) server-side-applied
	// after start, in order: e.g. ClusterRoles, ValidatingAdmissionPolicies.
	Manifests []string
	// Full also runs kube-controller-manager, kube-scheduler and one Node
	// (Node says which kind), so workloads are scheduled and run.
	Full bool
	// Node picks the node of a Full cluster: NodeFake (kwok, the default),
	// NodeReal (kubelet + containerd: containers really run) or NodeAuto.
	Node NodeMode
	// NodeImages are image archives (docker or OCI tarballs) imported into
	// the real node's containerd at start; PauseImage, the pod sandbox
	// image, must be one of them. Empty: the project's lab images
	// (internal/labimages), pause included. Ignored with the fake node.
	NodeImages []string
	PauseImage string
	// ControllerManager runs kube-controller-manager (garbage collection,
	// namespace deletion, quota status, Deployments and ReplicaSets) without
	// the scheduler and kwok: pods stay Pending, which keeps benchmarks from
	// spending the machine on fake kubelets. Implied by Full.
	ControllerManager bool
	// Tools are the binaries to run; nil means toolchain.Ensure (which
	// builds them on first use).
	Tools *toolchain.Paths
	// WorkDir is where the cluster's own directory (logs, kubeconfigs) is
	// created; empty means os.TempDir().
	WorkDir string
	// KeepWorkDir leaves the cluster's directory in place after Stop.
	KeepWorkDir bool
	// Progress receives one-line status updates (tool builds, timings); nil
	// discards them.
	Progress io.Writer
}

// Cluster is a running local control plane.
type Cluster struct {
	// Config is a system:masters client config.
	Config *rest.Config
	// KubeconfigPath is a kubeconfig file for the same admin user, e.g. for
	// kubectl or for the operator in no-cluster mode.
	KubeconfigPath string
	// WorkDir holds logs, kubeconfigs and component state.
	WorkDir string
	// Env is the underlying envtest environment (etcd + kube-apiserver); use
	// Env.AddUser to get clients for non-admin users.
	Env *envtest.Environment

	// NodeName is the node pods run on: FakeNodeName or RealNodeName.
	NodeName string
	// Node is the kind of node the cluster has (empty when not Full).
	Node NodeMode
	// NodeReadyAfter is how long the real node took from kubelet start to
	// Ready and schedulable.
	NodeReadyAfter time.Duration

	procs                       []*process // components started by us, in start order
	node                        *realNode  // the real node, if any
	hostBaseline, hostAfterStop HostSnapshot
	kwokAddr                    string // host:port of kwok's server (the node's kubelet API)
	// runtimeActive is set while a RunPods is running (one at a time).
	runtimeMu     sync.Mutex
	runtimeActive bool

	files []*os.File // envtest's log files, closed on Stop
	logs  map[string]string
	keep  bool
}

// Start brings up a control plane and returns once it is usable: CRDs
// established, manifests applied and, in Full mode, the fake node ready for
// pods. On failure everything started so far is stopped again; the work dir
// is kept so its logs can be read (the error names it).
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	node, lock := NodeMode(""), (*nodeLock)(nil)
	if opts.Full {
		var err error
		if node, lock, err = resolveNode(opts.Node, progress); err != nil {
			return nil, fmt.Errorf("real node: %w", err)
		}
	}
	tools := opts.Tools
	if tools == nil {
		names := []string{toolchain.Kubernetes, toolchain.Etcd}
		switch node {
		case NodeFake:
			names = append(names, toolchain.Kwok)
		case NodeReal:
			names = append(names, toolchain.KubeRouter)
		}
		p, err := toolchain.Ensure(ctx, progress, names...)
		if err != nil {
			lock.unlock()
			return nil, err
		}
		tools = &p
	}

	workDir, err := os.MkdirTemp(opts.WorkDir, "localcluster-")
	if err != nil {
		lock.unlock()
		return nil, err
	}
	c := &Cluster{WorkDir: workDir, logs: map[string]string{}, keep: opts.KeepWorkDir, Node: node}
	if node == NodeReal {
		certDir := filepath.Join(workDir, "kube-apiserver")
		if err := os.MkdirAll(certDir, 0o700); err != nil {
			lock.unlock()
			return nil, err
		}
		if c.node, err = prepareRealNode(ctx, workDir, certDir, lock, opts.NodeImages, opts.PauseImage, progress); err != nil {
			lock.unlock()
			c.keep = true
			return nil, errors.Join(fmt.Errorf("preparing the real node (logs in %s): %w", workDir, err), c.Stop())
		}
		c.hostBaseline = c.node.baseline
	}
	start := time.Now()
	if err := c.start(ctx, opts, tools, progress); err != nil {
		c.keep = true
		stopErr := c.Stop()
		return nil, errors.Join(fmt.Errorf("starting local cluster (logs in %s): %w", workDir, err), stopErr)
	}
	fmt.Fprintf(progress, "local cluster (full=%t, node=%s) up in %s, kubeconfig %s\n", opts.Full, c.Node, time.Since(start).Round(10*time.Millisecond), c.KubeconfigPath)
	return c, nil
}

func (c *Cluster) start(ctx context.Context, opts Options, tools *toolchain.Paths, progress io.Writer) error {
	phase := time.Now()
	done := func(what string) {
		fmt.Fprintf(progress, "  %s: %s\n", what, time.Since(phase).Round(10*time.Millisecond))
		phase = time.Now()
	}

	env, err := newEnvironment(c, opts, tools)
	if err != nil {
		return err
	}
	c.Env = env
	cfg, err := env.Start()
	if err != nil {
		return err
	}
	c.Config = cfg
	c.KubeconfigPath = filepath.Join(c.WorkDir, "kubeconfig")
	if err := writeKubeconfig(c.KubeconfigPath, cfg, "admin"); err != nil {
		return err
	}
	done("etcd + kube-apiserver (+ CRDs)")

	if len(opts.Manifests) > 0 {
		if err := applyManifests(ctx, cfg, opts.Manifests, time.Minute); err != nil {
			return err
		}
		done("manifests")
	}
	if !opts.Full && !opts.ControllerManager {
		return nil
	}

	if err := c.startControllerManager(ctx, tools.KubeControllerManager); err != nil {
		return err
	}
	done("kube-controller-manager")
	if !opts.Full {
		return nil
	}
	if err := c.startScheduler(ctx, tools.KubeScheduler); err != nil {
		return err
	}
	done("kube-scheduler")
	if c.node != nil {
		c.NodeName = RealNodeName
		return c.node.start(ctx, c, tools.Kubelet, tools.KubeProxy, tools.KubeRouter, progress)
	}
	c.NodeName = FakeNodeName
	if err := c.startKwok(ctx, tools.Kwok, tools.KwokStages); err != nil {
		return err
	}
	done("kwok")
	cl, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	if err := createFakeNode(ctx, cl); err != nil {
		return err
	}
	if err := waitNodeSchedulable(ctx, cl, FakeNodeName, componentStartTimeout); err != nil {
		return err
	}
	done("node " + FakeNodeName + " schedulable")
	return nil
}

// Stop stops all components in reverse start order, then etcd and the
// apiserver, and removes the work dir unless it is to be kept. It is safe
// after a partial start and when called twice.
func (c *Cluster) Stop() error {
	var errs []error
	// The node first: it needs containerd to tear its pods down, and its
	// mounts must be gone before the work dir is removed.
	errs = append(errs, c.node.stop())
	if c.node != nil {
		c.hostAfterStop = c.node.afterStop
	}
	c.node = nil
	for i := len(c.procs) - 1; i >= 0; i-- {
		errs = append(errs, c.procs[i].stop(15*time.Second))
	}
	c.procs = nil
	if c.Env != nil {
		errs = append(errs, c.Env.Stop())
		c.Env = nil
	}
	for _, f := range c.files {
		_ = f.Close()
	}
	c.files = nil
	if !c.keep && c.WorkDir != "" {
		errs = append(errs, os.RemoveAll(c.WorkDir))
	}
	return errors.Join(errs...)
}

// LogFiles maps component name (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kwok) to its log file, for printing when a test fails.
// The files are gone after Stop unless KeepWorkDir was set.
func (c *Cluster) LogFiles() map[string]string {
	m := make(map[string]string, len(c.logs))
	for k, v := range c.logs {
		m[k] = v
	}
	return m
}

// DumpLogs writes the last lines of every component log to w, e.g. from a
// failing test before Stop removes them.
func (c *Cluster) DumpLogs(w io.Writer, lines int) {
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "containerd", "kubelet", "kube-proxy", "kube-router"} {
		if p, ok := c.logs[name]; ok {
			fmt.Fprintf(w, "==> %s (%s) <==\n%s\n", name, p, logTail(p, lines))
		}
	}
}

// StopAPIServer kills kube-apiserver (SIGKILL, as in a crash: a graceful
// stop drains watches for up to a minute), leaving etcd and the other
// components running, e.g. to test how clients ride out an apiserver outage.
// Linux only.
func (c *Cluster) StopAPIServer() error {
	if c.Env == nil || c.Env.ControlPlane.APIServer == nil {
		return errors.New("no apiserver running")
	}
	api := c.Env.ControlPlane.APIServer
	pid, err := findProcess("--cert-dir=" + api.CertDir)
	if err != nil {
		return fmt.Errorf("finding kube-apiserver: %w", err)
	}
	if p, err := os.FindProcess(pid); err != nil {
		return err
	} else if err := p.Kill(); err != nil {
		return fmt.Errorf("killing kube-apiserver (pid %d): %w", pid, err)
	}
	// Reaps the process and marks it stopped for StartAPIServer.
	return api.Stop()
}

// StartAPIServer starts kube-apiserver again after StopAPIServer, on the
// same address with the same certificates and service-account keys, and
// waits until it is healthy. etcd kept the data.
func (c *Cluster) StartAPIServer() error {
	if c.Env == nil || c.Env.ControlPlane.APIServer == nil {
		return errors.New("no apiserver to start")
	}
	return c.Env.ControlPlane.APIServer.Start()
}
