package toolchain

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Tekton is optional (the control plane does not pay ~6 cold minutes for
// it), built static for its images, from the wrapper pinning v1.15.0.
func TestTektonWrapperModule(t *testing.T) {
	if slices.Contains(AllTools, Tekton) || !slices.Contains(OptionalTools, Tekton) {
		t.Errorf("want %s among OptionalTools %v only, AllTools %v", Tekton, OptionalTools, AllTools)
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "hack", "tools", Tekton, "go.mod"))
	must(t, err)
	for _, pkg := range tektonPackages() {
		if !strings.Contains(string(b), "\t"+pkg+"\n") {
			t.Errorf("hack/tools/tekton/go.mod lacks the tool directive for %s", pkg)
		}
	}
	if v := requiredVersion(b, tools[Tekton].versionModule); v != "v1.15.0" {
		t.Errorf("hack/tools/tekton requires tektoncd/pipeline %q, want v1.15.0", v)
	}
	tl := tools[Tekton]
	if !slices.Contains(tl.env, "CGO_ENABLED=0") {
		t.Errorf("tekton build env %q: want CGO_ENABLED=0 (the images have no libc)", tl.env)
	}
	if !slices.Contains(buildArgs(tl, "v1.15.0", "OUT"), "-trimpath") {
		t.Error("tekton builds without -trimpath")
	}
}

// Ensure(tekton) fills the binaries' dir and the release manifests in
// apply order (the namespace first, the Deployments last).
func TestEnsureTektonUsesCache(t *testing.T) {
	repo := t.TempDir()
	w := filepath.Join(repo, "hack", "tools", Tekton)
	must(t, os.MkdirAll(w, 0o755))
	must(t, os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module "+ModulePath+"\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(w, "go.mod"), []byte("module x\n\nrequire github.com/tektoncd/pipeline v1.15.0 // indirect\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(w, "go.sum"), []byte("sum\n"), 0o644))
	cache := t.TempDir()
	t.Setenv("ROTATION_REPO_ROOT", repo)
	t.Setenv("ROTATION_CACHE_DIR", cache)

	dir, _, err := toolDir(cache, w, tools[Tekton])
	must(t, err)
	if !strings.HasPrefix(filepath.Base(dir), "tekton-v1.15.0-") {
		t.Fatalf("tool dir %s, want tekton-v1.15.0-<key>", dir)
	}
	must(t, os.MkdirAll(filepath.Join(dir, tektonReleaseDir), 0o755))
	for _, b := range tektonBinaries {
		must(t, os.WriteFile(filepath.Join(dir, b), []byte("bin"), 0o755))
	}
	for _, src := range tektonReleaseSources {
		must(t, os.WriteFile(filepath.Join(dir, tektonReleaseDir, filepath.Base(src)), []byte("kind: x\n"), 0o644))
	}
	p, err := Ensure(t.Context(), nil, Tekton)
	must(t, err)
	if p.Tekton != dir {
		t.Errorf("Tekton = %s, want %s", p.Tekton, dir)
	}
	if len(p.TektonRelease) != len(tektonReleaseSources) {
		t.Fatalf("TektonRelease has %d files, want %d", len(p.TektonRelease), len(tektonReleaseSources))
	}
	if first, last := filepath.Base(p.TektonRelease[0]), filepath.Base(p.TektonRelease[len(p.TektonRelease)-1]); first != "100-namespace.yaml" || last != "webhook.yaml" {
		t.Errorf("release order starts with %s and ends with %s", first, last)
	}
}
