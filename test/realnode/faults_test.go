package realnode_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// TestNodeCrashKeepsTheLabAndItsGrade: containerd and the kubelet are
// killed (SIGKILL) while the learner's pods run, then started again. The
// containers survive in their shims or are restarted, the lab serves
// again, and the learner's passed exercise keeps its state and points.
// Logs one line "FAULT <name> converged in <duration>", as test/faults does.
func TestNodeCrashKeepsTheLabAndItsGrade(t *testing.T) {
	l := provision(t, "crash", "scale-and-expose")
	l.must("scale", "deployment/web", "--replicas=3")
	l.must("expose", "deployment/web", "--port=80", "--target-port=8080")
	l.must("rollout", "status", "deployment/web", "--timeout=90s")
	l.waitExercise("scale-and-expose", rotationsv1.ExercisePassed)
	before, err := l.exercise(context.Background(), "scale-and-expose")
	if err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"kubelet", "containerd"} {
		if err := cluster.KillNodeComponent(name); err != nil {
			t.Fatal(err)
		}
	}
	killed := time.Now()
	// While the node is down the operator keeps grading from the API: the
	// learner's work is not lost and nothing regresses.
	time.Sleep(2 * time.Second)
	for _, name := range []string{"containerd", "kubelet"} {
		if err := cluster.RestartNodeComponent(context.Background(), name); err != nil {
			t.Fatalf("restarting %s: %v", name, err)
		}
	}
	l.must("rollout", "status", "deployment/web", "--timeout=120s")
	testutil.Eventually(t, 60*time.Second, func(context.Context) error {
		out, err := l.kubectl("exec", "deploy/web", "--", "/web", "get", "http://127.0.0.1:8080/readyz")
		if err != nil {
			return fmt.Errorf("exec after the crash: %w %s", err, out)
		}
		return nil
	})
	t.Logf("FAULT node-crash converged in %s", time.Since(killed).Round(10*time.Millisecond))
	// The node still stops pods: a rollout replaces every pod, so the old
	// ones must terminate (a Helm upgrade later in the suite waits on that).
	l.must("set", "env", "deployment/web", "AFTER_CRASH=1")
	l.must("rollout", "status", "deployment/web", "--timeout=90s")
	testutil.Eventually(t, 60*time.Second, func(context.Context) error {
		out := l.must("get", "deployment/web", "-o", "jsonpath={.status.replicas}/{.status.terminatingReplicas}")
		if out != "3/" && out != "3/0" {
			return fmt.Errorf("replicas/terminating %s after the rollout", out)
		}
		return nil
	})

	after, err := l.exercise(context.Background(), "scale-and-expose")
	if err != nil {
		t.Fatal(err)
	}
	if after.State != rotationsv1.ExercisePassed || after.Points != before.Points {
		t.Fatalf("grade changed by the crash: %s %d points, was %s %d", after.State, after.Points, before.State, before.Points)
	}
	if strings.Contains(l.must("get", "events", "-o", "jsonpath={.items[*].reason}"), "ExerciseRegressed") {
		t.Fatal("the crash regressed an exercise")
	}
}
