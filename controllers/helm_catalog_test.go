package controllers_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

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
	createRotation(t, testutil.Rotation("helmcat").Exercises("helm-install").Obj())
	waitReady(t, "helmcat")
	learner := userClient(t, "helmcat@example.com")
	secret := &corev1.Secret{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: "lab-helmcat", Name: "learner-kubeconfig"}, secret); err != nil {
		t.Fatal(err)
	}
	helm := newHelmCLI(t, secret.Data["kubeconfig"])

	// kubectl get configmap exercise-helm-install -o jsonpath='{.data.web-0\.1\.0\.tgz\.b64}' | base64 -d > web-0.1.0.tgz
	cm := &corev1.ConfigMap{}
	if err := learner.Get(ctx, client.ObjectKey{Namespace: "lab-helmcat", Name: "exercise-helm-install"}, cm); err != nil {
		t.Fatalf("learner cannot read the exercise ConfigMap: %v", err)
	}
	tgz, err := base64.StdEncoding.DecodeString(cm.Data["web-0.1.0.tgz.b64"])
	if err != nil || len(tgz) == 0 {
		t.Fatalf("chart in the ConfigMap: %v (keys %v)", err, keys(cm.Data))
	}
	chart := filepath.Join(t.TempDir(), "web-0.1.0.tgz")
	if err := os.WriteFile(chart, tgz, 0o600); err != nil {
		t.Fatal(err)
	}
	exerciseResult(t, "helmcat", "helm-install", func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.LastGradedAt == nil {
			return fmt.Errorf("not graded yet")
		}
		return nil
	})

	// A wrong attempt first: the failure message the learner reads.
	helm.must(t, "install", "hello", chart, "--set", "replicaCount=1")
	exerciseResult(t, "helmcat", "helm-install", func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		c, ok := checkResult(r, "replica-count-value")
		if !ok || c.Passed || c.Message == "" || r.State != rotationsv1.ExerciseInProgress {
			return fmt.Errorf("state %s, replica-count-value = %+v", r.State, c)
		}
		return nil
	})
	helm.must(t, "upgrade", "hello", chart, "--set", "replicaCount=2", "--set", "service.port=8080")
	exerciseResult(t, "helmcat", "helm-install", func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExercisePassed || r.Points != 100 {
			return fmt.Errorf("state %s points %d checks %+v", r.State, r.Points, r.Checks)
		}
		return nil
	})
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// BenchmarkHelmUpgradeToStatusLatency measures the time from a learner's
// `helm upgrade` returning to the rotation's status showing its effect, over
// 20 upgrades per run. Run with -benchtime 1x.
func BenchmarkHelmUpgradeToStatusLatency(b *testing.B) {
	const upgrades = 20
	benchRuns++
	name, exercise := fmt.Sprintf("hbench-%d", benchRuns), fmt.Sprintf("b-helm-%d", benchRuns)
	createExercise(b, helmExercise(exercise))
	createRotation(b, testutil.Rotation(name).Exercises(exercise).Obj())
	waitReady(b, name)
	secret := &corev1.Secret{}
	if err := admin.Get(context.Background(), client.ObjectKey{Namespace: "lab-" + name, Name: "learner-kubeconfig"}, secret); err != nil {
		b.Fatal(err)
	}
	helm := newHelmCLI(b, secret.Data["kubeconfig"])
	chart := writeChart(b)
	helm.must(b, "install", "web", chart, "--set", "replicaCount=1")

	var samples []time.Duration
	b.ResetTimer()
	for range b.N {
		for i := range upgrades {
			replicas := 2 - i%2 // 2, 1, 2, 1, ...: the two-replicas check flips each time
			helm.must(b, "upgrade", "web", chart, "--set", fmt.Sprintf("replicaCount=%d", replicas))
			start := time.Now()
			waitCheck(b, name, exercise, "two-replicas", replicas == 2)
			samples = append(samples, time.Since(start))
		}
	}
	b.StopTimer()
	reportLatency(b, samples)
}
