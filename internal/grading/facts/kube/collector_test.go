package kube

import (
	"encoding/json"
	"reflect"
	"sort"
	"testing"
)

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// A Deployment as the apiserver returns it.
const deploymentJSON = `{
  "apiVersion": "apps/v1",
  "kind": "Deployment",
  "metadata": {
    "name": "web",
    "namespace": "lab-a",
    "uid": "8d1c3c1e-4a51-4a8e-9d0f-0c1d2e3f4a5b",
    "resourceVersion": "48213",
    "generation": 4,
    "creationTimestamp": "2026-03-01T10:00:00Z",
    "labels": {"app": "web"},
    "annotations": {"deployment.kubernetes.io/revision": "3"},
    "managedFields": [
      {"manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "time": "2026-03-01T10:00:00Z",
       "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}
    ]
  },
  "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
    "template": {"metadata": {"labels": {"app": "web"}, "creationTimestamp": null},
      "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
  "status": {
    "observedGeneration": 4,
    "replicas": 3,
    "availableReplicas": 3,
    "conditions": [
      {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
       "lastUpdateTime": "2026-03-01T10:01:00Z", "lastTransitionTime": "2026-03-01T10:01:00Z"},
      {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
       "lastUpdateTime": "2026-03-01T10:02:00Z", "lastTransitionTime": "2026-03-01T10:00:00Z"}
    ]
  }
}`

func TestNormalizeDeployment(t *testing.T) {
	obj := decode(t, deploymentJSON)
	Normalize(obj)

	want := decode(t, deploymentJSON)
	meta := want["metadata"].(map[string]any)
	for _, k := range []string{"managedFields", "resourceVersion", "uid", "creationTimestamp"} {
		delete(meta, k)
	}
	for _, c := range want["status"].(map[string]any)["conditions"].([]any) {
		delete(c.(map[string]any), "lastUpdateTime")
		delete(c.(map[string]any), "lastTransitionTime")
	}
	if !reflect.DeepEqual(obj, want) {
		t.Errorf("normalized:\n%v\nwant:\n%v", obj, want)
	}

	// What checks read stays; generation too (compared with observedGeneration).
	m := obj["metadata"].(map[string]any)
	if m["name"] != "web" || m["namespace"] != "lab-a" || m["generation"] != float64(4) || m["labels"] == nil || m["annotations"] == nil {
		t.Errorf("metadata lost fields: %v", m)
	}
	c := obj["status"].(map[string]any)["conditions"].([]any)[0].(map[string]any)
	if c["type"] != "Available" || c["status"] != "True" || c["reason"] != "MinimumReplicasAvailable" {
		t.Errorf("condition lost fields: %v", c)
	}
	// The pod template's own metadata is the learner's: untouched.
	tmpl := obj["spec"].(map[string]any)["template"].(map[string]any)["metadata"].(map[string]any)
	if _, ok := tmpl["creationTimestamp"]; !ok {
		t.Errorf("template metadata changed: %v", tmpl)
	}

	// Idempotent.
	again := decode(t, deploymentJSON)
	Normalize(again)
	Normalize(again)
	if !reflect.DeepEqual(again, want) {
		t.Errorf("normalizing twice differs")
	}
}

func TestNormalizeMakesNoiseInvisible(t *testing.T) {
	// Two reads of an unchanged object differ only in server bookkeeping.
	a := decode(t, deploymentJSON)
	b := decode(t, deploymentJSON)
	bm := b["metadata"].(map[string]any)
	bm["resourceVersion"] = "50000"
	bm["managedFields"] = []any{}
	for _, c := range b["status"].(map[string]any)["conditions"].([]any) {
		c.(map[string]any)["lastUpdateTime"] = "2026-03-01T11:00:00Z"
	}
	Normalize(a)
	Normalize(b)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("normalized reads differ:\n%v\n%v", a, b)
	}
}

func TestNormalizePodConditions(t *testing.T) {
	obj := decode(t, `{"kind": "Pod", "metadata": {"name": "p"}, "status": {"phase": "Running", "conditions": [
		{"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-03-01T10:00:00Z"},
		{"type": "PodScheduled", "status": "True", "lastProbeTime": null}]}}`)
	Normalize(obj)
	want := decode(t, `{"kind": "Pod", "metadata": {"name": "p"}, "status": {"phase": "Running", "conditions": [
		{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}]}}`)
	if !reflect.DeepEqual(obj, want) {
		t.Errorf("got %v, want %v", obj, want)
	}
}

func TestNormalizeOddShapes(t *testing.T) {
	for _, s := range []string{
		`{}`,
		`{"metadata": null, "status": null}`,
		`{"metadata": "x", "status": "y"}`,
		`{"metadata": [], "status": {"conditions": "none"}}`,
		`{"status": {"conditions": null}}`,
		`{"status": {"conditions": [null, "x", 1, [], {"lastTransitionTime": "t", "type": "A"}]}}`,
		`{"data": {"managedFields": "stays", "lastUpdateTime": "stays"}}`,
	} {
		obj := decode(t, s)
		Normalize(obj)
		b, _ := json.Marshal(obj)
		orig := decode(t, s)
		if status, ok := orig["status"].(map[string]any); ok {
			if conds, ok := status["conditions"].([]any); ok && len(conds) == 5 {
				delete(conds[4].(map[string]any), "lastTransitionTime")
			}
		}
		if !reflect.DeepEqual(obj, orig) {
			t.Errorf("%s normalized to %s", s, b)
		}
	}
	Normalize(nil)
}

func TestResources(t *testing.T) {
	rs := Resources()
	if !sort.StringsAreSorted(rs) {
		t.Errorf("not sorted: %v", rs)
	}
	for _, r := range rs {
		gvk, ok := ListGVK(r)
		if !ok || gvk.Version == "" || len(gvk.Kind) < 5 || gvk.Kind[len(gvk.Kind)-4:] != "List" {
			t.Errorf("%s: list kind %v %v", r, gvk, ok)
		}
		if r == "secrets" {
			t.Errorf("secrets must not be a fact")
		}
	}
	if gvk, ok := ListGVK("deployments"); !ok || gvk.Group != "apps" || gvk.Kind != "DeploymentList" {
		t.Errorf("deployments: %v %v", gvk, ok)
	}
	if _, ok := ListGVK("secrets"); ok {
		t.Errorf("secrets has a list kind")
	}
}
