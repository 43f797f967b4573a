package labs

// The terraform track's facts in the grading harness.

import (
	"encoding/json"
	"os"
	"testing"
)

// kindTerraform keys the terraform facts in labObjects ("Terraform/facts");
// grade hands them to the checks as the variable terraform.
const kindTerraform = "Terraform"

// terraformFacts reads the terraform facts recorded from a real run of an
// exercise's solution: the integration test TestCatalogExercises
// (internal/grading/facts/terraform) applies each solution in
// testdata/terraform/<exercise>/ with the terraform CLI, grades it with the
// runner and writes <exercise>.facts.json (-update-labs). A solved.yaml
// names the file; its cases patch the facts the way a learner's mistake
// would.
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
