package cicd

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/yaml"

	"github.com/handson-dev/rotation-operator/internal/grading/factsource"
)

// A pipeline that tests then builds, a run of it that pushed an image, and
// the TaskRun of its test task that failed once.
const labObjects = `apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: ci, namespace: lab-a}
spec:
  params: [{name: revision}]
  workspaces: [{name: source}]
  results: [{name: digest, value: $(tasks.build.results.IMAGE_DIGEST)}]
  tasks:
  - name: test
    taskRef: {name: go-test}
    workspaces: [{name: source, workspace: source}]
  - name: build
    runAfter: [test]
    taskRef: {name: build-push}
    params: [{name: image, value: registry.lab/app}]
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: ci-1, namespace: lab-a}
spec:
  pipelineRef: {name: ci}
  params: [{name: revision, value: main}]
status:
  startTime: "2026-12-07T05:00:00Z"
  completionTime: "2026-12-07T05:01:30Z"
  conditions: [{type: Succeeded, status: "True", reason: Succeeded, message: "Tasks Completed: 2"}]
  results: [{name: digest, value: "sha256:abc"}]
  childReferences:
  - {kind: TaskRun, name: ci-1-test, pipelineTaskName: test}
  - {kind: TaskRun, name: ci-1-build, pipelineTaskName: build}
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: ci-0-test
  namespace: lab-a
  labels: {tekton.dev/pipelineRun: ci-0, tekton.dev/pipelineTask: test}
spec:
  serviceAccountName: learner
  taskRef: {name: go-test}
status:
  startTime: "2026-12-07T04:50:00Z"
  completionTime: "2026-12-07T04:50:20Z"
  conditions: [{type: Succeeded, status: "False", reason: Failed, message: "step-test exited with code 1"}]
  steps: [{name: test, terminated: {exitCode: 1, reason: Error}}]
---
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: go-test, namespace: lab-a}
spec:
  workspaces: [{name: source}]
  steps: [{name: test, image: registry.lab/golang:1.26}]
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: elsewhere, namespace: lab-b}
spec: {taskRef: {name: go-test}}
`

func tektonMapper() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper(nil)
	for _, k := range []string{"Task", "TaskRun", "Pipeline", "PipelineRun"} {
		m.Add(schema.GroupVersionKind{Group: Group, Version: Version, Kind: k}, meta.RESTScopeNamespace)
	}
	return m
}

func labReader(t *testing.T) client.Reader {
	t.Helper()
	var objs []client.Object
	for _, doc := range strings.Split(labObjects, "\n---\n") {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, u)
	}
	return fake.NewClientBuilder().WithRESTMapper(tektonMapper()).WithObjects(objs...).Build()
}

func TestCollectSummarisesPipelinesAndRuns(t *testing.T) {
	src := NewSource(labReader(t))
	facts, err := src.Collect(context.Background(), factsource.Request{Namespace: "lab-a", Facts: Facts()})
	if err != nil {
		t.Fatal(err)
	}
	// structure: the tasks in order, with runAfter, params, workspaces
	tasks := facts["pipelines"].(map[string]any)["ci"].(map[string]any)["tasks"].([]any)
	test, build := tasks[0].(map[string]any), tasks[1].(map[string]any)
	if test["name"] != "test" || test["taskRef"] != "go-test" || len(test["runAfter"].([]any)) != 0 || test["workspaces"].([]any)[0] != "source" {
		t.Errorf("first task %v", test)
	}
	if build["name"] != "build" || build["runAfter"].([]any)[0] != "test" || build["params"].(map[string]any)["image"] != "registry.lab/app" {
		t.Errorf("second task %v", build)
	}
	js, _ := yaml.Marshal(facts)
	got := string(js)
	for _, want := range []string{
		// the run: status, reason, results (the digest), times, task runs
		"completionTime: \"2026-12-07T05:01:30Z\"",
		"digest: sha256:abc",
		"build: ci-1-build",
		"reason: Succeeded",
		// the failed TaskRun: reason, step exit code, its pipeline run
		"exitCode: 1",
		"reason: Failed",
		"pipelineRun: ci-0",
		"serviceAccountName: learner",
		"image: registry.lab/golang:1.26",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("facts lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "elsewhere") {
		t.Error("facts hold another lab's TaskRun")
	}
}

// Without Tekton in the cluster, its kinds are unknown: no pipelines, no
// runs, and no error (grading goes on, the checks say what is missing).
func TestCollectWithoutTekton(t *testing.T) {
	c := fake.NewClientBuilder().WithRESTMapper(meta.NewDefaultRESTMapper(nil)).Build()
	facts, err := NewSource(c).Collect(context.Background(), factsource.Request{Namespace: "lab-a", Facts: []string{"pipelineruns"}})
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := facts["pipelineruns"].(map[string]any); !ok || len(m) != 0 {
		t.Errorf("facts %v, want no pipelineruns", facts)
	}
	if _, err := NewSource(c).Collect(context.Background(), factsource.Request{Namespace: "lab-a", Facts: []string{"builds"}}); err == nil {
		t.Error("an unknown fact collected")
	}
}

// A run's message can quote a step's output: it is clipped.
func TestMessagesAreBounded(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{
		"status": map[string]any{"conditions": []any{map[string]any{"type": "Succeeded", "status": "False", "message": strings.Repeat("x", 1<<20)}}},
	}}
	if m := taskRun(u)["message"].(string); len(m) > maxText+4 {
		t.Errorf("message of %d bytes", len(m))
	}
}
