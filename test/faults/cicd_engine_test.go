package faults_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	cicdfacts "github.com/handson-dev/rotation-operator/internal/grading/facts/cicd"
	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// The cluster has no Tekton Pipelines (an install prerequisite the
// operator does not install): the operator starts and provisions as
// usual, a rotation with cicd exercises says that the CI/CD engine is
// missing, as InfrastructureReady and in every cicd check, and a rotation
// without them says nothing about it.
func TestFaultNoCICDEngine(t *testing.T) {
	startOperator(t, "no-tekton", operator.Options{GradingInterval: time.Second})
	createRotation(t, testutil.Rotation("cicd-none").Mentors("mentor@example.com").Exercises("cicd-test-pipeline").Obj())
	createRotation(t, rotation("cicd-other"))
	// Its exercise has no starter objects, only files: waitReady's test of
	// the starter does not apply.
	testutil.Eventually(t, 90*time.Second, func(ctx context.Context) error {
		lr := &rotationsv1.LearningRotation{}
		if err := admin.Get(ctx, client.ObjectKey{Name: "cicd-none"}, lr); err != nil {
			return err
		}
		if !meta.IsStatusConditionTrue(lr.Status.Conditions, rotationsv1.ConditionReady) {
			return fmt.Errorf("not Ready: %+v", lr.Status.Conditions)
		}
		return nil
	})
	waitInfrastructure(t, "cicd-none", metav1.ConditionFalse, rotationsv1.ReasonCICDEngineNotInstalled,
		"Tekton Pipelines, is not installed", "does not install it")
	testutil.Eventually(t, 30*time.Second, func(ctx context.Context) error {
		lr := &rotationsv1.LearningRotation{}
		if err := admin.Get(ctx, client.ObjectKey{Name: "cicd-none"}, lr); err != nil {
			return err
		}
		for _, ex := range lr.Status.Exercises {
			if ex.Name != "cicd-test-pipeline" {
				continue
			}
			if len(ex.Checks) < 4 {
				return fmt.Errorf("%d checks graded", len(ex.Checks))
			}
			for _, c := range ex.Checks {
				if c.Passed || c.Message != cicdfacts.NotInstalled {
					return fmt.Errorf("check %s: passed %v, %q", c.Name, c.Passed, c.Message)
				}
			}
			return nil
		}
		return fmt.Errorf("cicd-test-pipeline not graded yet")
	})
	lr, _ := waitReady(t, "cicd-other", 90*time.Second)
	if c := meta.FindStatusCondition(lr.Status.Conditions, rotationsv1.ConditionInfrastructureReady); c != nil {
		t.Errorf("a rotation without cicd exercises reports %+v", c)
	}
}
