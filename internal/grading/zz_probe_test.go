package grading

import (
	"context"
	"fmt"
	"testing"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

func TestZZProbe(t *testing.T) {
	exprs := []string{
		"size(kube) > 0",
		"'deployments' in kube",
		"kube.exists(r, size(kube[r]) > 0)",
		"kube.?deployments.hasValue()",
		"kube[?'services'].hasValue()",
		"has(kube.deployments)",
		"kube.deployments.size() > 0 && kube['services'].size() > 0",
		"kube.pods.all(a, a.matches('^x.*y$'))",
		"kube.deployments['x'].spec",
		"[kube][0].size() > 0",
	}
	for _, e := range exprs {
		p, err := Compile(&rotationsv1.ExerciseSpec{Checks: []rotationsv1.Check{{Name: "c", Expression: e, Points: 1, Message: "m"}}})
		if err != nil {
			fmt.Printf("%-60s ERR %v\n", e, err)
			continue
		}
		fmt.Printf("%-60s facts=%v\n", e, p.Facts)
		r := p.Evaluate(context.Background(), map[string]any{"kube": map[string]any{"deployments": "str"}, "lab": map[string]any{}})
		fmt.Printf("    eval: %+v\n", r.Checks)
	}
}
