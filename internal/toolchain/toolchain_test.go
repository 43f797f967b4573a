package toolchain

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCacheKey(t *testing.T) {
	a := cacheKey(map[string][]byte{"go.mod": []byte("module x\n"), "go.sum": []byte("s")})
	if len(a) != 12 {
		t.Fatalf("key %q: want 12 hex digits", a)
	}
	if b := cacheKey(map[string][]byte{"go.sum": []byte("s"), "go.mod": []byte("module x\n")}); a != b {
		t.Errorf("key depends on map order: %s vs %s", a, b)
	}
	if b := cacheKey(map[string][]byte{"go.mod": []byte("module x\ns"), "go.sum": nil}); a == b {
		t.Error("moving bytes between files must change the key")
	}
	if b := cacheKey(map[string][]byte{"go.mod": []byte("module y\n"), "go.sum": []byte("s")}); a == b {
		t.Error("changing go.mod must change the key")
	}
}

func TestRequiredVersion(t *testing.T) {
	goMod := []byte(`module m

require k8s.io/kubernetes v1.37.2

require (
	go.etcd.io/etcd/server/v3 v3.6.16
	sigs.k8s.io/kwok v0.8.0 // indirect
)

replace k8s.io/api => k8s.io/api v0.37.2
`)
	for mod, want := range map[string]string{
		"k8s.io/kubernetes":         "v1.37.2",
		"go.etcd.io/etcd/server/v3": "v3.6.16",
		"sigs.k8s.io/kwok":          "v0.8.0",
		"k8s.io/api":                "", // only in a replace
		"missing":                   "",
	} {
		if got := requiredVersion(goMod, mod); got != want {
			t.Errorf("requiredVersion(%s) = %q, want %q", mod, got, want)
		}
	}
	if got := dirName("kwok", "v0.8.0", "abc"); got != "kwok-v0.8.0-abc" {
		t.Errorf("dirName = %q", got)
	}
}

func TestKubeVersionLDFlags(t *testing.T) {
	got := kubeVersionLDFlags("v1.37.2")
	for _, want := range []string{"gitVersion=v1.37.2", "gitMajor=1 ", "gitMinor=37 ", "gitTreeState=clean"} {
		if !strings.Contains(got+" ", want) {
			t.Errorf("ldflags %q lack %q", got, want)
		}
	}
}

func TestModulePath(t *testing.T) {
	if got := modulePath([]byte("// c\nmodule \"github.com/a/b\"\n\ngo 1.26\n")); got != "github.com/a/b" {
		t.Errorf("modulePath = %q", got)
	}
}

// fakeRepo makes a repo root with an etcd wrapper module and returns it.
func fakeRepo(t *testing.T, goMod string) string {
	t.Helper()
	repo := t.TempDir()
	w := filepath.Join(repo, "hack", "tools", "etcd")
	must(t, os.MkdirAll(w, 0o755))
	must(t, os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module "+ModulePath+"\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(w, "go.mod"), []byte(goMod), 0o644))
	must(t, os.WriteFile(filepath.Join(w, "go.sum"), []byte("sum\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(w, "main.go"), []byte("package main\n"), 0o644))
	return repo
}

func TestRepoRootWalksPastNestedModules(t *testing.T) {
	repo := fakeRepo(t, "module "+ModulePath+"/hack/tools/etcd\n")
	t.Setenv("ROTATION_REPO_ROOT", "")
	t.Chdir(filepath.Join(repo, "hack", "tools", "etcd"))
	got, err := RepoRoot()
	must(t, err)
	// t.TempDir may sit behind a symlink (macOS /var), so compare resolved.
	want, _ := filepath.EvalSymlinks(repo)
	if got, _ = filepath.EvalSymlinks(got); got != want {
		t.Errorf("RepoRoot = %s, want %s", got, want)
	}
}

// TestEnsureUsesCache checks the lookup path end to end without building:
// a pre-populated cache dir is found, and a version bump maps elsewhere.
func TestEnsureUsesCache(t *testing.T) {
	repo := fakeRepo(t, "module x\n\nrequire go.etcd.io/etcd/server/v3 v3.6.16\n")
	cache := t.TempDir()
	t.Setenv("ROTATION_REPO_ROOT", repo)
	t.Setenv("ROTATION_CACHE_DIR", cache)

	dir, _, err := toolDir(cache, filepath.Join(repo, "hack", "tools", "etcd"), tools[Etcd])
	must(t, err)
	if !strings.HasPrefix(filepath.Base(dir), "etcd-v3.6.16-") {
		t.Fatalf("tool dir %s lacks name and version", dir)
	}
	must(t, os.MkdirAll(dir, 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "etcd"), []byte("#!/bin/sh\n"), 0o755))

	start := time.Now()
	p, err := Ensure(context.Background(), nil, Etcd)
	must(t, err)
	if p.Etcd != filepath.Join(dir, "etcd") {
		t.Errorf("Etcd = %s, want it in %s", p.Etcd, dir)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("cached Ensure took %s", d)
	}

	// Bumping the version must point at a different (not yet built) dir.
	must(t, os.WriteFile(filepath.Join(repo, "hack", "tools", "etcd", "go.mod"),
		[]byte("module x\n\nrequire go.etcd.io/etcd/server/v3 v3.6.17\n"), 0o644))
	dir2, _, err := toolDir(cache, filepath.Join(repo, "hack", "tools", "etcd"), tools[Etcd])
	must(t, err)
	if dir2 == dir || complete(dir2, tools[Etcd]) {
		t.Errorf("version bump reused %s", dir2)
	}
}

// Files postBuild copies are part of the key: a cache dir built before a
// file was added to the copy list (kwok's Logs CRD) is not reused.
func TestCopiedFilesInKey(t *testing.T) {
	repo := fakeRepo(t, "module x\n\nrequire sigs.k8s.io/kwok v0.8.0\n")
	wrapper := filepath.Join(repo, "hack", "tools", "etcd")
	kwok := tools[Kwok]
	if len(kwok.copied) == 0 {
		t.Fatal("kwok copies no files")
	}
	dir, _, err := toolDir(t.TempDir(), wrapper, kwok)
	must(t, err)
	fewer := kwok
	fewer.copied = kwok.copied[:len(kwok.copied)-1]
	dir2, _, err := toolDir(t.TempDir(), wrapper, fewer)
	must(t, err)
	if filepath.Base(dir) == filepath.Base(dir2) {
		t.Errorf("dropping %s from the copy list kept the dir %s", kwok.copied[len(kwok.copied)-1], filepath.Base(dir))
	}
}

func TestEnsureUnknownTool(t *testing.T) {
	t.Setenv("ROTATION_REPO_ROOT", fakeRepo(t, "module x\n"))
	t.Setenv("ROTATION_CACHE_DIR", t.TempDir())
	if _, err := Ensure(context.Background(), nil, "nope"); err == nil {
		t.Fatal("want error for unknown tool")
	}
}

func TestLockIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := lockFile(context.Background(), path, nil, "x")
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	if _, err := lockFile(ctx, path, nil, "x"); err == nil {
		t.Fatal("second lock succeeded while the first is held")
	}
	unlock()
	unlock2, err := lockFile(context.Background(), path, nil, "x")
	must(t, err)
	unlock2()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
