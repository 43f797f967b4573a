package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// TestHelmLearnerJourney: a learner drives the real helm CLI with only the
// kubeconfig the operator issued, and the grader follows the release through
// install, upgrades and a rollback, reading Helm's release Secrets.
func TestHelmLearnerJourney(t *testing.T) {
	ctx := context.Background()
	const rotation, exercise, ns = "helmer", "t-helm", "lab-helmer"
	chart := testutil.WriteChart(t)
	env.CreateExercise(t, testutil.HelmExercise(exercise))
	env.CreateRotation(t, testutil.Rotation(rotation).Exercises(exercise).Obj())
	env.WaitReady(t, rotation)

	secret := &corev1.Secret{}
	if err := env.Admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "learner-kubeconfig"}, secret); err != nil {
		t.Fatal(err)
	}
	helm := testutil.NewHelmCLI(t, secret.Data["kubeconfig"])

	// The baseline grading, before the learner does anything: later changes
	// are the learner's attempts.
	env.ExerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExerciseNotStarted || r.MaxPoints != 30 || r.Points != 0 || len(r.Checks) != 4 {
			return fmt.Errorf("result = %+v", r)
		}
		return nil
	})

	// A wrong attempt: installed, but with one replica. No -n: the
	// kubeconfig's context defaults to the lab namespace.
	helm.Must(t, "install", "web", chart, "--set", "replicaCount=1")
	env.ExerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExerciseInProgress || r.Attempts < 1 || r.FailedAttempts < 1 {
			return fmt.Errorf("result = %+v", r)
		}
		if c, _ := testutil.CheckResult(r, "installed"); !c.Passed {
			return fmt.Errorf("check installed = %+v", c)
		}
		if c, _ := testutil.CheckResult(r, "two-replicas"); c.Passed || c.Message != "set replicaCount to 2 in the release's values" {
			return fmt.Errorf("check two-replicas = %+v", c)
		}
		if r.Hint != "helm upgrade web <chart> --set replicaCount=2" {
			return fmt.Errorf("hint %d %q", r.HintsUnlocked, r.Hint)
		}
		return nil
	})

	// Fixed, upgraded to a new image, then rolled back to the fixed revision.
	helm.Must(t, "upgrade", "web", chart, "--set", "replicaCount=2")
	helm.Must(t, "upgrade", "web", chart, "--set", "replicaCount=2", "--set", "image.tag=1.1")
	env.ExerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if c, _ := testutil.CheckResult(r, "two-replicas"); !c.Passed {
			return fmt.Errorf("check two-replicas = %+v", c)
		}
		if c, _ := testutil.CheckResult(r, "upgraded-then-rolled-back"); c.Passed {
			return fmt.Errorf("check upgraded-then-rolled-back passes before any rollback: %+v", c)
		}
		if r.State == rotationsv1.ExercisePassed {
			return fmt.Errorf("passed before the rollback: %+v", r)
		}
		return nil
	})
	helm.Must(t, "rollback", "web", "2")

	lr := env.ExerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExercisePassed || r.Points != 30 || r.BestPoints != 30 || r.FirstPassedAt == nil {
			return fmt.Errorf("result = %+v", r)
		}
		return nil
	})
	if lr.Status.Score != 30 || lr.Status.Progress != "1/1" {
		t.Errorf("score %d progress %q", lr.Status.Score, lr.Status.Progress)
	}

	// Helm itself agrees on the history the grader read.
	var history []struct {
		Revision    int    `json:"revision"`
		Status      string `json:"status"`
		Description string `json:"description"`
	}
	out := helm.Must(t, "history", "web", "-o", "json")
	if err := json.Unmarshal([]byte(out), &history); err != nil {
		t.Fatalf("helm history: %v\n%s", err, out)
	}
	if len(history) != 4 || history[3].Status != "deployed" || history[3].Description != "Rollback to 2" {
		t.Errorf("helm history = %+v, want 4 revisions, the last a deployed rollback to 2", history)
	}

	// The same kubeconfig reaches no other namespace's releases.
	for _, args := range [][]string{{"list", "-n", "default"}, {"list", "-n", "kube-system"}, {"list", "--all-namespaces"}} {
		out, err := helm.Run(args...)
		if err == nil || !strings.Contains(out, "forbidden") {
			t.Errorf("helm %s as the learner: err = %v, want forbidden\n%s", strings.Join(args, " "), err, out)
			continue
		}
		t.Logf("helm %s as the learner: %s", strings.Join(args, " "), strings.TrimSpace(out))
	}
}
