package grading

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/cel-go/cel"
)

func TestZZProbe3(t *testing.T) {
	e, _ := env()
	for _, n := range []int{1000, 100000} {
		big := map[string]any{}
		for i := 0; i < n; i++ {
			big[fmt.Sprint("p", i)] = map[string]any{"metadata": map[string]any{"name": "x"}}
		}
		vars := map[string]any{"kube": map[string]any{"pods": big}}
		for _, ex := range []string{"kube.pods.all(p, true)", "kube.pods.exists(p, kube.pods[p].metadata.name == 'y')", "kube.pods.all(p, [1,2,3,4,5,6,7,8,9,10].all(x, x > 0))"} {
			ast, iss := e.Compile(ex)
			if iss.Err() != nil {
				t.Fatal(iss.Err())
			}
			prg, _ := e.Program(ast, cel.EvalOptions(cel.OptTrackCost))
			start := time.Now()
			_, det, err := prg.Eval(vars)
			fmt.Println(n, ex, *det.ActualCost(), time.Since(start), err)
		}
	}
}
