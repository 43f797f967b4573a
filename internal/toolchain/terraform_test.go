package toolchain

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// The provider is optional, and its build lays out a filesystem_mirror in
// Terraform's unpacked layout that Paths points to.
func TestTerraformProviderMirrorLayout(t *testing.T) {
	if slices.Contains(AllTools, TerraformProviderKubernetes) || !slices.Contains(OptionalTools, TerraformProviderKubernetes) {
		t.Errorf("%s must be optional: AllTools %v, OptionalTools %v", TerraformProviderKubernetes, AllTools, OptionalTools)
	}
	out := t.TempDir()
	must(t, os.WriteFile(filepath.Join(out, "terraform-provider-kubernetes"), []byte("#!/bin/sh\n"), 0o755))
	tl := tools[TerraformProviderKubernetes]
	must(t, tl.postBuild(context.Background(), "", out))
	want := filepath.Join(out, "mirror", "registry.terraform.io", "hashicorp", "kubernetes", TerraformProviderVersion,
		runtime.GOOS+"_"+runtime.GOARCH, "terraform-provider-kubernetes_v"+TerraformProviderVersion)
	fi, err := os.Stat(want)
	if err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("mirror binary %s: %v (mode %v)", want, err, fi)
	}
	var p Paths
	must(t, tl.fill(&p, out))
	if p.TerraformProviderMirror != filepath.Join(out, "mirror") {
		t.Errorf("TerraformProviderMirror = %s", p.TerraformProviderMirror)
	}
	if !complete(out, tl) {
		t.Error("a laid-out tool dir is not complete")
	}
	// Without the mirror the dir is not usable.
	must(t, os.RemoveAll(filepath.Join(out, "mirror")))
	if err := tl.fill(&p, out); err == nil {
		t.Error("fill accepted a dir without the mirror")
	}
}

// The wrapper module pins the provider commit the mirror version documents.
func TestTerraformProviderWrapperModule(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "hack", "tools", TerraformProviderKubernetes, "go.mod"))
	must(t, err)
	if v := requiredVersion(b, tools[TerraformProviderKubernetes].versionModule); v != "v1.13.4-0.20260821094251-3a33fb6cc605" {
		t.Errorf("wrapper requires the provider at %q", v)
	}
}

// The provider is built as the Dockerfile builds it, static: the operator
// image (internal/operatorimage) has no libc and copies this binary.
func TestTerraformProviderBuiltStatic(t *testing.T) {
	tl := tools[TerraformProviderKubernetes]
	if !slices.Contains(tl.env, "CGO_ENABLED=0") {
		t.Errorf("provider build env %q: want CGO_ENABLED=0", tl.env)
	}
	args := buildArgs(tl, "v0", "OUT")
	for _, want := range []string{"-trimpath", "-ldflags=-s -w"} {
		if !slices.Contains(args, want) {
			t.Errorf("provider build args %q lack %s", args, want)
		}
	}
	// Changing how it is built changes its cache dir.
	wrapper := filepath.Join("..", "..", "hack", "tools", TerraformProviderKubernetes)
	d1, _, err := toolDir("/cache", wrapper, tl)
	must(t, err)
	tl.env = nil
	d2, _, err := toolDir("/cache", wrapper, tl)
	must(t, err)
	if d1 == d2 {
		t.Error("the build env is not part of the cache key")
	}
}
