package faults_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
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
		"Tekton Pipelines, is not installed", "a cluster admin installs it")
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

// Tekton Pipelines is installed while the operator runs (make run installs
// it in the background): the probe sees it within its interval, and the
// rotations that reported it missing are queued at once
// (InfrastructureChanged), so InfrastructureReady turns True and the checks
// stop saying so well before the 10-minute resync, with no lab event to
// trigger a pass.
func TestFaultCICDEngineInstalledLater(t *testing.T) {
	startOperator(t, "tekton-later", operator.Options{GradingInterval: 10 * time.Minute, InfrastructureCheck: 500 * time.Millisecond})
	createRotation(t, testutil.Rotation("cicd-later").Mentors("mentor@example.com").Exercises("cicd-test-pipeline").Obj())
	testutil.Eventually(t, 90*time.Second, func(ctx context.Context) error {
		lr := &rotationsv1.LearningRotation{}
		if err := admin.Get(ctx, client.ObjectKey{Name: "cicd-later"}, lr); err != nil {
			return err
		}
		if !meta.IsStatusConditionTrue(lr.Status.Conditions, rotationsv1.ConditionReady) {
			return fmt.Errorf("not Ready: %+v", lr.Status.Conditions)
		}
		return nil
	})
	waitInfrastructure(t, "cicd-later", metav1.ConditionFalse, rotationsv1.ReasonCICDEngineNotInstalled, "Tekton Pipelines, is not installed")

	installed := installTektonKinds(t)
	waitInfrastructure(t, "cicd-later", metav1.ConditionTrue, rotationsv1.ReasonInfrastructureReady, "gone")
	took := time.Since(installed)
	converged(t, "cicd-engine-installed", took)
	if took > 20*time.Second {
		t.Errorf("InfrastructureReady turned True %s after the engine was served, want within a few probe intervals", took.Round(time.Millisecond))
	}
	lr := &rotationsv1.LearningRotation{}
	if err := admin.Get(context.Background(), client.ObjectKey{Name: "cicd-later"}, lr); err != nil {
		t.Fatal(err)
	}
	for _, ex := range lr.Status.Exercises {
		for _, c := range ex.Checks {
			if c.Message == cicdfacts.NotInstalled {
				t.Errorf("%s/%s still says the engine is not installed", ex.Name, c.Name)
			}
		}
	}
}

// installTektonKinds serves the four tekton.dev/v1 kinds the operator
// probes for (their CRDs, without the controller: the probe asks discovery
// only) and returns when discovery serves them. Cleanup removes them and
// waits until discovery no longer does, for the tests that want no engine.
func installTektonKinds(t *testing.T) time.Time {
	t.Helper()
	ctx := context.Background()
	var crds []*unstructured.Unstructured
	for _, kind := range []string{"Task", "TaskRun", "Pipeline", "PipelineRun"} {
		plural := strings.ToLower(kind) + "s"
		crd := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
			"metadata": map[string]any{"name": plural + "." + cicdfacts.Group},
			"spec": map[string]any{
				"group": cicdfacts.Group, "scope": "Namespaced",
				"names": map[string]any{"kind": kind, "plural": plural, "listKind": kind + "List", "singular": strings.ToLower(kind)},
				"versions": []any{map[string]any{
					"name": cicdfacts.Version, "served": true, "storage": true,
					"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
				}},
			},
		}}
		if err := admin.Create(ctx, crd); err != nil {
			t.Fatal(err)
		}
		crds = append(crds, crd)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	served := func() bool {
		list, err := disco.ServerResourcesForGroupVersion(cicdfacts.Group + "/" + cicdfacts.Version)
		return err == nil && len(list.APIResources) >= len(crds)
	}
	t.Cleanup(func() {
		for _, crd := range crds {
			if err := admin.Delete(ctx, crd); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("deleting CRD %s: %v", crd.GetName(), err)
			}
		}
		testutil.Eventually(t, time.Minute, func(context.Context) error {
			if _, err := disco.ServerResourcesForGroupVersion(cicdfacts.Group + "/" + cicdfacts.Version); !apierrors.IsNotFound(err) {
				return fmt.Errorf("%s/%s still served (%w)", cicdfacts.Group, cicdfacts.Version, err)
			}
			return nil
		})
	})
	testutil.Eventually(t, time.Minute, func(context.Context) error {
		if !served() {
			return fmt.Errorf("%s/%s not served yet", cicdfacts.Group, cicdfacts.Version)
		}
		return nil
	})
	return time.Now()
}
