package e2e_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// The built-in helm-install exercise, done as its instructions say: the
// chart comes out of the lab's instructions ConfigMap (no chart repository),
// and the real helm CLI installs it with only the learner's kubeconfig.
func TestHelmInstallBuiltinExerciseOffline(t *testing.T) {
	ctx := context.Background()
	env.CreateRotation(t, testutil.Rotation("helmcat").Exercises("helm-install").Obj())
	env.WaitReady(t, "helmcat")
	learner := env.UserClient(t, "helmcat@example.com")
	secret := &corev1.Secret{}
	if err := env.Admin.Get(ctx, client.ObjectKey{Namespace: "lab-helmcat", Name: "learner-kubeconfig"}, secret); err != nil {
		t.Fatal(err)
	}
	helm := testutil.NewHelmCLI(t, secret.Data["kubeconfig"])

	// kubectl get configmap exercise-helm-install -o jsonpath='{.data.web-0\.1\.0\.tgz\.b64}' | base64 -d > web-0.1.0.tgz
	cm := &corev1.ConfigMap{}
	if err := learner.Get(ctx, client.ObjectKey{Namespace: "lab-helmcat", Name: "exercise-helm-install"}, cm); err != nil {
		t.Fatalf("learner cannot read the exercise ConfigMap: %v", err)
	}
	tgz, err := base64.StdEncoding.DecodeString(cm.Data["web-0.1.0.tgz.b64"])
	if err != nil || len(tgz) == 0 {
		t.Fatalf("chart in the ConfigMap: %v (keys %v)", err, slices.Sorted(maps.Keys(cm.Data)))
	}
	chart := filepath.Join(t.TempDir(), "web-0.1.0.tgz")
	if err := os.WriteFile(chart, tgz, 0o600); err != nil {
		t.Fatal(err)
	}
	env.ExerciseResult(t, "helmcat", "helm-install", func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.LastGradedAt == nil {
			return fmt.Errorf("not graded yet")
		}
		return nil
	})

	// A wrong attempt first: the failure message the learner reads.
	helm.Must(t, "install", "hello", chart, "--set", "replicaCount=1")
	env.ExerciseResult(t, "helmcat", "helm-install", func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		c, ok := testutil.CheckResult(r, "replica-count-value")
		if !ok || c.Passed || c.Message == "" || r.State != rotationsv1.ExerciseInProgress {
			return fmt.Errorf("state %s, replica-count-value = %+v", r.State, c)
		}
		return nil
	})
	helm.Must(t, "upgrade", "hello", chart, "--set", "replicaCount=2", "--set", "service.port=8080")
	env.ExerciseResult(t, "helmcat", "helm-install", func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExercisePassed || r.Points != 100 {
			return fmt.Errorf("state %s points %d checks %+v", r.State, r.Points, r.Checks)
		}
		return nil
	})
}
