package install_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/testutil"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// TestMakeDeploy: make deploy, 2 operator replicas with one leader and the
// registry; the learner's journey; make deploy of a newer build over the
// running one keeps rotations, grades and labs; make undeploy leaves
// nothing behind.
func TestMakeDeploy(t *testing.T) {
	registryVolume(t)
	host := registryHost(t)
	start := time.Now()
	t.Cleanup(func() {
		if t.Failed() { // leave the cluster clean for the next test
			_, _ = makeErr("undeploy")
		}
	})
	makeTarget(t, "deploy", "IMG="+operatorImage)
	if got := registryConfigHost(t); got != host {
		t.Fatalf("make deploy gave the registry the address %q, want the node's %q", got, host)
	}
	trustRegistry(t, host)
	first := applyRotation(t, "first-k")
	waitAvailable(t, operatorDeployment, 2, 3*time.Minute)
	waitAvailable(t, "lab-registry", 1, 2*time.Minute)
	l := waitLearner(t, first.Name, 3*time.Minute)
	t.Logf("make deploy to the first Ready rotation: %s (the image built in %s before)", time.Since(start).Round(100*time.Millisecond), imageBuilt.Round(100*time.Millisecond))
	leader := leaderOf(t)
	t.Logf("leader: %s", leader)

	j := applyRotation(t, "journey-k", "scale-and-expose")
	tools := applyRotation(t, "tools-k", "helm-install", "terraform-basics")
	jl := waitLearner(t, j.Name, 2*time.Minute)
	jl.kubectlExercise()
	toolsExercises(t, tools.Name)
	l.dockerPush(host)
	assertInfrastructureReady(t)

	// Upgrade: make deploy of a newer build over the running one keeps
	// every rotation, grade, lab and pushed image.
	before := snapshot(t)
	makeTarget(t, "deploy", "IMG="+operatorImageNext)
	waitAvailable(t, operatorDeployment, 2, 3*time.Minute)
	if img := deploymentImage(t, operatorDeployment); img != operatorImageNext {
		t.Fatalf("after the upgrade the operator runs %s", img)
	}
	jl.waitExercise("scale-and-expose", rotationsv1.ExercisePassed, time.Minute)
	if after := snapshot(t); before != after {
		t.Errorf("the upgrade changed rotations, grades or labs:\nbefore: %s\nafter:  %s\n%s", before, after, upgradeEvidence())
	}
	l.must("rollout", "status", "deployment/hello", "--timeout=60s")

	makeTarget(t, "undeploy")
	assertNothingLeft(t)
}

// toolsExercises: a learner solves helm-install with the helm CLI and
// terraform-basics with terraform, graded by a runner Job on the node.
func toolsExercises(t *testing.T, rotation string) {
	t.Helper()
	l := waitLearner(t, rotation, 2*time.Minute)
	l.helmExercise()
	l.terraformExercise()
}

// makeTarget runs a target of the Makefile against the cluster, as the
// README has the cluster admin do. manifests, a prerequisite of deploy,
// is taken as done (-o): it regenerates files of the tree, which make
// verify checks are up to date.
func makeTarget(t testing.TB, target string, vars ...string) {
	t.Helper()
	if out, err := makeErr(target, vars...); err != nil {
		t.Fatalf("make %s %s: %v\n%s", target, strings.Join(vars, " "), err, out)
	}
}

func makeErr(target string, vars ...string) (string, error) {
	root, err := toolchain.RepoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command("make", append([]string{"-C", root, "-o", "manifests", target}, vars...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+cluster.KubeconfigPath)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// registryConfigHost is the registry address make deploy gave labs: the
// lab-registry ConfigMap's host.
func registryConfigHost(t testing.TB) string {
	t.Helper()
	cm, err := clientset(t).CoreV1().ConfigMaps(operatorNamespace).Get(context.Background(), "lab-registry", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data["host"]
}

// leaderOf is the pod holding the operator's leader election Lease.
func leaderOf(t testing.TB) string {
	t.Helper()
	var holder string
	leases := clientset(t).CoordinationV1().Leases(operatorNamespace)
	list, err := leases.List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range list.Items {
		if l.Spec.HolderIdentity != nil {
			holder = *l.Spec.HolderIdentity
		}
	}
	if holder == "" {
		t.Fatalf("no leader among %d leases", len(list.Items))
	}
	name, _, _ := strings.Cut(holder, "_")
	return name
}

// assertNothingLeft: no object of the operator remains: its namespace,
// CRDs, cluster roles and bindings, admission policies, lab namespaces.
func assertNothingLeft(t testing.TB) {
	t.Helper()
	// Lab namespaces go by garbage collection, after their rotations.
	testutil.Eventually(t, 3*time.Minute, func(context.Context) error {
		var left []string
		for _, kind := range []string{"namespaces", "customresourcedefinitions", "clusterroles", "clusterrolebindings", "validatingadmissionpolicies", "validatingadmissionpolicybindings", "persistentvolumeclaims"} {
			out, err := kubectlErr("", "get", kind, "-A", "-o", "name")
			if err != nil {
				return fmt.Errorf("%w: %s", err, out)
			}
			for _, line := range strings.Fields(out) {
				if strings.Contains(line, "rotation") || strings.Contains(line, "/lab-") || strings.Contains(line, "handson.dev") {
					left = append(left, line)
				}
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("left behind: %s", strings.Join(left, " "))
		}
		return nil
	})
}
