package labimages

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// readTar returns the regular files of a tar archive by name, in order.
func readTar(t *testing.T, path string) (names []string, data map[string][]byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data = map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, data
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := data[hdr.Name]; dup {
			t.Errorf("%s twice in the archive", hdr.Name)
		}
		names = append(names, hdr.Name)
		data[hdr.Name] = b
	}
}

// TestWriteArchive: the archive is an OCI layout naming every image the way
// containerd imports it, and a docker-archive, with each blob once.
func TestWriteArchive(t *testing.T) {
	imgs := images(t)
	path := filepath.Join(t.TempDir(), "lab-images.tar")
	if err := WriteArchive(path, imgs...); err != nil {
		t.Fatal(err)
	}
	names, data := readTar(t, path)
	if !slices.Equal(names[:3], []string{"oci-layout", "index.json", "manifest.json"}) {
		t.Errorf("archive starts with %v", names[:3])
	}
	// Blobs: 3 manifests, 3 configs, 2 layers (web 1.0 and 1.1 share theirs).
	if blobs := len(names) - 3; blobs != 8 {
		t.Errorf("%d blobs: %v", blobs, names)
	}
	for _, n := range names[3:] {
		h, err := v1.NewHash("sha256:" + strings.TrimPrefix(n, "blobs/sha256/"))
		if !strings.HasPrefix(n, "blobs/sha256/") || err != nil {
			t.Errorf("blob %s", n)
			continue
		}
		if got, _, _ := v1.SHA256(strings.NewReader(string(data[n]))); got != h {
			t.Errorf("%s hashes to %s", n, got)
		}
	}

	// The OCI side, as containerd reads it.
	var index v1.IndexManifest
	if err := json.Unmarshal(data["index.json"], &index); err != nil {
		t.Fatal(err)
	}
	var refs []string
	for i, d := range index.Manifests {
		im := imgs[i]
		refs = append(refs, d.Annotations[annotationContainerdName])
		if d.Digest != im.Digest || d.Annotations[annotationRefName] != im.Tag || d.Platform == nil || d.Platform.OS != "linux" {
			t.Errorf("index entry %d: %+v, want %s %s", i, d, im.Ref, im.Digest)
		}
	}
	if !slices.Equal(refs, Refs()) {
		t.Errorf("io.containerd.image.name of the index: %v, want %v", refs, Refs())
	}
	dir := t.TempDir()
	for n, b := range data {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range imgs {
		img, err := lp.Image(im.Digest)
		if err != nil {
			t.Fatalf("%s from the OCI layout: %v", im.Ref, err)
		}
		consistent(t, Image{Ref: im.Ref, Digest: im.Digest, Image: img})
	}

	// The docker-archive side, as docker load reads it.
	var manifests []struct{ RepoTags []string }
	if err := json.Unmarshal(data["manifest.json"], &manifests); err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, m := range manifests {
		tags = append(tags, m.RepoTags...)
	}
	if !slices.Equal(tags, Refs()) {
		t.Errorf("RepoTags of manifest.json: %v, want %v", tags, Refs())
	}
	for _, im := range imgs {
		tag, err := name.NewTag(im.Ref)
		if err != nil {
			t.Fatal(err)
		}
		img, err := tarball.ImageFromPath(path, &tag)
		if err != nil {
			t.Fatalf("%s from the docker-archive: %v", im.Ref, err)
		}
		got, _ := img.ConfigName()
		want, _ := im.Image.ConfigName()
		if got != want {
			t.Errorf("%s from the docker-archive: config %s, want %s", im.Ref, got, want)
		}
	}
}

func TestWriteArchiveErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.tar")
	if err := WriteArchive(path); err == nil {
		t.Error("an archive of no images")
	}
	web := image(t, Web10)
	if err := WriteArchive(path, web, web); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("the same ref twice: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a failed WriteArchive left %s", path)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".a.tar-*")); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
}
