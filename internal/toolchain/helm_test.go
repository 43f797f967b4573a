package toolchain

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// helm is built only on request: Ensure with no names (make tools, the
// local cluster's tests) must not start a helm build.
func TestHelmIsOptional(t *testing.T) {
	if slices.Contains(AllTools, Helm) {
		t.Errorf("AllTools %v contains %s", AllTools, Helm)
	}
	if !slices.Contains(OptionalTools, Helm) {
		t.Errorf("OptionalTools %v lacks %s", OptionalTools, Helm)
	}
	for _, name := range append(append([]string(nil), AllTools...), OptionalTools...) {
		if _, ok := tools[name]; !ok {
			t.Errorf("no build recipe for %s", name)
		}
	}
}

func TestHelmVersionLDFlags(t *testing.T) {
	got := helmVersionLDFlags("v4.3.1")
	for _, want := range []string{
		"-X helm.sh/helm/v4/internal/version.version=v4.3.1",
		"-X helm.sh/helm/v4/internal/version.gitTreeState=clean",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("ldflags %q lack %q", got, want)
		}
	}
}

// TestEnsureHelmUsesCache: the cache dir is helm-<version>-<key> and a
// cached binary is returned as Paths.Helm without building.
func TestEnsureHelmUsesCache(t *testing.T) {
	repo := t.TempDir()
	w := filepath.Join(repo, "hack", "tools", "helm")
	must(t, os.MkdirAll(w, 0o755))
	must(t, os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module "+ModulePath+"\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(w, "go.mod"), []byte("module x\n\ntool helm.sh/helm/v4/cmd/helm\n\nrequire helm.sh/helm/v4 v4.3.1 // indirect\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(w, "go.sum"), []byte("sum\n"), 0o644))
	cache := t.TempDir()
	t.Setenv("ROTATION_REPO_ROOT", repo)
	t.Setenv("ROTATION_CACHE_DIR", cache)

	dir, version, err := toolDir(cache, w, tools[Helm])
	must(t, err)
	if version != "v4.3.1" || !strings.HasPrefix(filepath.Base(dir), "helm-v4.3.1-") {
		t.Fatalf("tool dir %s (version %q), want helm-v4.3.1-<key>", dir, version)
	}
	must(t, os.MkdirAll(dir, 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "helm"), []byte("#!/bin/sh\n"), 0o755))
	p, err := Ensure(context.Background(), nil, Helm)
	must(t, err)
	if p.Helm != filepath.Join(dir, "helm") {
		t.Errorf("Helm = %s, want it in %s", p.Helm, dir)
	}
	if p.Etcd != "" || p.KubeAPIServer != "" || p.Kwok != "" {
		t.Errorf("Ensure(helm) filled other tools: %+v", p)
	}
}

// The real wrapper module pins the helm version the toolchain reports.
func TestHelmWrapperModule(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "hack", "tools", "helm", "go.mod"))
	must(t, err)
	if !strings.Contains(string(b), "\ntool helm.sh/helm/v4/cmd/helm\n") {
		t.Error("hack/tools/helm/go.mod lacks the tool directive for helm.sh/helm/v4/cmd/helm")
	}
	if v := requiredVersion(b, tools[Helm].versionModule); !strings.HasPrefix(v, "v4.") {
		t.Errorf("hack/tools/helm requires helm.sh/helm/v4 %q", v)
	}
}

// The kube-router wrapper module pins the version the toolchain reports,
// and kube-router stays optional: the control plane does not pay for it.
func TestKubeRouterWrapperModule(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "hack", "tools", "kube-router", "go.mod"))
	must(t, err)
	if !strings.Contains(string(b), "\ntool github.com/cloudnativelabs/kube-router/v2/cmd/kube-router\n") {
		t.Error("hack/tools/kube-router/go.mod lacks the tool directive for kube-router")
	}
	if v := requiredVersion(b, tools[KubeRouter].versionModule); v != "v2.10.0" {
		t.Errorf("hack/tools/kube-router requires kube-router %q, want v2.10.0", v)
	}
	for _, name := range AllTools {
		if name == KubeRouter {
			t.Error("kube-router is in AllTools; it is optional")
		}
	}
}
