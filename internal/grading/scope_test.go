package grading

import (
	"slices"
	"testing"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

func TestScopeNarrowsAttemptsToNamedObjects(t *testing.T) {
	spec := &rotationsv1.ExerciseSpec{Checks: []rotationsv1.Check{
		{Name: "a", Points: 1, Message: "m", Expression: "'api' in kube.deployments && kube.deployments['api'].spec.replicas == 2"},
		{Name: "b", Points: 1, Message: "m", Expression: "kube.services[?'api'].spec.type.orValue('') == 'ClusterIP'"},
		{Name: "c", Points: 1, Message: "m", Expression: "kube.configmaps.exists(n, n.startsWith('api'))"},
	}}
	p, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"kube.configmaps", "kube.deployments", "kube.services"}; !slices.Equal(p.Facts, want) {
		t.Errorf("Facts = %v, want %v", p.Facts, want)
	}
	if want := []string{"kube.configmaps", "kube.deployments/api", "kube.services/api"}; !slices.Equal(p.Scope, want) {
		t.Errorf("Scope = %v, want %v", p.Scope, want)
	}

	lab := func(webReplicas int64) map[string]any {
		return map[string]any{"kube": map[string]any{
			"deployments": map[string]any{
				"api": map[string]any{"spec": map[string]any{"replicas": int64(2)}},
				"web": map[string]any{"spec": map[string]any{"replicas": webReplicas}},
			},
			"services": map[string]any{}, "configmaps": map[string]any{},
		}}
	}
	h1, _ := HashFacts(lab(1), p.Scope)
	h2, _ := HashFacts(lab(3), p.Scope)
	if h1 != h2 {
		t.Error("changing another exercise's Deployment changed this exercise's hash")
	}
	whole, _ := HashFacts(lab(1), []string{"kube.deployments"})
	whole2, _ := HashFacts(lab(3), []string{"kube.deployments"})
	if whole == whole2 {
		t.Error("a whole-fact scope must see every Deployment")
	}
}

// Two collections compared against each other fit the cost estimate: a
// Service against every Deployment is a natural check.
func TestTwoNestedLoopsCompile(t *testing.T) {
	spec := &rotationsv1.ExerciseSpec{Checks: []rotationsv1.Check{{Name: "selects", Points: 1, Message: "m",
		Expression: "kube.services.exists(s, kube.deployments.exists(d, " +
			"kube.services[s].spec.selector == kube.deployments[d].spec.selector.matchLabels))"}}}
	if _, err := Compile(spec); err != nil {
		t.Fatalf("a Service-selects-Deployment check does not compile: %v", err)
	}
}
