package solution

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadRefusesABadSolutionClearly(t *testing.T) {
	dir := func(files map[string]string) string {
		d := t.TempDir()
		for n, c := range files {
			if err := os.WriteFile(filepath.Join(d, n), []byte(c), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	notADir := filepath.Join(dir(map[string]string{"f": "x"}), "f")
	for _, tt := range []struct {
		name, dir string
		starter   []string
		want      string
	}{
		{"missing folder", filepath.Join(t.TempDir(), "nope"), nil, "does not exist"},
		{"a file, not a folder", notADir, nil, "is not a folder"},
		{"no steps.yaml", dir(map[string]string{"main.tf": ""}), nil, "has no steps.yaml"},
		{"not YAML", dir(map[string]string{StepsFile: "steps: ["}), nil, "steps.yaml"},
		{"an unknown field", dir(map[string]string{StepsFile: "steps:\n- kubeclt: [get, pods]\n"}), nil, `unknown field "kubeclt"`},
		{"no steps", dir(map[string]string{StepsFile: "steps: []\n"}), nil, "no steps"},
		{"two actions in a step", dir(map[string]string{StepsFile: "steps:\n- kubectl: [get]\n  helm: [list]\n"}), nil, "kubectl and helm in one step"},
		{"an empty step", dir(map[string]string{StepsFile: "steps:\n- mayFail: true\n"}), nil, "no action"},
		{"a submitted file that is nowhere", dir(map[string]string{StepsFile: "steps:\n- submit: [main.tf]\n"}), []string{"backend.tf"}, "main.tf is neither in the solution nor a starter file"},
		{"a push without a tag", dir(map[string]string{StepsFile: "steps:\n- push: {ref: hello, main: main.go, binary: /hello}\n"}), nil, "want <repository>:<tag>"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.dir, tt.starter)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load: %v, want an error saying %q", err, tt.want)
			}
		})
	}
	ok := dir(map[string]string{StepsFile: "steps:\n- submit: [main.tf, backend.tf]\n", "main.tf": "x"})
	if s, err := Load(ok, []string{"backend.tf"}); err != nil || len(s.Steps) != 1 || string(s.Files["main.tf"]) != "x" {
		t.Fatalf("Load of a good solution: %+v, %v", s, err)
	}
}

func TestPlaceholdersAreFilledIn(t *testing.T) {
	v := vars{lab: "lab-a", registry: "reg:5000", digest: "sha256:abc"}
	got := string(v.fill([]byte(`namespace = "lab-CHANGE-ME"
image: REGISTRY/LAB/hello:v1
image: $REGISTRY/$LAB/hello-release@$DIGEST
name = "${var.namespace}"`)))
	want := `namespace = "lab-a"
image: reg:5000/lab-a/hello:v1
image: reg:5000/lab-a/hello-release@sha256:abc
name = "${var.namespace}"`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
