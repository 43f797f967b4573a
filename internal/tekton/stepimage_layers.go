package tekton

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/handson-dev/rotation-operator/internal/labimages"
)

// layerEntry is one entry of a layer: a folder (name ends in /), a file
// copied from src or holding data, or a symlink to link.
type layerEntry struct {
	name     string // without a leading slash
	mode     int64
	uid, gid int
	src      string
	data     []byte
	link     string
	modTime  time.Time // Epoch when zero
}

// cacheModTime dates the build cache's files. Go deletes cache entries
// not used for five days (checked once a day, on the first go command of a
// fresh container, as its trim.txt is missing): a date in the past would
// make a step's first `go build` delete what its `go test` needs next. A
// date after the cutoff never is. Fixed, so the same cache makes the same
// digest.
var cacheModTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

// writeLayer writes entries as a gzip tar to file (compressed once, here:
// go-containerregistry then only hashes it) and returns it as an OCI
// layer, which reads file until the image is stored.
func writeLayer(file string, entries []layerEntry) (v1.Layer, error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		if err := writeEntry(tw, e); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return tarball.LayerFromFile(file, tarball.WithMediaType(types.OCILayer))
}

func writeEntry(tw *tar.Writer, e layerEntry) error {
	hdr := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: e.modTime}
	if hdr.ModTime.IsZero() {
		hdr.ModTime = labimages.Epoch
	}
	var body io.Reader
	switch {
	case strings.HasSuffix(e.name, "/"):
		hdr.Typeflag = tar.TypeDir
	case e.link != "":
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, e.link
	case e.src != "":
		f, err := os.Open(e.src)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Size, body = tar.TypeReg, fi.Size(), f
	default:
		hdr.Typeflag, hdr.Size, body = tar.TypeReg, int64(len(e.data)), bytes.NewReader(e.data)
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if body == nil {
		return nil
	}
	_, err := io.Copy(tw, body)
	return err
}

// parents returns folder entries for every parent of name (a/b/c gives
// a/ and a/b/), as root's 0755 folders.
func parents(name string) []layerEntry {
	var out []layerEntry
	for dir := path.Dir(strings.TrimSuffix(name, "/")); dir != "."; dir = path.Dir(dir) {
		out = append([]layerEntry{{name: dir + "/", mode: 0o755}}, out...)
	}
	return out
}

// userlandEntries are the base files (users, /home/nonroot, /tmp), every
// file of dir as /bin/<name>, and a Go telemetry mode file saying off (the
// go command has no environment variable for it).
func userlandEntries(dir string) ([]layerEntry, error) {
	var out []layerEntry
	for _, f := range labimages.BaseFiles() {
		out = append(out, layerEntry{name: f.Name, mode: f.Mode, uid: f.UID, gid: f.GID, data: f.Data})
	}
	out = append(out, layerEntry{name: "bin/", mode: 0o755})
	bins, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	if len(bins) == 0 {
		return nil, fmt.Errorf("no commands in %s", dir)
	}
	hasShell := false
	for _, b := range bins {
		if b.IsDir() {
			return nil, fmt.Errorf("%s: a folder among the commands", filepath.Join(dir, b.Name()))
		}
		hasShell = hasShell || b.Name() == "sh"
		out = append(out, layerEntry{name: "bin/" + b.Name(), mode: 0o755, src: filepath.Join(dir, b.Name())})
	}
	if !hasShell {
		return nil, fmt.Errorf("no sh in %s", dir)
	}
	home := strings.TrimPrefix(stepHome, "/") + "/"
	for _, d := range []string{".cache/", ".config/", ".config/go/", ".config/go/telemetry/"} {
		out = append(out, layerEntry{name: home + d, mode: 0o755, uid: labimages.UID, gid: labimages.GID})
	}
	out = append(out, layerEntry{name: home + ".config/go/telemetry/mode", mode: 0o644, uid: labimages.UID, gid: labimages.GID, data: []byte("off")})
	return out, nil
}

// gorootSkipped are the top-level parts of a Go release a build never
// reads: the spec and release notes, API lists, the compiler's own test
// suite, editor and wasm support, and go fix.
var gorootSkipped = map[string]bool{
	"api": true, "doc": true, "misc": true, "test": true, "lib/wasm": true, "lib/hg": true,
	"pkg/tool/linux_amd64/fix": true, "pkg/tool/linux_arm64/fix": true,
}

// gorootEntries copies goroot to StepGoroot, owned by root, without
// gorootSkipped and without the standard library's own tests (*_test.go,
// testdata/): learners test their code, not Go's.
func gorootEntries(goroot string) ([]layerEntry, error) {
	prefix := strings.TrimPrefix(StepGoroot, "/")
	out := parents(prefix + "/")
	err := filepath.WalkDir(goroot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(goroot, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if gorootSkipped[rel] || (d.IsDir() && d.Name() == "testdata") || (!d.IsDir() && strings.HasSuffix(d.Name(), "_test.go")) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		name := prefix
		if rel != "." {
			name += "/" + rel
		}
		return appendDiskEntry(&out, name, p, d, 0, 0, time.Time{})
	})
	if err != nil {
		return nil, fmt.Errorf("GOROOT %s: %w", goroot, err)
	}
	return out, nil
}

// cacheEntries copies the warmed build cache to StepGOCACHE, owned by the
// nonroot user (the go command writes new entries next to these) and
// dated cacheModTime.
func cacheEntries(gocache string) ([]layerEntry, error) {
	prefix := strings.TrimPrefix(StepGOCACHE, "/")
	home := strings.TrimPrefix(stepHome, "/")
	out := []layerEntry{
		{name: home + "/", mode: 0o700, uid: labimages.UID, gid: labimages.GID},
		{name: home + "/.cache/", mode: 0o755, uid: labimages.UID, gid: labimages.GID},
	}
	err := filepath.WalkDir(gocache, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(gocache, p)
		if err != nil {
			return err
		}
		name := prefix
		if rel != "." {
			name += "/" + filepath.ToSlash(rel)
		}
		return appendDiskEntry(&out, name, p, d, labimages.UID, labimages.GID, cacheModTime)
	})
	return out, err
}

// appendDiskEntry adds the file, folder or symlink at p as name, keeping
// its permission bits.
func appendDiskEntry(out *[]layerEntry, name, p string, d fs.DirEntry, uid, gid int, mtime time.Time) error {
	fi, err := d.Info()
	if err != nil {
		return err
	}
	e := layerEntry{name: name, mode: int64(fi.Mode().Perm()), uid: uid, gid: gid, modTime: mtime}
	switch {
	case d.IsDir():
		e.name += "/"
	case fi.Mode()&fs.ModeSymlink != 0:
		if e.link, err = os.Readlink(p); err != nil {
			return err
		}
	case fi.Mode().IsRegular():
		e.src = p
	default:
		return fmt.Errorf("%s: not a file, folder or symlink", p)
	}
	*out = append(*out, e)
	return nil
}

// stepLayer is one layer of a step image and what made it (its history).
type stepLayer struct {
	entries []layerEntry
	what    string
}

// storeStepImage assembles a step image from its layers (written in work),
// with sh as its command, the nonroot user and home, env and the OCI title,
// and stores it in dir under ref. The step images differ only in these.
func storeStepImage(work, dir, ref, title string, env []string, layers []stepLayer) error {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for i, l := range layers {
		layer, err := writeLayer(filepath.Join(work, fmt.Sprintf("layer-%d.tar.gz", i)), l.entries)
		if err != nil {
			return err
		}
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:   layer,
			History: v1.History{Created: v1.Time{Time: labimages.Epoch}, CreatedBy: l.what + " (internal/tekton)"},
		})
		if err != nil {
			return err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Created = v1.Time{Time: labimages.Epoch}
	cf.Config = v1.Config{
		Cmd:        []string{"/bin/sh"},
		User:       fmt.Sprintf("%d:%d", labimages.UID, labimages.GID),
		WorkingDir: stepHome,
		Env:        env,
		Labels: map[string]string{
			"org.opencontainers.image.title":  title,
			"org.opencontainers.image.source": labimages.SourceURL,
		},
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	// The layers are files in work: store before it is removed.
	return labimages.StoreCached(dir, ref, img)
}
