package tekton

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// fakeStepInputs writes a userland dir and a GOROOT shaped like a Go
// release (with the parts the image leaves out), and replaces the cache
// warm-up with one writing a single entry; it returns how often the
// warm-up ran.
func fakeStepInputs(t *testing.T) (uroot, goroot string, warmed *int) {
	t.Helper()
	uroot, goroot = t.TempDir(), t.TempDir()
	for _, f := range []string{"sh", "cat", "chmod"} {
		write(t, filepath.Join(uroot, f), "binary "+f, 0o755)
	}
	tool := "pkg/tool/linux_" + runtime.GOARCH
	for _, f := range []string{
		"VERSION", "go.env", "bin/go", "bin/gofmt", tool + "/compile", tool + "/link", tool + "/fix",
		"src/fmt/print.go", "src/fmt/print_test.go", "src/fmt/testdata/x.txt", "lib/time/zoneinfo.zip",
		"test/bug1.go", "doc/go_spec.html", "api/go1.txt", "misc/editors", "lib/wasm/wasm_exec.js",
	} {
		mode := os.FileMode(0o644)
		if strings.HasPrefix(f, "bin/") || strings.HasPrefix(f, "pkg/tool/") {
			mode = 0o755
		}
		write(t, filepath.Join(goroot, f), "content of "+f, mode)
	}
	n := 0
	old := warm
	warm = func(_ context.Context, gr, gocache, _ string) error {
		if gr != goroot {
			t.Errorf("warm-up with GOROOT %s, want %s", gr, goroot)
		}
		n++
		write(t, filepath.Join(gocache, "00", "00aa-a"), "v1 entry", 0o644)
		return nil
	}
	t.Cleanup(func() { warm = old })
	return uroot, goroot, &n
}

func write(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

// The step image runs sh and the Go toolchain as the nonroot user, offline,
// with the build cache owned by that user (the go command writes next to
// the warm entries), dated so that Go's trim never deletes it, and without
// the parts of GOROOT a build never reads. A second call is served from
// the cache without warming again.
func TestStepImageLayout(t *testing.T) {
	uroot, goroot, warmed := fakeStepInputs(t)
	cache := t.TempDir()
	imgs, err := StepImages(context.Background(), withDeployTools(t, StepImageOptions{URoot: uroot, GOROOT: goroot, CacheDir: cache}))
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 2 || imgs[0].Ref != StepImage || StepImage != "rotation.local/cicd/go:v1" || imgs[0].Name != "cicd/go" || imgs[0].Tag != "v1" {
		t.Fatalf("images %+v, want %s", imgs, StepImage)
	}
	img := imgs[0].Image
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" || cf.OS != "linux" || cf.Architecture != runtime.GOARCH || !slices.Equal(cf.Config.Cmd, []string{"/bin/sh"}) {
		t.Errorf("config user %q, platform %s/%s, cmd %v", cf.Config.User, cf.OS, cf.Architecture, cf.Config.Cmd)
	}
	for _, kv := range []string{"PATH=/usr/local/go/bin:/bin", "HOME=/home/nonroot", "GOCACHE=/home/nonroot/.cache/go-build",
		"CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOPROXY=off", "GOFLAGS=-buildvcs=false"} {
		if !slices.Contains(cf.Config.Env, kv) {
			t.Errorf("env %v lacks %s", cf.Config.Env, kv)
		}
	}
	if m, err := img.Manifest(); err != nil || len(m.Layers) != 3 {
		t.Fatalf("manifest %+v (%v), want 3 layers: userland, Go, cache", m, err)
	}

	files := imageFiles(t, img)
	for name, want := range map[string]struct {
		mode int64
		uid  int
	}{
		"bin/sh":              {0o755, 0},
		"bin/cat":             {0o755, 0},
		"usr/local/go/bin/go": {0o755, 0},
		"usr/local/go/pkg/tool/linux_" + runtime.GOARCH + "/compile": {0o755, 0},
		"usr/local/go/src/fmt/print.go":                              {0o644, 0},
		"usr/local/go/lib/time/zoneinfo.zip":                         {0o644, 0},
		"usr/local/go/VERSION":                                       {0o644, 0},
		"usr/local/go/go.env":                                        {0o644, 0},
		"home/nonroot/":                                              {0o700, 65532},
		"home/nonroot/.cache/go-build/":                              {0o755, 65532},
		"home/nonroot/.cache/go-build/00/":                           {0o755, 65532},
		"home/nonroot/.cache/go-build/00/00aa-a":                     {0o644, 65532},
		"home/nonroot/.config/go/telemetry/mode":                     {0o644, 65532},
		"tmp/":                                                       {0o1777, 0},
		"etc/passwd":                                                 {0o644, 0},
	} {
		h, ok := files[name]
		if !ok {
			t.Errorf("image lacks %s", name)
			continue
		}
		if h.Mode&0o7777 != want.mode || h.Uid != want.uid || h.Gid != want.uid {
			t.Errorf("%s: mode %o owner %d:%d, want %o %d:%d", name, h.Mode, h.Uid, h.Gid, want.mode, want.uid, want.uid)
		}
	}
	if h := files["home/nonroot/.cache/go-build/00/00aa-a"]; h != nil && !h.ModTime.Equal(cacheModTime) {
		t.Errorf("cache entry dated %s, want %s (after any trim cutoff)", h.ModTime, cacheModTime)
	}
	for name := range files {
		for _, gone := range []string{"usr/local/go/test/", "usr/local/go/doc/", "usr/local/go/api/", "usr/local/go/misc/",
			"usr/local/go/lib/wasm/", "usr/local/go/src/fmt/testdata/", "usr/local/go/src/fmt/print_test.go", "usr/local/go/pkg/tool/linux_" + runtime.GOARCH + "/fix"} {
			if strings.HasPrefix(name, gone) {
				t.Errorf("image holds %s, which a build never reads", name)
			}
		}
	}

	again, err := StepImages(context.Background(), withDeployTools(t, StepImageOptions{URoot: uroot, GOROOT: goroot, CacheDir: cache}))
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Digest != imgs[0].Digest || *warmed != 1 {
		t.Errorf("second call: digest %s then %s, warmed %d times; want the cached image", imgs[0].Digest, again[0].Digest, *warmed)
	}
}

// A new command in the userland makes a new image; bad inputs say what
// is wrong.
func TestStepImageInputs(t *testing.T) {
	uroot, goroot, _ := fakeStepInputs(t)
	cache := t.TempDir()
	first, err := StepImages(context.Background(), withDeployTools(t, StepImageOptions{URoot: uroot, GOROOT: goroot, CacheDir: cache}))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(uroot, "tee"), "binary tee", 0o755)
	second, err := StepImages(context.Background(), withDeployTools(t, StepImageOptions{URoot: uroot, GOROOT: goroot, CacheDir: cache}))
	if err != nil {
		t.Fatal(err)
	}
	if first[0].Digest == second[0].Digest {
		t.Error("a new command did not change the image")
	}

	if err := os.Remove(filepath.Join(uroot, "sh")); err != nil {
		t.Fatal(err)
	}
	if _, err := StepImages(context.Background(), withDeployTools(t, StepImageOptions{URoot: uroot, GOROOT: goroot, CacheDir: cache})); err == nil || !strings.Contains(err.Error(), "no sh in") {
		t.Errorf("userland without sh: %v", err)
	}
	if _, err := StepImages(context.Background(), withDeployTools(t, StepImageOptions{URoot: uroot, GOROOT: t.TempDir(), CacheDir: cache})); err == nil || !strings.Contains(err.Error(), "GOROOT") {
		t.Errorf("empty GOROOT: %v", err)
	}

	write(t, filepath.Join(uroot, "sh"), "binary sh", 0o755)
	warm = func(context.Context, string, string, string) error { return errors.New("go test: exit status 1") }
	if _, err := StepImages(context.Background(), withDeployTools(t, StepImageOptions{URoot: uroot, GOROOT: goroot, CacheDir: t.TempDir()})); err == nil || !strings.Contains(err.Error(), "go test: exit status 1") {
		t.Errorf("failing warm-up: %v", err)
	}
}

// imageFiles lists the image's flattened file system by name.
func imageFiles(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	out := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(h.Name, "/"), "/")
		if h.Typeflag == tar.TypeDir {
			name += "/" // Extract may clean the slash away
		}
		out[name] = h
	}
}
