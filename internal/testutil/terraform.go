package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// TerraformSolution reads the catalog's reference solution of a Terraform
// exercise (labs/testdata/terraform/<exercise>), with its placeholder lab
// namespace replaced by ns.
func TerraformSolution(t testing.TB, exercise, ns string) map[string]string {
	t.Helper()
	root, err := toolchain.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(root, "labs", "testdata", "terraform", exercise)
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = strings.ReplaceAll(string(b), "lab-CHANGE-ME", ns)
	}
	return files
}
