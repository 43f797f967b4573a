package controllers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// BenchmarkHelmUpgradeToStatusLatency measures the time from a learner's
// `helm upgrade` returning to the rotation's status showing its effect, over
// 20 upgrades per run. Run with -benchtime 1x.
func BenchmarkHelmUpgradeToStatusLatency(b *testing.B) {
	const upgrades = 20
	benchRuns++
	name, exercise := fmt.Sprintf("hbench-%d", benchRuns), fmt.Sprintf("b-helm-%d", benchRuns)
	createExercise(b, testutil.HelmExercise(exercise))
	createRotation(b, testutil.Rotation(name).Exercises(exercise).Obj())
	waitReady(b, name)
	secret := &corev1.Secret{}
	if err := admin.Get(context.Background(), client.ObjectKey{Namespace: "lab-" + name, Name: "learner-kubeconfig"}, secret); err != nil {
		b.Fatal(err)
	}
	helm := testutil.NewHelmCLI(b, secret.Data["kubeconfig"])
	chart := testutil.WriteChart(b)
	helm.Must(b, "install", "web", chart, "--set", "replicaCount=1")

	var samples []time.Duration
	b.ResetTimer()
	for range b.N {
		for i := range upgrades {
			replicas := 2 - i%2 // 2, 1, 2, 1, ...: the two-replicas check flips each time
			helm.Must(b, "upgrade", "web", chart, "--set", fmt.Sprintf("replicaCount=%d", replicas))
			start := time.Now()
			waitCheck(b, name, exercise, "two-replicas", replicas == 2)
			samples = append(samples, time.Since(start))
		}
	}
	b.StopTimer()
	reportLatency(b, samples)
}
