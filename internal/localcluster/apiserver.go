package localcluster

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// newEnvironment configures envtest's etcd and kube-apiserver to our
// binaries and logs, with the authorization and admission behaviour of a
// real cluster.
func newEnvironment(c *Cluster, opts Options, tools *toolchain.Paths) (*envtest.Environment, error) {
	apiLog, err := os.Create(filepath.Join(c.WorkDir, "kube-apiserver.log"))
	if err != nil {
		return nil, err
	}
	etcdLog, err := os.Create(filepath.Join(c.WorkDir, "etcd.log"))
	if err != nil {
		_ = apiLog.Close()
		return nil, err
	}
	c.files = append(c.files, apiLog, etcdLog)
	c.logs["kube-apiserver"] = apiLog.Name()
	c.logs["etcd"] = etcdLog.Name()

	crds := opts.CRDDirectoryPaths
	if opts.Full && c.node == nil {
		// kwok's Logs CRD must be established before kwok starts watching it.
		if len(tools.KwokCRDs) == 0 {
			return nil, fmt.Errorf("toolchain paths lack kwok's CRDs (KwokCRDs)")
		}
		crds = append(slices.Clip(crds), tools.KwokCRDs...)
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     crds,
		ErrorIfCRDPathMissing: true,
		// Never pick up a developer's USE_EXISTING_CLUSTER=true.
		UseExistingCluster: ptr.To(false),
		// envtest's 20s default is tight on 2 cores with parallel packages.
		ControlPlaneStartTimeout: 90 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	// Paths set here win over KUBEBUILDER_ASSETS / BinaryAssetsDirectory.
	env.ControlPlane.Etcd = &envtest.Etcd{Path: tools.Etcd, Out: etcdLog, Err: etcdLog}
	// A cert dir of our own, rather than envtest's temporary one that its
	// Stop deletes: RestartAPIServer then brings the apiserver back with the
	// same serving certificate, client CA and service-account signing key,
	// so existing clients and issued tokens keep working.
	certDir := filepath.Join(c.WorkDir, "kube-apiserver")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return nil, err
	}
	env.ControlPlane.APIServer = &envtest.APIServer{Path: tools.KubeAPIServer, Out: apiLog, Err: apiLog, CertDir: certDir}

	args := env.ControlPlane.APIServer.Configure()
	// envtest v0.25 already defaults to RBAC; pinned so that permission tests
	// cannot silently pass if that default ever changes.
	args.Set("authorization-mode", "RBAC")
	// On by default in kube-apiserver; listed so they stay on whatever the
	// defaults do. envtest only disables ServiceAccount (pods are not given
	// token volumes), which we keep: nothing here mounts tokens.
	args.Set("enable-admission-plugins",
		"NamespaceLifecycle,LimitRanger,PodSecurity,ResourceQuota,ValidatingAdmissionPolicy,ValidatingAdmissionWebhook,MutatingAdmissionWebhook")
	if c.node != nil {
		c.node.configureAPIServer(env.ControlPlane.APIServer)
	}
	return env, nil
}

// findProcess returns the pid of the one process whose command line has
// arg, from /proc.
func findProcess(arg string) (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	found := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if slices.Contains(strings.Split(string(b), "\x00"), arg) {
			if found != 0 {
				return 0, fmt.Errorf("more than one process has %s", arg)
			}
			found = pid
		}
	}
	if found == 0 {
		return 0, fmt.Errorf("no process has %s", arg)
	}
	return found, nil
}
