package tekton

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// withDeployTools adds fake crane and kubectl binaries to o.
func withDeployTools(t *testing.T, o StepImageOptions) StepImageOptions {
	t.Helper()
	dir := t.TempDir()
	o.Crane, o.Kubectl = filepath.Join(dir, "crane"), filepath.Join(dir, "kubectl")
	write(t, o.Crane, "binary crane", 0o755)
	write(t, o.Kubectl, "binary kubectl", 0o755)
	return o
}

// The deploy image holds crane and kubectl ahead of the userland on PATH,
// runs as the nonroot user, and shares its userland layer, byte for byte,
// with the step image (one blob on the node).
func TestDeployImageLayout(t *testing.T) {
	uroot, goroot, _ := fakeStepInputs(t)
	imgs, err := StepImages(context.Background(), withDeployTools(t, StepImageOptions{URoot: uroot, GOROOT: goroot, CacheDir: t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 2 || imgs[1].Ref != DeployImage || DeployImage != "rotation.local/cicd/deploy:v1" || imgs[1].Name != "cicd/deploy" || imgs[1].Tag != "v1" {
		t.Fatalf("images %+v, want %s second", imgs, DeployImage)
	}
	deploy := imgs[1].Image
	cf, err := deploy.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" || !slices.Contains(cf.Config.Env, "PATH=/usr/local/bin:/bin") || !slices.Contains(cf.Config.Env, "DOCKER_CONFIG=/home/nonroot/.docker") {
		t.Errorf("config user %q env %v", cf.Config.User, cf.Config.Env)
	}
	files := imageFiles(t, deploy)
	for _, name := range []string{"usr/local/bin/crane", "usr/local/bin/kubectl", "bin/sh", "bin/cat"} {
		if h, ok := files[name]; !ok || h.Mode&0o777 != 0o755 {
			t.Errorf("%s: %+v, want an executable", name, h)
		}
	}
	if h, ok := files["home/nonroot/.docker/"]; !ok || h.Uid != 65532 {
		t.Errorf("home/nonroot/.docker/: %+v, want owned by nonroot", h)
	}
	if _, ok := files["usr/local/go/bin/go"]; ok {
		t.Error("the deploy image holds Go")
	}
	stepLayers, err := imgs[0].Image.Layers()
	if err != nil {
		t.Fatal(err)
	}
	deployLayers, err := deploy.Layers()
	if err != nil {
		t.Fatal(err)
	}
	a, _ := stepLayers[0].Digest()
	b, _ := deployLayers[0].Digest()
	if a != b || len(deployLayers) != 2 {
		t.Errorf("userland layers %s and %s, %d deploy layers; want one shared userland layer and the tools", a, b, len(deployLayers))
	}
}

// Without crane and kubectl the images are not built, and the message says
// which tools to ask for.
func TestDeployImageNeedsTools(t *testing.T) {
	uroot, goroot, _ := fakeStepInputs(t)
	_, err := StepImages(context.Background(), StepImageOptions{URoot: uroot, GOROOT: goroot, CacheDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "toolchain.Crane, toolchain.Kubectl") {
		t.Fatalf("err %v, want it to name the tools", err)
	}
}
