package testutil

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// Env is a control plane with the operator running, as a suite's tests
// reach it: the integration suite in controllers/ and the journeys in
// test/e2e build one in their TestMain and share these helpers.
type Env struct {
	// Config reaches the apiserver as its admin; UserClient impersonates
	// users from it.
	Config *rest.Config
	// Admin is a client acting as the cluster's admin.
	Admin client.Client
	// TerraformMirror is the provider mirror the learner's terraform and
	// the operator's grader use.
	TerraformMirror string
}

// CreateRotation creates lr and removes it when the test ends.
func (e Env) CreateRotation(t testing.TB, lr *rotationsv1.LearningRotation) *rotationsv1.LearningRotation {
	t.Helper()
	if err := e.Admin.Create(context.Background(), lr); err != nil {
		t.Fatalf("creating rotation %s: %v", lr.Name, err)
	}
	t.Cleanup(func() { _ = e.Admin.Delete(context.Background(), lr) })
	return lr
}

// CreateExercise creates ex and removes it when the test ends.
func (e Env) CreateExercise(t testing.TB, ex *rotationsv1.Exercise) {
	t.Helper()
	if err := e.Admin.Create(context.Background(), ex); err != nil {
		t.Fatalf("creating exercise %s: %v", ex.Name, err)
	}
	t.Cleanup(func() { _ = e.Admin.Delete(context.Background(), ex) })
}

// WaitReady waits for the rotation to be Ready and returns it.
func (e Env) WaitReady(t testing.TB, name string) *rotationsv1.LearningRotation {
	t.Helper()
	lr := &rotationsv1.LearningRotation{}
	Eventually(t, 60*time.Second, func(ctx context.Context) error {
		if err := e.Admin.Get(ctx, client.ObjectKey{Name: name}, lr); err != nil {
			return err
		}
		if !meta.IsStatusConditionTrue(lr.Status.Conditions, rotationsv1.ConditionReady) || lr.Status.ObservedGeneration != lr.Generation {
			return fmt.Errorf("rotation %s not Ready: %+v", name, lr.Status.Conditions)
		}
		return nil
	})
	return lr
}

// ExerciseResult waits until cond holds for the rotation's result of an exercise.
func (e Env) ExerciseResult(t testing.TB, rotation, exercise string, cond func(*rotationsv1.LearningRotation, *rotationsv1.ExerciseResult) error) *rotationsv1.LearningRotation {
	t.Helper()
	lr := &rotationsv1.LearningRotation{}
	Eventually(t, 30*time.Second, func(ctx context.Context) error {
		if err := e.Admin.Get(ctx, client.ObjectKey{Name: rotation}, lr); err != nil {
			return err
		}
		for i := range lr.Status.Exercises {
			if lr.Status.Exercises[i].Name == exercise {
				return cond(lr, &lr.Status.Exercises[i])
			}
		}
		return fmt.Errorf("no result for %s yet: %+v", exercise, lr.Status.Exercises)
	})
	return lr
}

// CheckResult finds a check's result by name.
func CheckResult(r *rotationsv1.ExerciseResult, name string) (rotationsv1.CheckResult, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return rotationsv1.CheckResult{}, false
}
