package controllers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// expectedStatusMetrics computes, from the rotations themselves, what the
// status gauges must read.
func expectedStatusMetrics(ctx context.Context) (map[string]float64, error) {
	list := &rotationsv1.LearningRotationList{}
	if err := admin.List(ctx, list); err != nil {
		return nil, err
	}
	want := map[string]float64{"rotation_operator_help_requests_open": 0}
	for _, p := range []rotationsv1.RotationPhase{rotationsv1.PhaseScheduled, rotationsv1.PhaseActive, rotationsv1.PhaseSuspended, rotationsv1.PhaseExpired} {
		want[fmt.Sprintf(`rotation_operator_rotations{phase=%q}`, p)] = 0
	}
	for _, tr := range []rotationsv1.Track{rotationsv1.TrackKubernetes, rotationsv1.TrackHelm} {
		for _, st := range []rotationsv1.ExerciseState{rotationsv1.ExerciseNotStarted, rotationsv1.ExerciseInProgress, rotationsv1.ExercisePassed, rotationsv1.ExerciseFailed} {
			want[fmt.Sprintf(`rotation_operator_exercises{state=%q,track=%q}`, st, tr)] = 0
		}
		want[fmt.Sprintf(`rotation_operator_exercises_passed{track=%q}`, tr)] = 0
	}
	for _, lr := range list.Items {
		if k := fmt.Sprintf(`rotation_operator_rotations{phase=%q}`, lr.Status.Phase); lr.Status.Phase != "" {
			want[k]++
		}
		if meta.IsStatusConditionTrue(lr.Status.Conditions, rotationsv1.ConditionHelpRequested) {
			want["rotation_operator_help_requests_open"]++
		}
		for _, e := range lr.Status.Exercises {
			if k := fmt.Sprintf(`rotation_operator_exercises{state=%q,track=%q}`, e.State, e.Track); e.Track != "" {
				want[k]++
			}
			if e.FirstPassedAt != nil {
				want[fmt.Sprintf(`rotation_operator_exercises_passed{track=%q}`, e.Track)]++
			}
		}
	}
	return want, nil
}

// metricsMatchRotations waits until the status gauges agree with the
// rotations (the metrics read the operator's cache, which may lag a little),
// and returns the scrape.
func metricsMatchRotations(t testing.TB) map[string]float64 {
	t.Helper()
	var got map[string]float64
	testutil.Eventually(t, 15*time.Second, func(ctx context.Context) error {
		want, err := expectedStatusMetrics(ctx)
		if err != nil {
			return err
		}
		if got, err = scrape(ctx); err != nil {
			return err
		}
		for k, v := range want {
			if g, ok := got[k]; !ok || g != v {
				return fmt.Errorf("%s = %v (present %t), want %v", k, g, ok, v)
			}
		}
		return nil
	})
	return got
}

func TestMetricsAreServed(t *testing.T) {
	ctx := context.Background()
	const rotation, exercise, ns = "tb-metrics", "tb-metrics-scale", "lab-tb-metrics"
	createExercise(t, scaleExercise(exercise))
	createRotation(t, testutil.Rotation(rotation).Exercises(exercise).Obj())
	waitReady(t, rotation)
	learner := learnerSA(t, rotation)

	m := metricsMatchRotations(t)
	if m[`rotation_operator_rotations{phase="Active"}`] < 1 {
		t.Errorf("no Active rotation counted: %v", m[`rotation_operator_rotations{phase="Active"}`])
	}
	// Grading durations, by collector: one series per fact source, ready at zero.
	kube := `rotation_operator_grading_duration_seconds_count{collector="kube"}`
	if m[kube] < 1 {
		t.Errorf("%s = %v, want grading passes timed", kube, m[kube])
	}
	for _, c := range []string{"helm", "terraform", "docker", "submission"} {
		k := fmt.Sprintf(`rotation_operator_grading_duration_seconds_count{collector=%q}`, c)
		if _, ok := m[k]; !ok {
			t.Errorf("%s missing", k)
		}
		if _, ok := m[fmt.Sprintf(`rotation_operator_grading_errors_total{collector=%q}`, c)]; !ok {
			t.Errorf("grading errors for %s missing", c)
		}
	}
	if v := m[`rotation_operator_grading_duration_seconds_count{collector="terraform"}`]; v != 0 {
		t.Errorf("terraform gradings = %v before any terraform exercise is graded", v)
	}
	if _, ok := m[`controller_runtime_reconcile_total{controller="learningrotation",result="success"}`]; !ok {
		t.Error("controller-runtime's own metrics are not served alongside")
	}

	// A change is graded: the kube collector's count grows.
	scale(t, learner, ns, 3)
	if err := learner.Create(ctx, webService(ns)); err != nil {
		t.Fatal(err)
	}
	exerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExercisePassed {
			return fmt.Errorf("result = %+v", r)
		}
		return nil
	})
	m2 := metricsMatchRotations(t)
	if m2[kube] <= m[kube] {
		t.Errorf("%s did not grow with grading: %v then %v", kube, m[kube], m2[kube])
	}
	if v := m2[`rotation_operator_exercises_passed{track="kubernetes"}`]; v < 1 {
		t.Errorf("passed kubernetes exercises = %v", v)
	}

	// An open help request, then acknowledged.
	asked := time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	if err := learner.Create(ctx, requestConfigMap(ns, rotationsv1.RequestHelpName, rotationsv1.RequestHelp,
		map[string]string{rotationsv1.RequestKeyMessage: "help", rotationsv1.RequestKeyRequestedAt: asked})); err != nil {
		t.Fatal(err)
	}
	rotationWhere(t, rotation, func(lr *rotationsv1.LearningRotation) error {
		return condition(lr, rotationsv1.ConditionHelpRequested, metav1.ConditionTrue, rotationsv1.ReasonHelpRequested)
	})
	open := metricsMatchRotations(t)["rotation_operator_help_requests_open"]
	if open < 1 {
		t.Errorf("help requests open = %v with one open", open)
	}
	annotate(t, rotation, rotationsv1.AnnotationHelpAcknowledged, asked)
	rotationWhere(t, rotation, func(lr *rotationsv1.LearningRotation) error {
		return condition(lr, rotationsv1.ConditionHelpRequested, metav1.ConditionFalse, rotationsv1.ReasonHelpAcknowledged)
	})
	if v := metricsMatchRotations(t)["rotation_operator_help_requests_open"]; v != open-1 {
		t.Errorf("help requests open = %v after the acknowledgement, want %v", v, open-1)
	}

	// A suspended rotation is counted as such.
	setSuspend(t, rotation, true)
	rotationWhere(t, rotation, func(lr *rotationsv1.LearningRotation) error {
		if lr.Status.Phase != rotationsv1.PhaseSuspended {
			return fmt.Errorf("phase %s", lr.Status.Phase)
		}
		return nil
	})
	if v := metricsMatchRotations(t)[`rotation_operator_rotations{phase="Suspended"}`]; v < 1 {
		t.Errorf("suspended rotations = %v", v)
	}
}
