package tekton

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// A trimmed copy of the release's controller Deployment and feature flags,
// as v1.15.0 writes them.
const releaseSample = `apiVersion: v1
kind: ConfigMap
metadata:
  name: feature-flags
  namespace: tekton-pipelines
data:
  set-security-context: "false"
  enable-api-fields: "beta"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: tekton-pipelines-controller
  namespace: tekton-pipelines
spec:
  template:
    spec:
      containers:
      - name: tekton-pipelines-controller
        image: ko://github.com/tektoncd/pipeline/cmd/controller
        args: [
          "-entrypoint-image", "ko://github.com/tektoncd/pipeline/cmd/entrypoint",
          "-nop-image", "ko://github.com/tektoncd/pipeline/cmd/nop",
          "-sidecarlogresults-image", "ko://github.com/tektoncd/pipeline/cmd/sidecarlogresults",
          "-workingdirinit-image", "ko://github.com/tektoncd/pipeline/cmd/workingdirinit",
          "-shell-image", "cgr.dev/chainguard/busybox@sha256:19f02276bf8dbdd62f069b922f10c65262cc34b710eea26ff928129a736be791",
          "-shell-image-win", "mcr.microsoft.com/powershell:nanoserver@sha256:b6d5"]
`

func writeSample(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "release.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRenderUsesOurImagesAndRestrictedFlag(t *testing.T) {
	const shell = "rotation.local/static:nonroot"
	objs, err := Render([]string{writeSample(t, releaseSample)}, shell)
	if err != nil {
		t.Fatal(err)
	}
	flags, _, _ := unstructured.NestedStringMap(objs[0].Object, "data")
	if flags["set-security-context"] != "true" || flags["enable-api-fields"] != "beta" {
		t.Errorf("feature flags %v", flags)
	}
	c, _, _ := unstructured.NestedSlice(objs[1].Object, "spec", "template", "spec", "containers")
	ctr := c[0].(map[string]any)
	if ctr["image"] != "rotation.local/tekton/controller:v1.15.0" {
		t.Errorf("controller image %v", ctr["image"])
	}
	args := ctr["args"].([]any)
	want := map[string]string{
		"-entrypoint-image":        Ref("entrypoint"),
		"-nop-image":               Ref("nop"),
		"-sidecarlogresults-image": Ref("sidecarlogresults"),
		"-workingdirinit-image":    Ref("workingdirinit"),
		"-shell-image":             shell,
	}
	for i := 0; i+1 < len(args); i += 2 {
		if w, ok := want[args[i].(string)]; ok && args[i+1] != w {
			t.Errorf("%s %v, want %s", args[i], args[i+1], w)
		}
	}
	out := filepath.Join(t.TempDir(), "out.yaml")
	if err := WriteYAML(out, objs); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	if strings.Contains(string(b), "ko://") || strings.Contains(string(b), "chainguard") {
		t.Errorf("rendered release still names outside images:\n%s", b)
	}
}

// A ko:// path of a component we do not build would be pulled from
// nowhere: Render refuses it instead.
func TestRenderRefusesUnbuiltComponents(t *testing.T) {
	sample := strings.Replace(releaseSample, "cmd/nop", "cmd/events", 1)
	if _, err := Render([]string{writeSample(t, sample)}, "x"); err == nil || !strings.Contains(err.Error(), "cmd/events") {
		t.Errorf("err = %v, want one naming cmd/events", err)
	}
	noShell := strings.Replace(releaseSample, `"-shell-image", `, `"-other", `, 1)
	if _, err := Render([]string{writeSample(t, noShell)}, "x"); err == nil {
		t.Error("a release without -shell-image rendered")
	}
}
