package labimages

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// formatVersion is part of every cache key. Bump it when assemble changes
// how an image is put together in a way the other inputs of the key do not
// show (media types, history), so older cache entries are not reused.
const formatVersion = "labimages/1"

// keyInputs is everything an image depends on besides its source files.
type keyInputs struct {
	Format       string
	Spec         spec
	Config       v1.Config
	Rootfs       []string
	GoVersion    string
	GoDirectives string
	GOARCH       string
	BuildArgs    []string
	BuildEnv     []string
}

// cacheKey returns 16 hex digits of a sha256 over the inputs and the source
// files, each file framed by its name and length so that moving bytes
// between files changes the key.
func cacheKey(in keyInputs, sources map[string][]byte) (string, error) {
	h := sha256.New()
	j, err := json.Marshal(in)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(h, "inputs\x00%d\x00", len(j))
	h.Write(j)
	names := make([]string, 0, len(sources))
	for n := range sources {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(sources[n]))
		h.Write(sources[n])
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// rootfsListing describes an image's files without the binary's bytes
// (the sources stand for those), for the cache key.
func rootfsListing(name string) []string {
	var out []string
	for _, e := range rootfs(name, nil) {
		out = append(out, fmt.Sprintf("%s %o %d:%d %q", e.Name, e.Mode, e.UID, e.GID, e.Data))
	}
	return out
}

// ErrNotCached is LoadCached's answer for a cache entry that is not there.
var ErrNotCached = errors.New("not cached")

// LoadCached opens the one image stored in the OCI layout dir (a cache
// entry StoreCached wrote), or returns ErrNotCached. Entries appear only
// by an atomic rename of a complete layout, so there is no half-written
// entry; the blobs are still checked by size, against a hand-edited or
// truncated cache.
func LoadCached(dir string) (v1.Image, error) {
	if _, err := os.Stat(filepath.Join(dir, "index.json")); errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotCached
	} else if err != nil {
		return nil, err
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, err
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(m.Manifests) != 1 {
		return nil, fmt.Errorf("%s: %d images, want 1", dir, len(m.Manifests))
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		return nil, err
	}
	man, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	for _, d := range append([]v1.Descriptor{man.Config}, man.Layers...) {
		fi, err := os.Stat(filepath.Join(dir, "blobs", d.Digest.Algorithm, d.Digest.Hex))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		if fi.Size() != d.Size {
			return nil, fmt.Errorf("%s: blob %s has %d bytes, want %d", dir, d.Digest, fi.Size(), d.Size)
		}
	}
	return img, nil
}

// StoreCached writes img as an OCI layout into a temp dir next to dir, then
// renames it to dir. When another process stored the same key first, its
// entry is kept: same key, same image.
func StoreCached(dir, ref string, img v1.Image) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".tmp-"+filepath.Base(dir)+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // a no-op after the rename
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{annotationRefName: ref})); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp makes it 0700
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "index.json")); serr == nil {
			return nil
		}
		return err
	}
	return nil
}
