package labs

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"maps"

	"github.com/handson-dev/rotation-operator/internal/solution"
)

// Every built-in exercise ships its reference solution, and it is one the
// self-test can play: steps.yaml parses, each step has one action, and
// every file a step names is in the solution or a starter file.
func TestEveryExerciseShipsItsSolution(t *testing.T) {
	for _, ex := range mustCatalog(t) {
		dir := filepath.Join(string(ex.Spec.Track), ex.Name, SolutionDir)
		starter := slices.Collect(maps.Keys(ex.Spec.Starter.Files))
		for i, f := range starter {
			starter[i] = strings.TrimSuffix(f, ".b64") // charts are decoded
		}
		if _, err := solution.Load(dir, starter); err != nil {
			t.Errorf("%s: %v", ex.Name, err)
		}
	}
}

// The terraform solutions are the configurations whose solved facts
// labs/testdata/terraform records (internal/grading/facts/terraform
// applies them for real): they must not drift apart.
func TestTerraformSolutionsMatchTheRecordedOnes(t *testing.T) {
	for _, ex := range []string{"terraform-basics", "terraform-variables", "terraform-import", "terraform-drift"} {
		recorded := filepath.Join("testdata", "terraform", ex)
		entries, err := os.ReadDir(recorded)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			want, _ := os.ReadFile(filepath.Join(recorded, e.Name()))
			name := e.Name()
			if ex == "terraform-drift" && name == "main.tf" {
				name = "main.tf.adopted" // applied after the starter's main.tf
			}
			got, err := os.ReadFile(filepath.Join("terraform", ex, SolutionDir, name))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: solution/%s differs from %s/%s (%v)", ex, name, recorded, e.Name(), err)
			}
		}
	}
}
