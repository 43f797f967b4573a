package grading

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// fuzzFacts shapes a fuzzed JSON document as the variables a check sees: a
// JSON object is kube itself (resource -> name -> object, or whatever else
// it holds); anything else, or text that is not JSON, is the value of
// kube.configmaps['fuzz'].data.value.
func fuzzFacts(doc string) map[string]any {
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		v = doc
	}
	kube, isObject := v.(map[string]any)
	if !isObject {
		kube = map[string]any{"configmaps": map[string]any{"fuzz": map[string]any{
			"metadata": map[string]any{"name": "fuzz"},
			"data":     map[string]any{"value": v},
		}}}
	}
	// The same document stands for Helm's facts, so helm checks see shapes as odd.
	return map[string]any{VarKube: kube, VarHelm: map[string]any{"releases": v}, VarLab: map[string]any{"namespace": "lab-fuzz", "rotation": "r"}}
}

func FuzzCompileAndEvaluate(f *testing.F) {
	for _, s := range [][2]string{
		{"kube.deployments['web'].spec.replicas == 3", `{"deployments": {"web": {"spec": {"replicas": 3}}}}`},
		{"'web' in kube.deployments && kube.deployments['web'].spec.replicas == 3", `{"deployments": {"web": "x"}}`},
		{"kube.services.exists(n, kube.services[n].spec.ports.exists(p, p.port == 80))", `{"services": {"web": {"spec": {"ports": [{"port": 80}, null]}}}}`},
		{"kube.pods.all(p, kube.pods[p].status.phase == 'Running')", `{"pods": {"a": {"status": {"phase": "Running"}}, "b": "x"}}`},
		{"kube.pods.filter(p, has(kube.pods[p].status.phase)).size() >= 1", `{"pods": []}`},
		{"size(kube) > 0 && kube.exists(r, kube[r].size() > 0)", `{"pods": {}, "x": 1}`},
		{"kube.deployments['missing'].spec.replicas == 1", `{}`},
		{"kube.?deployments.web.spec.replicas.orValue(0) >= 1", `[1, 2, 3]`},
		{"kube.configmaps['fuzz'].data.value.size() > 0", `"hello"`},
		{"kube.configmaps.fuzz.data.value.matches('^a+$')", `"aaa"`},
		{"kube.configmaps.fuzz.data.value.lowerAscii().replace('a', 'b').indexOf('b') >= 0", `"AÄA"`},
		{"kube.configmaps.fuzz.data.value.split(',').size() == 3", `"a,b,c"`},
		{"kube.configmaps.fuzz.data.value.find('[0-9]+') == '1'", `"x1y"`},
		{"quantity(kube.configmaps['fuzz'].data.value).isGreaterThan(quantity('1'))", `"2Gi"`},
		{"kube.configmaps.fuzz.data.value.isSorted()", `[3, 1, 2]`},
		{"kube.configmaps.fuzz.data.value[0] == 1", `[1]`},
		{"kube.configmaps.fuzz.data.value == 1.5", `1.5`},
		{"int(kube.configmaps.fuzz.data.value) > 0", `1e300`},
		{"kube.configmaps.fuzz.data.value == null", `null`},
		{"kube.configmaps == kube.configmaps", `[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]`},
		{"lab.namespace.startsWith('lab-')", `not json`},
		{"kube.pods.all(a, kube.pods.all(b, kube.pods.all(c, a != b)))", `{}`},
		{"kube.widgets.size() > 0", `true`},
		{"helm.releases.size() > 0", `{}`},
		{"1 + 1", `1`},
		{"kube.deployments[", `{`},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, expr, doc string) {
		if len(expr) > 4096 || len(doc) > 1<<16 {
			return // the CRD bounds expressions; facts this size add nothing
		}
		p, err := Compile(specOf(rotationsv1.Check{Name: "fuzz", Expression: expr, Points: 1, Message: "fuzz fails"}))
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) || ce.Check != "fuzz" {
				t.Fatalf("Compile(%q): %v is not a CompileError for the check", expr, err)
			}
			return
		}
		if len(p.Checks) != 1 || p.MaxPoints != 1 {
			t.Fatalf("Compile(%q) = %+v", expr, p)
		}
		for _, fact := range p.Facts {
			if !strings.HasPrefix(fact, VarKube+".") && fact != VarHelm+".releases" {
				t.Fatalf("Compile(%q): fact %q", expr, fact)
			}
		}
		vars := fuzzFacts(doc)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		r := p.Evaluate(ctx, vars)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Evaluate(%q) took %v", expr, d)
		}
		if len(r.Checks) != 1 {
			t.Fatalf("Evaluate(%q): %d results", expr, len(r.Checks))
		}
		c := r.Checks[0]
		if c.Passed != r.Passed || c.Passed != r.AnyPassed || (c.Passed && (c.Points != 1 || c.Message != "")) ||
			(!c.Passed && (c.Points != 0 || !strings.HasPrefix(c.Message, "fuzz fails"))) {
			t.Errorf("Evaluate(%q) = %+v", expr, r)
		}
		// Evaluate recovers panics; a recovered one is still a bug to know about.
		if strings.Contains(c.Message, "evaluation failed:") {
			t.Errorf("Evaluate(%q) on %q panicked: %s", expr, doc, c.Message)
		}
		for _, scope := range [][]string{p.Facts, p.Scope} {
			if _, err := HashFacts(vars, scope); err != nil {
				t.Errorf("HashFacts(%v): %v", scope, err)
			}
		}
	})
}
