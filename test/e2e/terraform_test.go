package e2e_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	tf "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// TestTerraformExerciseThroughTheOperator does the built-in terraform-basics
// exercise as a learner would: the real terraform CLI with only the lab
// kubeconfig applies the configuration with state in the lab, the learner
// hands it in, and the operator's sandboxed grader (local mode) scores it.
func TestTerraformExerciseThroughTheOperator(t *testing.T) {
	ctx := context.Background()
	const ns, exercise = "lab-tfe", "terraform-basics"
	terraform := env.DoTerraformBasics(t, "tfe")

	// Terraform collections are timed like every fact source's.
	m, err := testutil.Scrape(ctx, metricsAddr)
	if err != nil {
		t.Fatal(err)
	}
	if v := m[`rotation_operator_grading_duration_seconds_count{collector="terraform"}`]; v < 1 {
		t.Errorf("terraform collections timed %v times after grading one", v)
	}

	// A reset deletes what the state manages, and the state: the learner's
	// next apply starts from nothing rather than failing on objects that
	// already exist.
	state := &corev1.Secret{}
	if err := env.Admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "tfstate-default-" + exercise}, state); err != nil {
		t.Fatal(err)
	}
	managed, err := tf.StateObjects(state.Data["tfstate"])
	if err != nil || len(managed) == 0 {
		t.Fatalf("objects in the state: %v %v", managed, err)
	}
	if err := env.LearnerSA(t, "tfe").Create(ctx, testutil.RequestConfigMap(ns, rotationsv1.RequestResetPrefix+exercise, rotationsv1.RequestReset, map[string]string{
		rotationsv1.RequestKeyExercise: exercise, rotationsv1.RequestKeyRequestedAt: time.Now().UTC().Format(time.RFC3339),
	})); err != nil {
		t.Fatal(err)
	}
	env.ExerciseResult(t, "tfe", exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.Resets != 1 {
			return fmt.Errorf("not reset yet: %+v", r)
		}
		return nil
	})
	testutil.Eventually(t, time.Minute, func(ctx context.Context) error {
		for _, o := range append(managed, tf.StateObject{GroupVersionKind: corev1.SchemeGroupVersion.WithKind("Secret"), Namespace: ns, Name: state.Name}) {
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(o.GroupVersionKind)
			err := env.Admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: o.Name}, u)
			if err == nil {
				return fmt.Errorf("%s %s still there after the reset", o.Kind, o.Name)
			}
			if !apierrors.IsNotFound(err) {
				return fmt.Errorf("%s %s after the reset: %w", o.Kind, o.Name, err)
			}
		}
		return nil
	})
	terraform("apply", "-auto-approve", "-input=false", "-no-color")
}
