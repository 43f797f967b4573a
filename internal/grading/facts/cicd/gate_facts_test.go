package cicd

import (
	"context"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/yaml"

	"github.com/handson-dev/rotation-operator/internal/grading/factsource"
)

// A TaskRun as Tekton leaves it when go test failed: status.taskSpec holds
// the resolved steps, status.steps what each did.
func failedTestRun(t *testing.T, testCommand string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	err := yaml.Unmarshal([]byte(`apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: gate-1-test
  namespace: lab-a
  labels: {tekton.dev/pipeline: gate, tekton.dev/pipelineRun: gate-1}
spec:
  serviceAccountName: learner
  workspaces:
  - {name: source, configMap: {name: exercise-cicd-gate}}
  - {name: work, emptyDir: {}}
status:
  conditions: [{type: Succeeded, status: "False", reason: Failed}]
  steps:
  - {name: copy, terminated: {exitCode: 0, reason: Completed}}
  - {name: test, terminated: {exitCode: 1, reason: Error}}
  - {name: after}
  taskSpec:
    steps:
    - {name: copy, image: go, command: [/bin/sh, -c], args: ['cp /workspace/source/*.go /workspace/work']}
    - {name: test, image: go, workingDir: /workspace/work, command: [`+testCommand+`]}
    - {name: after, image: go, script: "echo done"}
`), &u.Object)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestTaskRunSaysWhichStepFailedAndWhatItRan(t *testing.T) {
	tr := taskRun(failedTestRun(t, "go, test, ./..."))
	failed := tr["failedStep"].(map[string]any)
	if failed["name"] != "test" || failed["exitCode"] != int64(1) || failed["run"] != "go test ./..." {
		t.Errorf("failedStep %v, want test, 1, go test ./...", failed)
	}
	if tr["pipeline"] != "gate" || tr["pipelineRun"] != "gate-1" {
		t.Errorf("pipeline %v, pipelineRun %v", tr["pipeline"], tr["pipelineRun"])
	}
	ws := tr["workspaces"].(map[string]any)
	if ws["source"].(map[string]any)["configMap"] != "exercise-cicd-gate" || ws["work"].(map[string]any)["emptyDir"] != true {
		t.Errorf("workspaces %v", ws)
	}
	steps := tr["steps"].([]any)
	if after := steps[2].(map[string]any); after["terminated"] != false || after["run"] != "echo done" {
		t.Errorf("a step that never ran: %v", after)
	}
}

// Two runs of the same steps share a digest; a changed command does not.
func TestStepsDigestFollowsWhatRan(t *testing.T) {
	a := taskRun(failedTestRun(t, "go, test, ./..."))["stepsDigest"]
	b := taskRun(failedTestRun(t, "go, test, ./..."))["stepsDigest"]
	c := taskRun(failedTestRun(t, "go, tset, ./..."))["stepsDigest"]
	if a == "" || a != b || a == c {
		t.Errorf("digests %v, %v, %v: want equal for equal steps, different for a changed command", a, b, c)
	}
	if d := taskRun(&unstructured.Unstructured{Object: map[string]any{}})["stepsDigest"]; d != "" {
		t.Errorf("a run with no resolved spec has digest %v", d)
	}
	if f := taskRun(&unstructured.Unstructured{Object: map[string]any{}})["failedStep"].(map[string]any); f["name"] != "" || f["exitCode"] != int64(0) {
		t.Errorf("a run with no steps: failedStep %v", f)
	}
}

// noTekton answers every list as an apiserver without the tekton.dev kinds.
func noTekton() client.Client {
	return fake.NewClientBuilder().WithInterceptorFuncs(interceptor.Funcs{
		List: func(_ context.Context, _ client.WithWatch, list client.ObjectList, _ ...client.ListOption) error {
			return &meta.NoKindMatchError{GroupKind: list.GetObjectKind().GroupVersionKind().GroupKind()}
		},
	}).Build()
}

func TestEngineFact(t *testing.T) {
	with, err := NewSource(labReader(t)).Collect(context.Background(), factsource.Request{Namespace: "lab-a", Facts: []string{FactEngine}})
	if err != nil {
		t.Fatal(err)
	}
	if e := with[FactEngine].(map[string]any); e["installed"] != true || e["message"] != "" {
		t.Errorf("with Tekton: engine %v", e)
	}
	none := noTekton()
	without, err := NewSource(none).Collect(context.Background(), factsource.Request{Namespace: "lab-a", Facts: []string{FactEngine, "pipelines"}})
	if err != nil {
		t.Fatal(err)
	}
	if e := without[FactEngine].(map[string]any); e["installed"] != false || e["message"] != NotInstalled {
		t.Errorf("without Tekton: engine %v", e)
	}
}

// A reset deletes the Pipelines the checks name and their runs, not the
// Tasks, and not the runs of other pipelines or labs.
func TestResetTargetsArePipelinesAndTheirRuns(t *testing.T) {
	got, err := NewSource(nil).ResetTargets(context.Background(), factsource.ResetRequest{
		Namespace: "lab-a", Scope: []string{"cicd.pipelines/ci", "cicd.pipelineruns", "cicd.tasks"}, Learner: labReader(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range got.Objects {
		names = append(names, o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName())
	}
	if want := []string{"PipelineRun/lab-a/ci-1", "Pipeline/lab-a/ci"}; !slices.Equal(names, want) {
		t.Errorf("targets %v, want %v", names, want)
	}
	none, err := NewSource(nil).ResetTargets(context.Background(), factsource.ResetRequest{
		Namespace: "lab-a", Scope: []string{"cicd.pipelines/ci"},
		Learner: noTekton(),
	})
	if err != nil || len(none.Objects) != 0 {
		t.Errorf("without Tekton: %v, %v; want nothing to delete", none.Objects, err)
	}
}

// The configmaps fact has the operator's exercise ConfigMap too (which
// kube.configmaps leaves out as plumbing), each file as a digest: a copy
// with the same main_test.go has the same digest, never the text.
func TestConfigMapsFactHasTheOperatorsOwnAsDigests(t *testing.T) {
	cm := func(name string, labels map[string]any, data map[string]any) client.Object {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name, "namespace": "lab-a", "labels": labels}, "data": data}}
		return u
	}
	const test = "package main\n\nfunc TestGreetingTrimsSpaces(t *testing.T) {}\n"
	reader := fake.NewClientBuilder().WithObjects(
		cm("exercise-cicd-gate", map[string]any{"app.kubernetes.io/managed-by": "rotation-operator"}, map[string]any{"main_test.go": test, "main.go": "bug"}),
		cm("hello-fixed", nil, map[string]any{"main_test.go": test, "main.go": "fixed"}),
		cm("hello-cut", nil, map[string]any{"main_test.go": "package main\n"}),
	).Build()
	facts, err := NewSource(reader).Collect(context.Background(), factsource.Request{Namespace: "lab-a", Facts: []string{FactConfigMaps}})
	if err != nil {
		t.Fatal(err)
	}
	cms := facts[FactConfigMaps].(map[string]any)
	digest := func(name, file string) any {
		c, ok := cms[name].(map[string]any)
		if !ok {
			t.Fatalf("no ConfigMap %s in %v", name, cms)
		}
		return c["files"].(map[string]any)[file]
	}
	planted := digest("exercise-cicd-gate", "main_test.go")
	if planted == nil || len(planted.(string)) != 64 || planted == test {
		t.Fatalf("the planted test's fact %v, want a sha256 in hex", planted)
	}
	if digest("hello-fixed", "main_test.go") != planted || digest("hello-cut", "main_test.go") == planted {
		t.Errorf("a kept test must share the planted digest, a cut one not: %v", cms)
	}
	if digest("hello-fixed", "main.go") == digest("exercise-cicd-gate", "main.go") {
		t.Errorf("a fixed main.go has the buggy one's digest")
	}
}
