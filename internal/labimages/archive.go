package labimages

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations of the index of an OCI layout that name its images.
const (
	// annotationContainerdName is the full reference containerd imports an
	// image under (ctr images import).
	annotationContainerdName = "io.containerd.image.name"
	// annotationRefName is the OCI reference name: the tag in an archive,
	// as docker save and the real-node recipe write it.
	annotationRefName = "org.opencontainers.image.ref.name"
)

// WriteArchive writes images into one tar file at path that is both an OCI
// image layout (oci-layout, index.json, blobs/sha256/...) and a
// docker-archive (manifest.json with RepoTags), like docker save writes
// since Docker 25:
//
//   - containerd (ctr -n k8s.io images import, 1.6 and later) reads the OCI
//     layout, names each image by its io.containerd.image.name annotation,
//     and keeps its manifest byte for byte, so the digest on the node is
//     the digest of Build and of the registry;
//   - docker load and go-containerregistry's tarball package read
//     manifest.json.
//
// Blobs shared by images (web 1.0 and 1.1 share their layer) are written
// once. The file is written next to path and renamed into place.
func WriteArchive(path string, images ...Image) error {
	if len(images) == 0 {
		return fmt.Errorf("archive %s: no images", path)
	}
	type dockerManifest struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	var (
		index     = v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
		manifests []dockerManifest
		blobs     = map[v1.Hash]func() (io.ReadCloser, error){}
		blobPath  = func(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }
		seenRef   = map[string]bool{}
	)
	for _, im := range images {
		if seenRef[im.Ref] {
			return fmt.Errorf("archive %s: %s twice", path, im.Ref)
		}
		seenRef[im.Ref] = true
		rawManifest, err := im.Image.RawManifest()
		if err != nil {
			return fmt.Errorf("%s: %w", im.Ref, err)
		}
		rawConfig, err := im.Image.RawConfigFile()
		if err != nil {
			return fmt.Errorf("%s: %w", im.Ref, err)
		}
		m, err := im.Image.Manifest()
		if err != nil {
			return fmt.Errorf("%s: %w", im.Ref, err)
		}
		cf, err := im.Image.ConfigFile()
		if err != nil {
			return fmt.Errorf("%s: %w", im.Ref, err)
		}
		digest, err := im.Image.Digest()
		if err != nil {
			return fmt.Errorf("%s: %w", im.Ref, err)
		}
		blobs[digest] = bytesOpener(rawManifest)
		blobs[m.Config.Digest] = bytesOpener(rawConfig)
		dm := dockerManifest{Config: blobPath(m.Config.Digest), RepoTags: []string{im.Ref}}
		layers, err := im.Image.Layers()
		if err != nil {
			return fmt.Errorf("%s: %w", im.Ref, err)
		}
		for _, l := range layers {
			d, err := l.Digest()
			if err != nil {
				return fmt.Errorf("%s: %w", im.Ref, err)
			}
			blobs[d] = l.Compressed
			dm.Layers = append(dm.Layers, blobPath(d))
		}
		manifests = append(manifests, dm)
		index.Manifests = append(index.Manifests, v1.Descriptor{
			MediaType: m.MediaType,
			Digest:    digest,
			Size:      int64(len(rawManifest)),
			Platform:  &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant},
			Annotations: map[string]string{
				annotationContainerdName: im.Ref,
				annotationRefName:        im.Tag,
			},
		})
	}
	indexJSON, err := json.Marshal(index)
	if err != nil {
		return err
	}
	manifestJSON, err := json.Marshal(manifests)
	if err != nil {
		return err
	}

	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	tw := tar.NewWriter(tmp)
	files := []tarFile{
		{"oci-layout", bytesOpener([]byte(`{"imageLayoutVersion":"1.0.0"}`))},
		{"index.json", bytesOpener(indexJSON)},
		{"manifest.json", bytesOpener(manifestJSON)},
	}
	hashes := make([]v1.Hash, 0, len(blobs))
	for h := range blobs {
		hashes = append(hashes, h)
	}
	sort.Slice(hashes, func(i, j int) bool { return hashes[i].String() < hashes[j].String() })
	for _, h := range hashes {
		files = append(files, tarFile{blobPath(h), blobs[h]})
	}
	for _, f := range files {
		if err := writeTarFile(tw, f.name, f.open); err != nil {
			tmp.Close()
			return fmt.Errorf("archive %s: %s: %w", path, f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil { // CreateTemp makes it 0600
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// tarFile is a file of the archive and how to read it.
type tarFile struct {
	name string
	open func() (io.ReadCloser, error)
}

func bytesOpener(b []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// writeTarFile writes one file; the tar header needs the size first, so the
// content is read into memory (the largest blob is a few MiB).
func writeTarFile(tw *tar.Writer, name string, open func() (io.ReadCloser, error)) error {
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: Epoch, Format: tar.FormatUSTAR}); err != nil {
		return err
	}
	_, err = tw.Write(b)
	return err
}
