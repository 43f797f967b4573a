package grading

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// deployment, service and configMap build objects the way the kube
// collector returns them: unstructured maps with int64 numbers.
func deployment(name string, replicas int64, image string) map[string]any {
	return map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "namespace": "lab-a", "labels": map[string]any{"app": name}},
		"spec": map[string]any{
			"replicas": replicas,
			"selector": map[string]any{"matchLabels": map[string]any{"app": name}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": name}},
				"spec": map[string]any{"containers": []any{map[string]any{
					"name": name, "image": image,
					"ports":     []any{map[string]any{"containerPort": int64(80)}},
					"resources": map[string]any{"limits": map[string]any{"memory": "256Mi", "cpu": "500m"}},
				}}},
			},
		},
		"status": map[string]any{
			"replicas": replicas, "availableReplicas": replicas, "readyReplicas": replicas,
			"conditions": []any{map[string]any{"type": "Available", "status": "True"}},
		},
	}
}

func service(name string, port int64) map[string]any {
	return map[string]any{
		"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": name, "namespace": "lab-a"},
		"spec": map[string]any{
			"type":     "ClusterIP",
			"selector": map[string]any{"app": name},
			"ports":    []any{map[string]any{"name": "http", "port": port, "targetPort": int64(80), "protocol": "TCP"}},
		},
	}
}

func configMap(name string, data map[string]any) map[string]any {
	return map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": "lab-a"},
		"data":     data,
	}
}

// webLab is a small lab: a web Deployment with 3 replicas behind a Service
// on port 80, and an app ConfigMap.
func webLab() map[string]any {
	return map[string]any{
		VarKube: map[string]any{
			"deployments": map[string]any{"web": deployment("web", 3, "nginx:1.27")},
			"services":    map[string]any{"web": service("web", 80)},
			"configmaps":  map[string]any{"app": configMap("app", map[string]any{"mode": "prod"})},
			"pods":        map[string]any{},
		},
		VarLab: map[string]any{"namespace": "lab-a", "rotation": "r1"},
	}
}

func TestEvaluatePassingAndFailingChecks(t *testing.T) {
	replicas := rotationsv1.Check{Name: "replicas", Points: 2, Message: "scale web to 3",
		Expression: "'web' in kube.deployments && kube.deployments['web'].spec.replicas == 3"}
	port := rotationsv1.Check{Name: "port", Points: 3, Message: "expose web on port 80",
		Expression: "kube.services.exists(n, kube.services[n].spec.ports.exists(p, p.port == 80))"}
	image := rotationsv1.Check{Name: "image", Points: 5, Message: "use nginx 1.28",
		Expression: "kube.deployments['web'].spec.template.spec.containers[0].image == 'nginx:1.28'"}
	lab := rotationsv1.Check{Name: "lab", Points: 1, Message: "wrong namespace",
		Expression: "kube.configmaps['app'].metadata.namespace == lab.namespace"}
	p := mustCompile(t, replicas, port, image, lab)

	r := p.Evaluate(context.Background(), webLab())
	want := []rotationsv1.CheckResult{
		{Name: "replicas", Passed: true, Points: 2},
		{Name: "port", Passed: true, Points: 3},
		{Name: "image", Passed: false, Points: 0, Message: "use nginx 1.28"},
		{Name: "lab", Passed: true, Points: 1},
	}
	assertResults(t, r.Checks, want)
	if r.Points != 6 || r.MaxPoints != 11 || r.Passed || !r.AnyPassed {
		t.Errorf("result = points %d/%d passed %v any %v, want 6/11 false true", r.Points, r.MaxPoints, r.Passed, r.AnyPassed)
	}

	facts := webLab()
	facts[VarKube].(map[string]any)["deployments"] = map[string]any{"web": deployment("web", 3, "nginx:1.28")}
	r = p.Evaluate(context.Background(), facts)
	if !r.Passed || !r.AnyPassed || r.Points != 11 {
		t.Errorf("all checks should pass: %+v", r)
	}
	for _, c := range r.Checks {
		if c.Message != "" {
			t.Errorf("passing check %s has message %q", c.Name, c.Message)
		}
	}

	facts = webLab()
	facts[VarKube].(map[string]any)["deployments"] = map[string]any{"web": deployment("web", 1, "nginx:1.27")}
	facts[VarKube].(map[string]any)["services"] = map[string]any{"web": service("web", 8080)}
	facts[VarLab] = map[string]any{"namespace": "lab-b"}
	r = p.Evaluate(context.Background(), facts)
	if r.Passed || r.AnyPassed || r.Points != 0 || r.MaxPoints != 11 {
		t.Errorf("no check should pass: %+v", r)
	}
}

func TestEvaluateNumbersFromJSON(t *testing.T) {
	// Facts decoded with encoding/json carry float64 numbers; CEL compares
	// them with ints numerically.
	facts := webLab()
	facts[VarKube].(map[string]any)["deployments"].(map[string]any)["web"].(map[string]any)["spec"].(map[string]any)["replicas"] = float64(3)
	p := mustCompile(t, check("replicas", "kube.deployments['web'].spec.replicas == 3"))
	if r := p.Evaluate(context.Background(), facts); !r.Passed {
		t.Errorf("float64 replicas: %+v", r.Checks)
	}
}

func TestEvaluateRuntimeErrorFailsOnlyThatCheck(t *testing.T) {
	p := mustCompile(t,
		check("before", "kube.deployments['web'].spec.replicas == 3"),
		check("missing-object", "kube.deployments['missing'].spec.replicas == 1"),
		check("missing-field", "kube.deployments['web'].spec.paused == false"),
		check("missing-fact", "kube.jobs.size() == 0"),
		check("not-bool", "kube.deployments['web'].spec"),
		check("bad-type", "kube.deployments['web'].spec.replicas.startsWith('3')"),
		check("after", "kube.services['web'].spec.ports[0].port == 80"),
	)
	r := p.Evaluate(context.Background(), webLab())
	wantMsg := map[string][]string{
		"missing-object": {"missing-object fails", "evaluation error", "no such key: missing"},
		"missing-field":  {"missing-field fails", "no such key: paused"},
		"missing-fact":   {"missing-fact fails", "no such key: jobs"},
		"not-bool":       {"not-bool fails", "not a bool"},
		"bad-type":       {"bad-type fails", "evaluation error"},
	}
	if len(r.Checks) != 7 {
		t.Fatalf("got %d results, want 7: %+v", len(r.Checks), r.Checks)
	}
	for _, c := range r.Checks {
		frags, failing := wantMsg[c.Name]
		if !failing {
			if !c.Passed || c.Points != 1 {
				t.Errorf("%s should pass despite the other checks' errors: %+v", c.Name, c)
			}
			continue
		}
		if c.Passed || c.Points != 0 {
			t.Errorf("%s passed: %+v", c.Name, c)
		}
		for _, f := range frags {
			if !strings.Contains(c.Message, f) {
				t.Errorf("%s: message %q does not contain %q", c.Name, c.Message, f)
			}
		}
	}
	if r.Points != 2 || r.Passed || !r.AnyPassed {
		t.Errorf("result %+v, want 2 points", r)
	}
}

func TestEvaluateCostLimit(t *testing.T) {
	// The estimate assumes short strings; the runtime limit catches long ones.
	huge := strings.Repeat("a", 30_000_000)
	facts := webLab()
	facts[VarKube].(map[string]any)["configmaps"] = map[string]any{"big": configMap("big", map[string]any{"blob": huge})}
	p := mustCompile(t,
		check("contains", "kube.configmaps['big'].data.blob.contains('b')"),
		check("regex", "kube.configmaps['big'].data.blob.matches('b+$')"),
		check("concat", "kube.configmaps['big'].data.blob + 'b' != ''"),
		check("size", "size(kube.configmaps['big'].data.blob) > 0"),
	)
	start := time.Now()
	r := p.Evaluate(context.Background(), facts)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("evaluation took %v", d)
	}
	for _, c := range r.Checks[:3] {
		if c.Passed || !strings.Contains(c.Message, c.Name+" fails") || !strings.Contains(c.Message, "cost limit exceeded") {
			t.Errorf("%s: %+v, want a failure at the cost limit", c.Name, c)
		}
	}
	if !r.Checks[3].Passed {
		t.Errorf("size() is cheap and should pass: %+v", r.Checks[3])
	}
}

func TestEvaluateTimeout(t *testing.T) {
	// Far more objects than a lab holds: within the cost limit, but (with
	// cel-go's runtime cost tracking) slower than CheckTimeout.
	pods := map[string]any{}
	for i := range 40_000 {
		pods[fmt.Sprintf("pod-%d", i)] = map[string]any{"metadata": map[string]any{"name": "x"}}
	}
	facts := map[string]any{VarKube: map[string]any{"pods": pods}}
	p := mustCompile(t,
		check("slow", "kube.pods.all(p, p != '')"),
		check("quick", "'pod-1' in kube.pods"),
	)
	start := time.Now()
	r := p.Evaluate(context.Background(), facts)
	elapsed := time.Since(start)
	if elapsed > 5*time.Second {
		t.Errorf("evaluation took %v; CheckTimeout is %v", elapsed, CheckTimeout)
	}
	if !r.Checks[1].Passed {
		t.Errorf("the quick check should pass: %+v", r.Checks[1])
	}
	slow := r.Checks[0]
	if slow.Passed {
		t.Skipf("the slow check finished in %v: this machine (or cel-go) is too fast to hit the timeout", elapsed)
	}
	for _, f := range []string{"slow fails", "interrupted", "deadline exceeded"} {
		if !strings.Contains(slow.Message, f) {
			t.Errorf("message %q does not contain %q", slow.Message, f)
		}
	}
}

func TestEvaluateCancelledContext(t *testing.T) {
	pods := map[string]any{}
	for i := range 1000 {
		pods[fmt.Sprintf("pod-%d", i)] = map[string]any{}
	}
	p := mustCompile(t, check("loop", "kube.pods.all(p, p != '')"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := p.Evaluate(ctx, map[string]any{VarKube: map[string]any{"pods": pods}})
	if r.Passed || !strings.Contains(r.Checks[0].Message, "context canceled") {
		t.Errorf("cancelled evaluation: %+v", r.Checks)
	}
}

// Facts of unexpected shapes must fail checks, never panic.
func TestEvaluateOddFactsDoNotPanic(t *testing.T) {
	// A tree, as decoded JSON is: shared subtrees would make equality exponential.
	nest := func() any {
		deep := any("bottom")
		for i := range 2000 {
			if i%2 == 0 {
				deep = map[string]any{"spec": deep, "n": int64(i)}
			} else {
				deep = []any{deep, "x"}
			}
		}
		return deep
	}
	type opaque struct{ A int }
	var nilMap map[string]any
	kubes := map[string]any{
		"nil kube":                 nil,
		"string kube":              "deployments",
		"list kube":                []any{"a", 1.5},
		"nil map kube":             nilMap,
		"typed nested maps":        map[string]map[string]any{"deployments": {"web": map[string]any{"spec": map[string]any{"replicas": 3}}}},
		"string map":               map[string]string{"deployments": "web"},
		"string fact":              map[string]any{"deployments": "web", "services": "x", "pods": "p"},
		"nil fact":                 map[string]any{"deployments": nil, "services": nil, "pods": nil},
		"list fact":                map[string]any{"deployments": []any{"web"}, "services": []any{nil}, "pods": []any{}},
		"string object":            map[string]any{"deployments": map[string]any{"web": "web"}, "services": map[string]any{"web": 1}},
		"nil object":               map[string]any{"deployments": map[string]any{"web": nil}, "services": map[string]any{"web": nil}},
		"string spec":              map[string]any{"deployments": map[string]any{"web": map[string]any{"spec": "x", "metadata": 1}}},
		"string replicas":          map[string]any{"deployments": map[string]any{"web": map[string]any{"spec": map[string]any{"replicas": "3", "template": nil}}}},
		"ports not a list":         map[string]any{"services": map[string]any{"web": map[string]any{"spec": map[string]any{"ports": map[string]any{"port": 80}}}}},
		"ports of nils":            map[string]any{"services": map[string]any{"web": map[string]any{"spec": map[string]any{"ports": []any{nil, "80", []any{}}}}}},
		"deeply nested":            map[string]any{"deployments": map[string]any{"web": nest()}, "configmaps": map[string]any{"app": nest()}},
		"go types":                 map[string]any{"deployments": map[string]any{"web": opaque{A: 1}, "api": &opaque{}, "ch": make(chan int), "fn": func() {}}},
		"non-string keys":          map[string]any{"deployments": map[int]any{1: "x"}, "services": map[any]any{nil: 1, 2.5: "y"}},
		"int and float numbers":    map[string]any{"deployments": map[string]any{"web": map[string]any{"spec": map[string]any{"replicas": int32(3), "x": float32(1), "u": uint8(2)}}}},
		"bytes and typed slices":   map[string]any{"configmaps": map[string]any{"app": map[string]any{"data": []byte("x"), "binaryData": []string{"a"}}}},
		"nil pointers and structs": map[string]any{"configmaps": map[string]any{"app": (*opaque)(nil), "b": struct{}{}}},
	}
	p := mustCompile(t,
		check("index", "kube.deployments['web'].spec.replicas == 3"),
		check("in", "'web' in kube.deployments && kube.deployments['web'].spec.replicas == 3"),
		check("has", "has(kube.deployments.web) && has(kube.deployments.web.spec.replicas)"),
		check("size", "size(kube) > 0 && kube.deployments.size() >= 0"),
		check("macro", "kube.services.exists(n, kube.services[n].spec.ports.exists(p, p.port == 80))"),
		check("all-facts", "kube.exists(r, kube[r].exists(n, n.startsWith('w')))"),
		check("optional", "kube.?deployments.web.spec.replicas.orValue(0) == 3"),
		check("equality", "kube.configmaps == kube.configmaps && kube.deployments['web'] != {}"),
		check("strings", "kube.configmaps['app'].data.mode.lowerAscii() == 'prod'"),
		check("quantity", "quantity(kube.deployments['web'].spec.template.spec.containers[0].resources.limits.memory).isLessThan(quantity('1Gi'))"),
		check("lab", "lab.namespace.startsWith('lab-')"),
		check("true", "true"),
	)
	labs := map[string]any{
		"string lab map": map[string]string{"namespace": "lab-a"},
		"odd lab":        map[string]any{"namespace": 5, "rotation": nil},
		"nil lab":        nil,
		"string lab":     "lab-a",
	}
	for kname, kube := range kubes {
		for lname, lab := range labs {
			t.Run(kname+"/"+lname, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				var r Result
				func() {
					defer func() {
						if v := recover(); v != nil {
							t.Fatalf("Evaluate panicked: %v", v)
						}
					}()
					r = p.Evaluate(ctx, map[string]any{VarKube: kube, VarLab: lab})
				}()
				if len(r.Checks) != len(p.Checks) {
					t.Fatalf("%d results for %d checks", len(r.Checks), len(p.Checks))
				}
				for _, c := range r.Checks {
					if !c.Passed && !strings.HasPrefix(c.Message, c.Name+" fails") {
						t.Errorf("%s: message %q does not start with the check's message", c.Name, c.Message)
					}
				}
				if !r.Checks[len(r.Checks)-1].Passed {
					t.Errorf("the constant check failed: %+v", r.Checks[len(r.Checks)-1])
				}
			})
		}
	}
	// No variables at all.
	r := p.Evaluate(context.Background(), nil)
	if r.Checks[0].Passed || !strings.Contains(r.Checks[0].Message, "no such attribute") || !r.Checks[len(r.Checks)-1].Passed {
		t.Errorf("nil variables: %+v", r.Checks)
	}
}

func assertResults(t *testing.T, got, want []rotationsv1.CheckResult) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("results %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("result %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
