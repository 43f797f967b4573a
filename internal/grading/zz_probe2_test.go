package grading

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

func TestZZProbe2(t *testing.T) {
	big := map[string]any{}
	for i := 0; i < 400000; i++ {
		big[fmt.Sprint("p", i)] = map[string]any{"metadata": map[string]any{"name": "x"}}
	}
	long := strings.Repeat("a", 30_000_000)
	cms := map[string]any{"c": map[string]any{"data": map[string]any{"x": long}}}
	vars := map[string]any{"kube": map[string]any{"pods": big, "configmaps": cms}}
	for _, e := range []string{
		"kube.pods.all(p, true)",
		"kube.pods.exists(p, p == 'zz')",
		"kube.configmaps['c'].data.x.contains('b')",
		"kube.configmaps['c'].data.x.matches('b')",
		"kube.configmaps['c'].data.x.size() > 0",
		"kube.configmaps['c'].data.x + 'b' == 'c'",
	} {
		p, err := Compile(&rotationsv1.ExerciseSpec{Checks: []rotationsv1.Check{{Name: "c", Expression: e, Points: 1, Message: "m"}}})
		if err != nil {
			fmt.Println(e, err)
			continue
		}
		start := time.Now()
		r := p.Evaluate(context.Background(), vars)
		fmt.Printf("%-50s %v %+v\n", e, time.Since(start), r.Checks)
	}
}
