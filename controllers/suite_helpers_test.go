package controllers_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// The suite's shorthands for internal/testutil's helpers, bound to its
// control plane (env) and metrics endpoint; test/e2e shares the helpers.

func createRotation(t testing.TB, lr *rotationsv1.LearningRotation) *rotationsv1.LearningRotation {
	t.Helper()
	return env.CreateRotation(t, lr)
}

func createExercise(t testing.TB, ex *rotationsv1.Exercise) {
	t.Helper()
	env.CreateExercise(t, ex)
}

func waitReady(t testing.TB, name string) *rotationsv1.LearningRotation {
	t.Helper()
	return env.WaitReady(t, name)
}

func exerciseResult(t testing.TB, rotation, exercise string, cond func(*rotationsv1.LearningRotation, *rotationsv1.ExerciseResult) error) *rotationsv1.LearningRotation {
	t.Helper()
	return env.ExerciseResult(t, rotation, exercise, cond)
}

func userClient(t testing.TB, user string, groups ...string) client.Client {
	t.Helper()
	return env.UserClient(t, user, groups...)
}

func learnerSA(t testing.TB, rotation string) client.Client {
	t.Helper()
	return env.LearnerSA(t, rotation)
}

func submit(t *testing.T, c client.Client, ns, exercise string, files map[string]string) {
	t.Helper()
	testutil.Submit(t, c, ns, exercise, files)
}

func requestConfigMap(ns, name, kind string, data map[string]string) *corev1.ConfigMap {
	return testutil.RequestConfigMap(ns, name, kind, data)
}

func scrape(ctx context.Context) (map[string]float64, error) {
	return testutil.Scrape(ctx, metricsAddr)
}
