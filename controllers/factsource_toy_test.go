package controllers

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading"
	"github.com/handson-dev/rotation-operator/internal/grading/factsource"
	"github.com/handson-dev/rotation-operator/internal/grading/factsource/builtin"
)

// toySource is a sixth track that exists only in this test: the lab's
// lights. It is the one package a new track writes.
type toySource struct{ fail bool }

func (toySource) Variable() string              { return "toy" }
func (toySource) Type() *cel.Type               { return cel.MapType(cel.StringType, cel.DynType) }
func (toySource) Facts() []string               { return []string{"lights"} }
func (toySource) ReadsSubmission() bool         { return false }
func (toySource) NeedsSubmission([]string) bool { return false }

func (t toySource) Collect(_ context.Context, req factsource.Request) (map[string]any, error) {
	if t.fail {
		return nil, errors.New("the lights are out")
	}
	return map[string]any{"lights": map[string]any{"porch": "on", "ns": req.Namespace}}, nil
}

func (toySource) ResetTargets(_ context.Context, req factsource.ResetRequest) (factsource.Targets, error) {
	sw := &unstructured.Unstructured{}
	sw.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"})
	sw.SetName("toy-switch-" + req.Exercise)
	return factsource.Targets{Objects: []*unstructured.Unstructured{sw}, Then: []factsource.Cleanup{{
		What: "toy bulbs",
		Run:  func(context.Context, client.Client) (string, error) { return "toy bulbs (3)", nil },
	}}}, nil
}

// TestToySource: a sixth source, registered by one line, is usable from a
// check expression, collected by a grading pass, timed by the shared
// metrics wrapper, and reset, with no change anywhere else.
func TestToySource(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientBuilder().Build()
	// The registry line a new track adds to package builtin.
	sources := append(builtin.Sources(builtin.Deps{Reader: c}), toySource{})

	spec := rotationsv1.ExerciseSpec{Checks: []rotationsv1.Check{
		{Name: "porch-light", Expression: `toy.lights['porch'] == 'on' && toy.lights.ns == lab.namespace`, Points: 5, Message: "turn on the porch light"},
	}}
	if _, err := grading.Compile(&spec); err == nil || !strings.Contains(err.Error(), "toy") {
		t.Fatalf("the built-in language compiled a toy check (err %v)", err)
	}
	env, err := grading.NewEnv(sources)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(env.KnownFacts(), " "), "toy.lights") {
		t.Errorf("known facts %v lack toy.lights", env.KnownFacts())
	}
	programs := &grading.Cache{Env: env}
	ex := &rotationsv1.Exercise{ObjectMeta: metav1.ObjectMeta{Name: "lights", UID: "toy-uid", Generation: 1}, Spec: spec}
	prog, err := programs.Get(ex)
	if err != nil {
		t.Fatal(err)
	}
	if prog.Facts[0] != "toy.lights" {
		t.Errorf("program facts %v, want toy.lights", prog.Facts)
	}
	bad := spec.DeepCopy()
	bad.Checks[0].Expression = `toy.switches['porch'] == 'on'`
	if _, err := env.Compile(bad); err == nil || !strings.Contains(err.Error(), "unknown fact toy.switches; known toy facts: lights") {
		t.Errorf("unknown toy fact: err %v", err)
	}

	// Collected and timed.
	r := &LearningRotationReconciler{Sources: instrument(sources)}
	timedBefore, errsBefore := gradingCount(t, "toy")
	sel := selectedExercise{ex: ex, program: prog}
	vars, err := r.collectFacts(ctx, "r1", []selectedExercise{sel})
	if err != nil {
		t.Fatal(err)
	}
	if res := prog.Evaluate(ctx, vars); res.Points != 5 {
		t.Errorf("graded %+v, want the porch light on", res)
	}
	if got, _ := gradingCount(t, "toy"); got != timedBefore+1 {
		t.Errorf("toy collections timed %d, want %d", got, timedBefore+1)
	}
	r.Sources = instrument(append(builtin.Sources(builtin.Deps{Reader: c}), toySource{fail: true}))
	if _, err := r.collectFacts(ctx, "r1", []selectedExercise{sel}); err == nil {
		t.Error("a failing toy collection graded")
	}
	if _, got := gradingCount(t, "toy"); got != errsBefore+1 {
		t.Errorf("toy collection errors %v, want %v", got, errsBefore+1)
	}

	// Reset.
	targets, cleanups, err := r.resetTargets(ctx, c, "lab-r1", &sel)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range targets {
		names = append(names, u.GetKind()+" "+u.GetNamespace()+"/"+u.GetName())
	}
	if !strings.Contains(strings.Join(names, ", "), "ConfigMap lab-r1/toy-switch-lights") {
		t.Errorf("reset targets %v lack the toy switch", names)
	}
	if len(cleanups) != 1 || cleanups[0].What != "toy bulbs" {
		t.Errorf("cleanups %+v, want the toy bulbs", cleanups)
	}
}

// gradingCount is how many collections of a source were timed, and how
// many failed.
func gradingCount(t *testing.T, variable string) (timed uint64, failed float64) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(gradingDuration, gradingErrors)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() != "collector" || l.GetValue() != variable {
					continue
				}
				if h := m.GetHistogram(); h != nil {
					timed = h.GetSampleCount()
				}
				if c := m.GetCounter(); c != nil {
					failed = c.GetValue()
				}
			}
		}
	}
	return timed, failed
}
