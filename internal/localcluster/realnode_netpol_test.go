package localcluster

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
)

// labPolicy is the NetworkPolicy internal/lab gives every lab namespace
// under name, moved to ns (and without the owner reference to a rotation
// that does not exist here).
func labPolicy(t *testing.T, name, ns string) *networkingv1.NetworkPolicy {
	t.Helper()
	for _, o := range lab.Objects(&rotationsv1.LearningRotation{ObjectMeta: metav1.ObjectMeta{Name: "netpol"}}) {
		if np, ok := o.(*networkingv1.NetworkPolicy); ok && np.Name == name {
			np = np.DeepCopy()
			np.Namespace, np.OwnerReferences, np.ResourceVersion = ns, nil, ""
			return np
		}
	}
	t.Fatalf("internal/lab makes no NetworkPolicy %s", name)
	return nil
}

// Two namespaces, a and b, as two labs: the lab's ingress policy in b keeps
// a's pod from b's pod and Service while b's own pods still talk; an
// egress policy with an ipBlock exception (the shape of the lab's metadata
// policy) keeps a from one address and not from others. kube-router's
// network policy controller enforces it; Stop leaves no chain, ipset or
// process of it behind.
func TestRealNodeEnforcesNetworkPolicy(t *testing.T) {
	c, before := startRealNode(t)
	stopped := false
	defer func() {
		if !stopped {
			_ = c.Stop()
		}
	}()
	ctx := context.Background()
	cl, err := client.New(c.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			out, _ := exec.Command("kubectl", "--kubeconfig", c.KubeconfigPath, "get", "pods,svc,networkpolicies", "-A", "-o", "wide").CombinedOutput()
			t.Log(string(out))
			var b strings.Builder
			c.DumpLogs(&b, 40)
			t.Log(b.String())
			out, _ = exec.Command("iptables-save", "-t", "filter").CombinedOutput()
			t.Log(string(out))
		}
	}()

	// Each namespace runs web pods that serve on 8080; b's "web" is behind
	// a Service.
	pod := func(ns, name string) *corev1.Pod {
		spec := restrictedPod(testWebImage)
		spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080}}
		spec.Containers[0].ReadinessProbe = &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(8080)}}}
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}}, Spec: spec}
	}
	pods := []*corev1.Pod{pod("a", "client"), pod("b", "web"), pod("b", "peer")}
	for _, ns := range []string{"a", "b"} {
		if err := cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
		waitSA(t, cl, ns)
	}
	for _, p := range pods {
		if err := cl.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "b"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	if err := cl.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	ip := map[string]string{}
	for _, p := range pods {
		waitUntil(t, 90*time.Second, p.Namespace+"/"+p.Name+" ready", func() (bool, string) {
			var got corev1.Pod
			if err := cl.Get(ctx, client.ObjectKeyFromObject(p), &got); err != nil {
				return false, err.Error()
			}
			for _, cond := range got.Status.Conditions {
				if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
					ip[p.Namespace+"/"+p.Name] = got.Status.PodIP
					return true, ""
				}
			}
			return false, string(got.Status.Phase)
		})
	}
	webIP, peerIP := "http://"+ip["b/web"]+":8080/", "http://"+ip["b/peer"]+":8080/"
	svcURL := "http://" + svc.Spec.ClusterIP + "/"

	// get fetches url from inside a pod with the web image's own client.
	get := func(from, url string) (bool, string) {
		ns, name, _ := strings.Cut(from, "/")
		out, err := exec.Command("kubectl", "--kubeconfig", c.KubeconfigPath, "-n", ns, "exec", name, "--", "/web", "get", url).CombinedOutput()
		return err == nil, strings.TrimSpace(string(out))
	}
	reaches := func(from, url string) {
		t.Helper()
		waitUntil(t, 30*time.Second, from+" reaches "+url, func() (bool, string) { return get(from, url) })
	}
	// refused: kube-router REJECTs what no policy allows, so a blocked
	// request fails at once with "connection refused" (not a timeout,
	// which any broken network would give).
	refused := func(from, url string) time.Duration {
		t.Helper()
		start := time.Now()
		var last string
		waitUntil(t, 30*time.Second, from+" refused by "+url, func() (bool, string) {
			ok, out := get(from, url)
			last = out
			return !ok && strings.Contains(out, "connection refused"), out
		})
		t.Logf("%s -> %s: %s", from, url, firstLine(last))
		return time.Since(start)
	}
	apply := func(np *networkingv1.NetworkPolicy) time.Time {
		t.Helper()
		if err := cl.Create(ctx, np); err != nil {
			t.Fatal(err)
		}
		return time.Now()
	}
	remove := func(np *networkingv1.NetworkPolicy) {
		t.Helper()
		if err := cl.Delete(ctx, np); err != nil {
			t.Fatal(err)
		}
	}

	// No policy: everything reaches everything.
	reaches("a/client", webIP)
	reaches("a/client", svcURL)
	reaches("b/peer", webIP)

	// The lab's ingress policy in b: only b's own pods may connect.
	ingress := labPolicy(t, lab.IngressPolicyName, "b")
	applied := apply(ingress)
	refused("a/client", webIP)
	t.Logf("ingress policy enforced %s after create", time.Since(applied).Round(10*time.Millisecond))
	refused("a/client", svcURL) // after kube-proxy's DNAT, to b/web's IP
	refused("a/client", peerIP) // the policy selects every pod of b
	reaches("b/peer", webIP)
	reaches("b/peer", svcURL)

	// Deleted, it stops applying.
	remove(ingress)
	reaches("a/client", webIP)

	// Egress from a: everywhere but b/web, the shape of the lab's
	// metadata policy with b/web in place of the metadata address (which
	// no test may send to).
	egress := labPolicy(t, lab.MetadataEgressPolicy, "a")
	egress.Spec.Egress[0].To = []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: []string{ip["b/web"] + "/32"}}}}
	applied = apply(egress)
	refused("a/client", webIP)
	t.Logf("egress policy enforced %s after create", time.Since(applied).Round(10*time.Millisecond))
	refused("a/client", svcURL)
	reaches("a/client", peerIP)
	reaches("b/peer", webIP) // b's egress is not restricted
	remove(egress)

	// The lab's own metadata policy (with its IPv6 block, on an IPv4-only
	// node) blocks nothing else.
	apply(labPolicy(t, lab.MetadataEgressPolicy, "a"))
	reaches("a/client", webIP)
	reaches("a/client", svcURL)
	// kube-router's errors (klog's E lines) are worth reading even when
	// the traffic is right.
	for _, line := range strings.Split(logTail(c.logs["kube-router"], 500), "\n") {
		if strings.HasPrefix(line, "E") {
			t.Log("kube-router:", line)
		}
	}
	// What the cleanup must remove is there: kube-router's chains and
	// ipsets (so the host comparison below is not vacuous).
	var krChains, krSets []string
	for _, ch := range chains("iptables", "filter") {
		if strings.HasPrefix(ch, "KUBE-ROUTER-") || strings.HasPrefix(ch, "KUBE-NWPLCY-") || strings.HasPrefix(ch, "KUBE-POD-FW-") {
			krChains = append(krChains, ch)
		}
	}
	for _, s := range ipsets() {
		if ownIPSet(s) {
			krSets = append(krSets, s)
		}
	}
	if len(krChains) == 0 || len(krSets) == 0 {
		t.Fatalf("kube-router made no chains (%v) or no ipsets (%v)", krChains, krSets)
	}
	t.Logf("kube-router state before stop: %d chains, %d ipsets (%s)", len(krChains), len(krSets), strings.Join(krSets, " "))

	stopped = true
	stopStart := time.Now()
	if err := c.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	t.Logf("stop: %s", time.Since(stopStart).Round(10*time.Millisecond))
	if diff := before.Diff(TakeHostSnapshot()); len(diff) > 0 {
		t.Fatalf("the host differs from before the node started:\n%s", strings.Join(diff, "\n"))
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func TestOwnIPSet(t *testing.T) {
	for name, want := range map[string]bool{
		"KUBE-SRC-BCFJNGMZAJRQK3JA":       true,
		"KUBE-DST-QLVRIOE7PUJYYTZT":       true,
		"inet6:KUBE-DST-QLVRIOE7PUJYYTZT": true,
		"kube-router-local-pods":          true,
		"TMP-ABCDEFGHIJKLMNOP":            true,
		"TMP-mine":                        false,
		"KUBE-OTHER":                      false,
		"my-set":                          false,
	} {
		if got := ownIPSet(name); got != want {
			t.Errorf("ownIPSet(%q) = %t, want %t", name, got, want)
		}
	}
}
