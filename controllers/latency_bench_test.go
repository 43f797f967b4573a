package controllers_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// BenchmarkChangeToStatusLatency measures the time from a learner's change
// (kubectl scale, as the learner) to the rotation's status showing its
// grade, over 50 changes per iteration. Run with -benchtime 1x:
//
//	go test ./controllers -run '^$' -bench ChangeToStatus -benchtime 1x
func BenchmarkChangeToStatusLatency(b *testing.B) {
	const changes = 50
	benchRuns++ // -count reruns get fresh names: the previous lab may still be terminating
	name, exercise := fmt.Sprintf("bench-%d", benchRuns), fmt.Sprintf("b-scale-%d", benchRuns)
	createExercise(b, scaleExercise(exercise))
	createRotation(b, testutil.Rotation(name).Exercises(exercise).Obj())
	waitReady(b, name)
	learner := userClient(b, name+"@example.com")
	exerciseResult(b, name, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.StarterCreatedAt == nil {
			return fmt.Errorf("starter not created yet")
		}
		return nil
	})

	var samples []time.Duration
	b.ResetTimer()
	for range b.N {
		for i := range changes {
			replicas := int32(3)
			if i%2 == 1 {
				replicas = 2
			}
			start := time.Now()
			scale(b, learner, "lab-"+name, replicas)
			waitCheck(b, name, exercise, "three-replicas", replicas == 3)
			samples = append(samples, time.Since(start))
		}
	}
	b.StopTimer()
	reportLatency(b, samples)
}

// reportLatency reports the p50 and p99 of latency samples.
func reportLatency(b *testing.B, samples []time.Duration) {
	slices.Sort(samples)
	pct := func(p float64) time.Duration { return samples[int(p*float64(len(samples)-1))] }
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(len(samples)), "changes")
}

var benchRuns int

// waitCheck polls the rotation every 5 ms (fine enough for latency
// figures) until a check of an exercise has the given result.
func waitCheck(b testing.TB, rotation, exercise, check string, passed bool) {
	lr := &rotationsv1.LearningRotation{}
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if err := admin.Get(ctx, client.ObjectKey{Name: rotation}, lr); err == nil {
			for i := range lr.Status.Exercises {
				if r := &lr.Status.Exercises[i]; r.Name == exercise {
					if c, ok := testutil.CheckResult(r, check); ok && c.Passed == passed {
						return
					}
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.Fatalf("status of %s/%s never showed %s passed=%v", rotation, exercise, check, passed)
}
