package labs

import (
	"encoding/json"
	"os"
	"testing"
)

// Grading tables of the terraform track. The solved lab's terraform facts
// are recorded from a real run: the integration test TestCatalogExercises
// (internal/grading/facts/terraform) applies each solution in
// testdata/terraform/<exercise>/ with the terraform CLI, grades it with the
// runner and writes <exercise>.facts.json (-update-labs). The cases change
// those facts the way a learner's mistake would.

// kindTerraform keys the terraform facts in labObjects ("Terraform/facts");
// grade hands them to the checks as the variable terraform.
const kindTerraform = "Terraform"

func init() {
	gradingTables["terraform-basics"] = terraformBasics
	gradingTables["terraform-variables"] = terraformVariables
	gradingTables["terraform-import"] = terraformImport
	gradingTables["terraform-drift"] = terraformDrift
}

// terraformFacts reads an exercise's recorded solved facts.
func terraformFacts(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (record it with go test ./internal/grading/facts/terraform -run TestCatalogExercises -update-labs)", err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return numbers(v).(map[string]any)
}

// numbers makes integral JSON numbers int64, as the collector does.
func numbers(v any) any {
	switch x := v.(type) {
	case float64:
		if x == float64(int64(x)) {
			return int64(x)
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}

// tf returns the lab's terraform facts, to change in place.
func tf(t *testing.T, l labObjects) map[string]any {
	t.Helper()
	return l.get(t, kindTerraform+"/facts")
}

// at walks facts along map keys and list indices to a map.
func at(t *testing.T, v any, path ...any) map[string]any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not a map at %q", path, k)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("%v: no item %d", path, k)
			}
			v = l[k]
		}
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%v: not a map", path)
	}
	return m
}

// notApplied: the submission's plan has changes to make.
func notApplied(facts map[string]any) {
	facts["inSync"] = false
	facts["plan"].(map[string]any)["exitCode"] = int64(2)
}

// noState: nothing applied yet (or state kept elsewhere).
func noState(facts map[string]any) {
	facts["resources"] = map[string]any{}
	facts["outputs"] = map[string]any{}
	notApplied(facts)
}

func deploymentYAML(name string, replicas, available string) string {
	return `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
  namespace: lab-x
  generation: 1
spec:
  replicas: ` + replicas + `
  selector:
    matchLabels:
      app: ` + name + `
  template:
    metadata:
      labels:
        app: ` + name + `
    spec:
      containers:
      - name: ` + name + `
        image: rotation.local/web:1.0
status:
  observedGeneration: 1
  replicas: ` + replicas + `
  updatedReplicas: ` + replicas + `
  readyReplicas: ` + available + `
  availableReplicas: ` + available + `
`
}

var terraformBasics = gradingTable{
	terraform: "terraform-basics",
	solved: []string{deploymentYAML("web", "2", "2"), `
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  namespace: lab-x
data:
  greeting: hello
`},
	cases: []gradingCase{
		{
			name:    "not formatted",
			mutate:  func(t *testing.T, l labObjects) { tf(t, l)["formatted"] = false },
			failing: []string{"valid-and-formatted"},
		},
		{
			name: "invalid",
			mutate: func(t *testing.T, l labObjects) {
				f := tf(t, l)
				f["valid"] = false
				f["plan"] = map[string]any{"ok": false, "exitCode": int64(-1), "changes": []any{}, "outputChanges": []any{}}
				f["inSync"] = false
			},
			failing: []string{"valid-and-formatted", "applied-in-sync"},
		},
		{
			name: "local state",
			mutate: func(t *testing.T, l labObjects) {
				f := tf(t, l)
				f["backend"] = map[string]any{"type": "", "secretSuffix": "", "namespace": ""}
				noState(f)
			},
			failing: []string{"state-in-lab", "configmap-managed", "deployment-managed", "applied-in-sync"},
		},
		{
			name: "another secret suffix",
			mutate: func(t *testing.T, l labObjects) {
				at(t, tf(t, l), "backend")["secretSuffix"] = "basics"
			},
			failing: []string{"state-in-lab"},
		},
		{
			name: "wrong greeting",
			mutate: func(t *testing.T, l labObjects) {
				at(t, tf(t, l), "resources", "kubernetes_config_map_v1.app", "values", "data")["greeting"] = "hi"
			},
			failing: []string{"configmap-managed"},
		},
		{
			name: "in the default namespace",
			mutate: func(t *testing.T, l labObjects) {
				at(t, tf(t, l), "resources", "kubernetes_config_map_v1.app", "values", "metadata", 0)["namespace"] = "default"
			},
			failing: []string{"configmap-managed"},
		},
		{
			name: "one replica",
			mutate: func(t *testing.T, l labObjects) {
				at(t, tf(t, l), "resources", "kubernetes_deployment_v1.web", "values", "spec", 0)["replicas"] = "1"
			},
			failing: []string{"deployment-managed"},
		},
		{
			name: "no env_from",
			mutate: func(t *testing.T, l labObjects) {
				at(t, tf(t, l), "resources", "kubernetes_deployment_v1.web", "values", "spec", 0, "template", 0, "spec", 0, "container", 0)["env_from"] = []any{}
			},
			failing: []string{"deployment-managed"},
		},
		{
			name:    "not applied",
			mutate:  func(t *testing.T, l labObjects) { notApplied(tf(t, l)) },
			failing: []string{"applied-in-sync"},
		},
		{
			name: "not available",
			mutate: func(t *testing.T, l labObjects) {
				set(t, l.get(t, "Deployment/web"), "0", "status", "availableReplicas")
			},
			failing: []string{"deployment-available"},
		},
	},
}

var terraformVariables = gradingTable{
	terraform: "terraform-variables",
	solved:    []string{deploymentYAML("api", "3", "3")},
	cases: []gradingCase{
		{
			name:    "untyped replicas",
			mutate:  func(t *testing.T, l labObjects) { at(t, tf(t, l), "variables", "replicas")["type"] = "" },
			failing: []string{"typed-variables"},
		},
		{
			name:    "undescribed environment",
			mutate:  func(t *testing.T, l labObjects) { at(t, tf(t, l), "variables", "environment")["description"] = "" },
			failing: []string{"typed-variables"},
		},
		{
			name: "no validation of environment",
			mutate: func(t *testing.T, l labObjects) {
				at(t, tf(t, l), "variables", "environment")["validations"] = []any{}
			},
			failing: []string{"validations"},
		},
		{
			name: "default replicas",
			mutate: func(t *testing.T, l labObjects) {
				f := tf(t, l)
				at(t, f, "resources", "kubernetes_deployment_v1.api", "values", "spec", 0)["replicas"] = "1"
				at(t, f, "outputs", "replicas")["value"] = int64(1)
			},
			failing: []string{"deployment-from-variables", "outputs"},
		},
		{
			name: "wrong environment label",
			mutate: func(t *testing.T, l labObjects) {
				at(t, tf(t, l), "resources", "kubernetes_deployment_v1.api", "values", "metadata", 0, "labels")["environment"] = "dev"
			},
			failing: []string{"deployment-from-variables"},
		},
		{
			name:    "outputs not applied",
			mutate:  func(t *testing.T, l labObjects) { tf(t, l)["outputs"] = map[string]any{} },
			failing: []string{"outputs"},
		},
		{
			name: "terraform.tfvars left out",
			mutate: func(t *testing.T, l labObjects) {
				f := tf(t, l)
				f["inSync"] = false
				f["plan"].(map[string]any)["ok"] = false
				f["plan"].(map[string]any)["exitCode"] = int64(1)
			},
			failing: []string{"applied-in-sync"},
		},
	},
}

var terraformImport = gradingTable{
	terraform: "terraform-import",
	solved: []string{`
apiVersion: v1
kind: ConfigMap
metadata:
  name: legacy-settings
  namespace: lab-x
  labels:
    app: legacy
    owner: platform
    rotations.handson.dev/exercise: terraform-import
    rotations.handson.dev/rotation: x
data:
  mode: legacy
  retries: "3"
`},
	cases: []gradingCase{
		{
			name:    "imported with the CLI",
			mutate:  func(t *testing.T, l labObjects) { tf(t, l)["imports"] = []any{} },
			failing: []string{"import-block"},
		},
		{
			name: "not imported yet",
			mutate: func(t *testing.T, l labObjects) {
				noState(tf(t, l))
				delete(at(t, l.get(t, "ConfigMap/legacy-settings"), "metadata", "labels"), "owner")
			},
			failing: []string{"imported", "data-kept", "owner-label", "applied-in-sync"},
		},
		{
			name: "recreated with new data",
			mutate: func(t *testing.T, l labObjects) {
				set(t, l.get(t, "ConfigMap/legacy-settings"), "{mode: modern}", "data")
				at(t, tf(t, l), "resources", "kubernetes_config_map_v1.legacy", "values")["data"] = map[string]any{"mode": "modern"}
			},
			failing: []string{"data-kept"},
		},
		{
			name: "label set with kubectl",
			mutate: func(t *testing.T, l labObjects) {
				f := tf(t, l)
				delete(at(t, f, "resources", "kubernetes_config_map_v1.legacy", "values", "metadata", 0, "labels"), "owner")
				notApplied(f)
			},
			failing: []string{"owner-label", "applied-in-sync"},
		},
	},
}

var terraformDrift = gradingTable{
	terraform: "terraform-drift",
	solved: []string{deploymentYAML("shop", "2", "2"), `
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-settings
  namespace: lab-x
data:
  currency: EUR
  checkout: "on"
`},
	cases: []gradingCase{
		{
			name: "starter not applied",
			mutate: func(t *testing.T, l labObjects) {
				noState(tf(t, l))
				delete(l, "ConfigMap/shop-settings")
				delete(l, "Deployment/shop")
			},
			failing: []string{"state-in-lab", "checkout-adopted", "replicas-reverted", "in-sync"},
		},
		{
			name: "drifted by hand",
			mutate: func(t *testing.T, l labObjects) {
				f := tf(t, l)
				at(t, f, "resources", "kubernetes_config_map_v1.settings", "values", "data")["checkout"] = "off"
				set(t, l.get(t, "Deployment/shop"), "5", "spec", "replicas")
				f["drift"] = []any{
					map[string]any{"address": "kubernetes_config_map_v1.settings", "type": "kubernetes_config_map_v1", "actions": []any{"update"}, "attributes": []any{"data"}},
					map[string]any{"address": "kubernetes_deployment_v1.shop", "type": "kubernetes_deployment_v1", "actions": []any{"update"}, "attributes": []any{"spec"}},
				}
				notApplied(f)
			},
			failing: []string{"checkout-adopted", "replicas-reverted", "no-drift", "in-sync"},
		},
		{
			name: "adopted in the configuration, not applied",
			mutate: func(t *testing.T, l labObjects) {
				f := tf(t, l)
				at(t, f, "resources", "kubernetes_config_map_v1.settings", "values", "data")["checkout"] = "off"
				f["drift"] = []any{map[string]any{"address": "kubernetes_config_map_v1.settings", "type": "kubernetes_config_map_v1", "actions": []any{"update"}, "attributes": []any{"data"}}}
			},
			failing: []string{"checkout-adopted", "no-drift"},
		},
		{
			name: "flag reverted too",
			mutate: func(t *testing.T, l labObjects) {
				set(t, l.get(t, "ConfigMap/shop-settings"), "'off'", "data", "checkout")
				at(t, tf(t, l), "resources", "kubernetes_config_map_v1.settings", "values", "data")["checkout"] = "off"
			},
			failing: []string{"checkout-adopted"},
		},
	},
}
