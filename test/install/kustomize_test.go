package install_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// TestMakeDeploy: make deploy, 2 operator replicas with one leader and the
// registry; the learner's journey; make undeploy leaves nothing behind.
func TestMakeDeploy(t *testing.T) {
	registryVolume(t)
	host := registryHost(t)
	start := time.Now()
	manifest := kustomizeBuild(t, operatorImage, host)
	t.Cleanup(func() {
		if t.Failed() { // leave the cluster clean for the next test
			_, _ = kubectlErr(manifest, "delete", "--ignore-not-found", "--wait=true", "--timeout=3m", "-f", "-")
		}
	})
	kubectl(t, manifest, "apply", "--server-side", "-f", "-")
	trustRegistry(t, host)
	first := applyRotation(t, "first-k")
	waitAvailable(t, operatorDeployment, 2, 3*time.Minute)
	waitAvailable(t, "lab-registry", 1, 2*time.Minute)
	l := waitLearner(t, first.Name, 3*time.Minute)
	t.Logf("make deploy to the first Ready rotation: %s (the image built in %s before)", time.Since(start).Round(100*time.Millisecond), imageBuilt.Round(100*time.Millisecond))
	leader := leaderOf(t)
	t.Logf("leader: %s", leader)

	j := applyRotation(t, "journey-k", "scale-and-expose")
	jl := waitLearner(t, j.Name, 2*time.Minute)
	jl.kubectlExercise()
	l.dockerPush(host)

	kubectl(t, manifest, "delete", "--ignore-not-found", "--wait=true", "--timeout=3m", "-f", "-")
	assertNothingLeft(t)
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
