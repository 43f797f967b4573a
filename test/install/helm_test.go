package install_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/testutil"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// helm runs the helm CLI (Helm v4, built by the toolchain) as the
// cluster admin.
func helm(t testing.TB, args ...string) string {
	t.Helper()
	paths, err := toolchain.Ensure(context.Background(), os.Stderr, toolchain.Helm)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(paths.Helm, append([]string{"--kubeconfig", cluster.KubeconfigPath}, args...)...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(cluster.WorkDir, "helm", "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(cluster.WorkDir, "helm", "config"), "HELM_DATA_HOME="+filepath.Join(cluster.WorkDir, "helm", "data"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// helmValues are the --set flags of the README's helm install.
func helmValues(image, host string) []string {
	repo, tag, _ := strings.Cut(image, ":")
	return []string{"--set", "image.repository=" + repo, "--set", "image.tag=" + tag, "--set", "registry.host=" + host}
}

// TestHelmInstall: helm install of the chart, 2 leader-elected replicas and
// the registry; the learner's journey; the leader killed mid-provision;
// helm upgrade to a newer build keeps rotations, grades and labs; helm
// uninstall leaves no operator object behind.
func TestHelmInstall(t *testing.T) {
	registryVolume(t)
	host := registryHost(t)
	chart := filepath.Join(repoRoot(t), "charts", "rotation-operator")
	start := time.Now()
	// The namespace runs pods under the restricted Pod Security standard.
	t.Cleanup(func() {
		if t.Failed() { // leave the cluster clean for the next test
			paths, err := toolchain.Ensure(context.Background(), os.Stderr, toolchain.Helm)
			if err == nil {
				_ = exec.Command(paths.Helm, "--kubeconfig", cluster.KubeconfigPath, "uninstall", "rotation", "--namespace", operatorNamespace, "--wait", "--timeout", "3m").Run()
			}
			_, _ = kubectlErr("", "delete", "namespace", operatorNamespace, "--ignore-not-found", "--wait=true", "--timeout=2m")
		}
	})
	kubectl(t, "", "create", "namespace", operatorNamespace)
	kubectl(t, "", "label", "namespace", operatorNamespace, "pod-security.kubernetes.io/enforce=restricted")
	helm(t, append([]string{"install", "rotation", chart, "--namespace", operatorNamespace, "--wait", "--timeout", "5m"}, helmValues(operatorImage, host)...)...)
	trustRegistry(t, host)
	first := applyRotation(t, "first-h", "scale-and-expose")
	l := waitLearner(t, first.Name, 3*time.Minute)
	t.Logf("helm install to the first Ready rotation: %s (the image built in %s before)", time.Since(start).Round(100*time.Millisecond), imageBuilt.Round(100*time.Millisecond))
	waitAvailable(t, operatorDeployment, 2, time.Minute)

	tools := applyRotation(t, "tools-h", "helm-install", "terraform-basics")
	l.kubectlExercise()
	l.dockerPush(host)
	toolsExercises(t, tools.Name)
	assertInfrastructureReady(t)

	// The leader dies while a rotation is being provisioned: the other
	// replica takes over and the lab converges, each object written once.
	leader := leaderOf(t)
	killed := applyRotation(t, "killed-h", "scale-and-expose")
	kubectl(t, "", "-n", operatorNamespace, "delete", "pod", leader, "--grace-period=0", "--force", "--wait=false")
	k := waitLearner(t, killed.Name, 3*time.Minute)
	if now := leaderOf(t); now == leader {
		t.Errorf("the killed pod %s still leads", leader)
	}
	assertWrittenOnce(t, k.ns)
	waitAvailable(t, operatorDeployment, 2, 2*time.Minute)

	// Upgrade to a newer build: every rotation, grade, lab and pushed image stays.
	before := snapshot(t)
	helm(t, append([]string{"upgrade", "rotation", chart, "--namespace", operatorNamespace, "--wait", "--timeout", "5m"}, helmValues(operatorImageNext, host)...)...)
	waitAvailable(t, operatorDeployment, 2, 2*time.Minute)
	if img := deploymentImage(t, operatorDeployment); img != operatorImageNext {
		t.Fatalf("after the upgrade the operator runs %s", img)
	}
	l.waitExercise("scale-and-expose", rotationsv1.ExercisePassed, time.Minute)
	after := snapshot(t)
	if before != after {
		t.Errorf("the upgrade changed rotations, grades or labs:\nbefore: %s\nafter:  %s\n%s", before, after, upgradeEvidence())
	}
	l.must("rollout", "status", "deployment/hello", "--timeout=60s")

	helm(t, "uninstall", "rotation", "--namespace", operatorNamespace, "--wait", "--timeout", "3m")
	assertOnlyRuntimeLeft(t)
	kubectl(t, "", "delete", "namespace", operatorNamespace, "--wait=true", "--timeout=2m")
	assertNothingLeft(t)
}

func deploymentImage(t testing.TB, name string) string {
	t.Helper()
	d, err := clientset(t).AppsV1().Deployments(operatorNamespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d.Spec.Template.Spec.Containers[0].Image
}

// snapshot names every rotation with its UID, lab namespace UID and
// exercise states: what an upgrade must keep.
func snapshot(t testing.TB) string {
	t.Helper()
	var list rotationsv1.LearningRotationList
	if err := admin(t).List(context.Background(), &list); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, lr := range list.Items {
		ns, err := clientset(t).CoreV1().Namespaces().Get(context.Background(), lab.Namespace(lr.Name), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s(%s) lab %s;", lr.Name, lr.UID, ns.UID)
		for _, e := range lr.Status.Exercises {
			// The attempts and the facts hash say why a state moved.
			fmt.Fprintf(&b, " %s=%s(attempts %d, facts %s)", e.Name, e.State, e.Attempts, e.FactsHash)
		}
		b.WriteString(" | ")
	}
	return b.String()
}

// assertWrittenOnce: a lab provisioned across a leader change has each
// starter Deployment at its first generation and one kubeconfig Secret:
// the new leader did not write what the old one had.
func assertWrittenOnce(t testing.TB, ns string) {
	t.Helper()
	ds, err := clientset(t).AppsV1().Deployments(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Items) == 0 {
		t.Fatalf("no starter Deployment in %s", ns)
	}
	for _, d := range ds.Items {
		if d.Generation != 1 {
			t.Errorf("deployment %s/%s at generation %d: written more than once", ns, d.Name, d.Generation)
		}
	}
}

// assertOnlyRuntimeLeft: after helm uninstall the release namespace holds
// nothing of the operator's but the leader election Lease the operator
// made at runtime (removed with the namespace, as the README says); the
// registry's Secrets went with its Deployment.
func assertOnlyRuntimeLeft(t testing.TB) {
	t.Helper()
	testutil.Eventually(t, 2*time.Minute, func(context.Context) error {
		out, err := kubectlErr("", "-n", operatorNamespace, "get", "deployments,pods,services,configmaps,secrets,serviceaccounts,roles,rolebindings,persistentvolumeclaims,leases", "-o", "name")
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		var left []string
		for _, o := range strings.Fields(out) {
			switch {
			case o == "configmap/kube-root-ca.crt", o == "serviceaccount/default", strings.HasPrefix(o, "lease.coordination.k8s.io/"):
			default:
				left = append(left, o)
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("left behind by helm uninstall: %s", strings.Join(left, " "))
		}
		return nil
	})
	var list rotationsv1.LearningRotationList
	if err := admin(t).List(context.Background(), &list, client.Limit(1)); err == nil {
		t.Errorf("rotations are still served after helm uninstall (crds.keep is false): %d", len(list.Items))
	}
}

// upgradeEvidence is what explains a grade that moved across an upgrade:
// the lab objects the checks read and the operator's log lines on grading.
func upgradeEvidence() string {
	var b strings.Builder
	for _, args := range [][]string{
		{"get", "deployments,services", "-A", "-l", "!app.kubernetes.io/part-of", "-o", "yaml"},
		{"-n", operatorNamespace, "logs", "-l", "app.kubernetes.io/name=rotation-operator", "--tail=300", "--prefix"},
		{"get", "events", "-A", "--field-selector", "involvedObject.kind=LearningRotation"},
	} {
		out, err := kubectlErr("", args...)
		fmt.Fprintf(&b, "$ kubectl %s (%v)\n%s\n", strings.Join(args, " "), err, out)
	}
	return b.String()
}
