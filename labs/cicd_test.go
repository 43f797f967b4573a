package labs

import (
	"context"
	"testing"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading"
	cicdfacts "github.com/handson-dev/rotation-operator/internal/grading/facts/cicd"
	"github.com/handson-dev/rotation-operator/internal/grading/facts/kube"
)

// TestCICDChecksSayTheEngineIsMissing: in a cluster without Tekton
// Pipelines every check of the cicd track fails with the same message,
// that the CI/CD engine is not installed, rather than one about the
// learner's pipeline.
func TestCICDChecksSayTheEngineIsMissing(t *testing.T) {
	seen := 0
	for _, ex := range mustCatalog(t) {
		if ex.Spec.Track != rotationsv1.TrackCICD {
			continue
		}
		seen++
		p, err := grading.Compile(&ex.Spec)
		if err != nil {
			t.Fatal(err)
		}
		pipelines := emptyCICDFacts()
		pipelines[cicdfacts.FactEngine] = map[string]any{"installed": false, "message": cicdfacts.NotInstalled}
		objects := map[string]any{}
		for _, r := range kube.Resources() {
			objects[r] = map[string]any{}
		}
		r := p.Evaluate(context.Background(), map[string]any{
			grading.VarKube: objects, cicdfacts.Variable: pipelines,
			grading.VarLab: map[string]any{"namespace": labNamespace, "rotation": "x"},
		})
		if r.Points != 0 {
			t.Errorf("%s: %d points without an engine", ex.Name, r.Points)
		}
		for _, c := range r.Checks {
			if c.Passed || c.Message != cicdfacts.NotInstalled {
				t.Errorf("%s: check %s: passed %v, %q; want it failed with %q", ex.Name, c.Name, c.Passed, c.Message, cicdfacts.NotInstalled)
			}
		}
	}
	if seen < 2 {
		t.Errorf("%d cicd exercises in the catalog", seen)
	}
}
