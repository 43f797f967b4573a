package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// NetworkPolicy on the real node: the bridge CNI does not enforce it, so
// kube-router runs next to it with only its network policy controller
// (firewall mode). It watches pods, namespaces and NetworkPolicies and
// programs the filter table: jumps from INPUT, FORWARD and OUTPUT into
// KUBE-ROUTER-*, a KUBE-POD-FW-* chain per local pod, a KUBE-NWPLCY-*
// chain per policy, and ipsets (KUBE-SRC-*, KUBE-DST-*) of the pods and
// blocks the policies select. Pod-to-pod traffic on the bridge reaches
// FORWARD because bridge-nf-call-iptables is on (kube-router matches it
// with physdev); Service traffic is matched after kube-proxy's DNAT, on the
// backend pod's IP. Routing, the service proxy and BGP stay off: the bridge
// and kube-proxy do those.

// realNodeServiceCIDR is envtest's service range (the apiserver's
// --service-cluster-ip-range); kube-router lets traffic to it through its
// INPUT chain and refuses to start without one.
const realNodeServiceCIDR = "10.0.0.0/24"

// kubeRouterIPSetPrefixes name the ipsets kube-router's network policy
// controller creates (pkg/controllers/netpol and pkg/utils/ipset.go): per
// policy source and destination sets and the local-pods set of
// --netpol-default-deny; each may have an inet6: twin.
var kubeRouterIPSetPrefixes = []string{"KUBE-SRC-", "KUBE-DST-", "kube-router-"}

// kubeRouterTmpIPSet is the temporary set of kube-router's atomic swaps,
// TMP- and base32 of a 10-byte hash: left behind only by a kill mid-swap.
var kubeRouterTmpIPSet = regexp.MustCompile(`^TMP-[A-Z2-7]{16}$`)

// startNetworkPolicy runs kube-router's network policy controller as a
// node component and waits until it reports healthy (its informers have
// synced and the controller has started).
func (n *realNode) startNetworkPolicy(ctx context.Context, c *Cluster, binary string, progress io.Writer) error {
	phase := time.Now()
	kubeconfig := filepath.Join(n.cfg.Dir, "kube-router.kubeconfig")
	if err := userKubeconfig(c.Env, envtest.User{Name: "system:kube-router", Groups: []string{"system:masters"}}, kubeconfig); err != nil {
		return err
	}
	health, err := freePort()
	if err != nil {
		return err
	}
	if err := n.run(ctx, c, "kube-router", binary, []string{
		"--kubeconfig=" + kubeconfig,
		"--hostname-override=" + RealNodeName,
		"--run-firewall=true",
		"--run-router=false",
		"--run-service-proxy=false",
		"--run-loadbalancer=false",
		"--service-cluster-ip-range=" + realNodeServiceCIDR,
		"--health-addr=127.0.0.1",
		fmt.Sprintf("--health-port=%d", health),
		"--metrics-port=0",
		"--v=2",
	}, fmt.Sprintf("http://127.0.0.1:%d/healthz", health)); err != nil {
		return fmt.Errorf("kube-router: %w; log %s:\n%s", err, c.logs["kube-router"], logTail(c.logs["kube-router"], 30))
	}
	fmt.Fprintf(progress, "  kube-router (network policy): %s\n", time.Since(phase).Round(10*time.Millisecond))
	return nil
}

// ownIPSet tells whether an ipset is one kube-router makes.
func ownIPSet(name string) bool {
	name = strings.TrimPrefix(name, "inet6:")
	if kubeRouterTmpIPSet.MatchString(name) {
		return true
	}
	for _, p := range kubeRouterIPSetPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// ipsets lists the host's ipsets by name (none without the ipset tool).
func ipsets() []string {
	if _, err := exec.LookPath("ipset"); err != nil {
		return nil
	}
	out, err := exec.Command("ipset", "list", "-n").Output()
	if err != nil {
		return nil
	}
	sets := strings.Fields(string(out))
	sort.Strings(sets)
	return sets
}

// removeKubeRouterIPSets destroys kube-router's ipsets. The iptables rules
// that match on them must be gone first (removeKubeChains): the kernel
// refuses to destroy a set in use.
func removeKubeRouterIPSets() error {
	var ours []string
	for _, s := range ipsets() {
		if ownIPSet(s) {
			ours = append(ours, s)
		}
	}
	// Flush all before destroying any, in case one set lists another.
	for _, s := range ours {
		_ = hostCmd("ipset", "flush", s)
	}
	var errs []error
	for _, s := range ours {
		if err := hostCmd("ipset", "destroy", s); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
