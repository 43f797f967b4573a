package rotationoperator_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// update rewrites the generated templates from config/:
//
//	go test ./charts/rotation-operator/ -run TestGeneratedTemplates -update
var update = flag.Bool("update", false, "rewrite templates/generated from config/")

// configNamespace is the operator's namespace in config/; the chart
// installs into the release's.
const configNamespace = "rotation-system"

// generated are the chart's templates made from config/: the same CRDs,
// RBAC and admission policies `make deploy` installs, so the two cannot
// drift apart.
var generated = []struct {
	file, from string
	wrap       func(string) string
}{
	{"crds.yaml", "crd", crdTemplate},
	{"rbac.yaml", "rbac", nil},
	{"policy.yaml", "policy", nil},
}

func chartDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func configDir(t testing.TB) string {
	return filepath.Join(chartDir(t), "..", "..", "config")
}

// render is the generated template for config/<from>.
func render(t testing.TB, from string, wrap func(string) string) string {
	t.Helper()
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(configDir(t), from))
	if err != nil {
		t.Fatalf("kustomize build config/%s: %v", from, err)
	}
	y, err := res.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	body := string(y)
	if strings.Contains(body, "{{") {
		t.Fatalf("config/%s has {{, which Helm would read as a template", from)
	}
	// Only the namespace changes: the operator's ServiceAccount keeps its
	// name, which the namespace guard policy matches.
	body = strings.ReplaceAll(body, "namespace: "+configNamespace, "namespace: {{ .Release.Namespace }}")
	if strings.Contains(body, configNamespace) {
		t.Fatalf("config/%s names %s other than as a namespace: teach the generator", from, configNamespace)
	}
	if wrap != nil {
		body = wrap(body)
	}
	return fmt.Sprintf("# Generated from config/%s by\n#   go test ./charts/rotation-operator/ -run TestGeneratedTemplates -update\n# Do not edit: change config/%s and regenerate.\n%s", from, from, body)
}

// crdTemplate installs the CRDs as templates (so helm upgrade updates
// them and helm uninstall removes them, unless crds.keep).
func crdTemplate(body string) string {
	const anchor = "metadata:\n  annotations:\n"
	if n := strings.Count(body, anchor); n != strings.Count(body, "kind: CustomResourceDefinition") {
		panic(fmt.Sprintf("%d CRDs with annotations: the generator expects controller-gen's", n))
	}
	body = strings.ReplaceAll(body, anchor, anchor+"    {{- if .Values.crds.keep }}\n    helm.sh/resource-policy: keep\n    {{- end }}\n")
	return "{{- if .Values.crds.install }}\n" + body + "{{- end }}\n"
}

// TestGeneratedTemplates fails when the chart's CRDs, RBAC or policies
// differ from config/'s (-update rewrites them).
func TestGeneratedTemplates(t *testing.T) {
	for _, g := range generated {
		want := render(t, g.from, g.wrap)
		path := filepath.Join(chartDir(t), "templates", "generated", g.file)
		if *update {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("templates/generated/%s differs from config/%s: run go test ./charts/rotation-operator/ -run TestGeneratedTemplates -update", g.file, g.from)
		}
	}
}
