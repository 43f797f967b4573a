package labimages

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// cacheDir is this test binary's own image cache: the first build in it is
// a real one (go build and assembly), never the developer's cached images.
// It is also where Build's default Options look ($ROTATION_CACHE_DIR), so
// Publish, which builds with them, finds the images the tests built.
var cacheDir string

func TestMain(m *testing.M) {
	root, err := os.MkdirTemp("", "labimages-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("ROTATION_CACHE_DIR", root)
	cacheDir = filepath.Join(root, "labimages")
	code := m.Run()
	os.RemoveAll(root)
	os.Exit(code)
}

var (
	buildOnce    sync.Once
	built        []Image
	buildErr     error
	buildLog     bytes.Buffer
	buildElapsed time.Duration
)

// images returns the lab images, built once for the whole test binary into
// cacheDir.
func images(t *testing.T) []Image {
	t.Helper()
	buildOnce.Do(func() {
		start := time.Now()
		built, buildErr = Build(context.Background(), Options{CacheDir: cacheDir, Log: &buildLog})
		buildElapsed = time.Since(start)
	})
	if buildErr != nil {
		t.Fatalf("Build: %v\n%s", buildErr, buildLog.String())
	}
	return built
}

// image returns the built image with ref.
func image(t *testing.T, ref string) Image {
	t.Helper()
	for _, im := range images(t) {
		if im.Ref == ref {
			return im
		}
	}
	t.Fatalf("Build returned no %s", ref)
	return Image{}
}

// layerFile is a file of an image's file system, as its layer has it.
type layerFile struct {
	hdr  tar.Header
	data []byte
}

// files reads the only layer of img: every entry in order.
func files(t *testing.T, img v1.Image) []layerFile {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out []layerFile
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, layerFile{hdr: *hdr, data: b})
	}
}

// binary writes the program of image ref (/<name> in its layer) into a
// temp dir and returns its path: the tests run what the image holds.
func binary(t *testing.T, ref string) string {
	t.Helper()
	im := image(t, ref)
	for _, f := range files(t, im.Image) {
		if f.hdr.Name == im.Name {
			p := filepath.Join(t.TempDir(), im.Name)
			if err := os.WriteFile(p, f.data, 0o755); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	t.Fatalf("%s has no /%s", ref, im.Name)
	return ""
}
