package labimages

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// epoch is every timestamp in an image (config, history, file times): a
// fixed time, so that the same binary makes the same digest.
var epoch = time.Unix(0, 0).UTC()

// passwd and group name the nonroot user, so tools that look the user up
// (and HOME) work; root is there because every Unix expects it.
var (
	passwd = fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", UID, GID)
	group  = fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", GID)
)

// sourceURL goes into the images' org.opencontainers.image.source label.
const sourceURL = "https://github.com/handson-dev/rotation-operator"

// rootfsEntry is one file or folder of an image's only layer.
type rootfsEntry struct {
	name     string // without a leading slash; folders end in /
	mode     int64
	uid, gid int
	data     []byte // nil for a folder
}

// rootfs is the file system of an image: its binary at /<name>, the users,
// a home for nonroot and a world-writable /tmp. Nothing else: no shell, no
// file from the build machine.
func rootfs(name string, binary []byte) []rootfsEntry {
	return []rootfsEntry{
		{name: "etc/", mode: 0o755},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "home/", mode: 0o755},
		{name: "home/nonroot/", mode: 0o700, uid: UID, gid: GID},
		{name: "tmp/", mode: 0o1777},
		{name: name, mode: 0o755, uid: UID, gid: GID, data: binary},
	}
}

// layerTar writes entries as an uncompressed tar, in their order, with
// numeric owners and epoch times only.
func layerTar(entries []rootfsEntry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.gid,
			ModTime: epoch,
			Format:  tar.FormatUSTAR,
		}
		if e.data == nil {
			hdr.Typeflag = tar.TypeDir
		} else {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("%s: %w", e.name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("%s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// assemble makes the image of s around its linux/goarch binary: one layer
// (rootfs), OCI media types, and a config that runs the binary as nonroot.
func assemble(s spec, binary []byte, goarch string) (v1.Image, error) {
	tarBytes, err := layerTar(rootfs(s.Name, binary))
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tarBytes)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}

	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: epoch},
			CreatedBy: "go build ./" + SourceDir + "/" + s.Name + " (internal/labimages)",
		},
	})
	if err != nil {
		return nil, err
	}

	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", goarch
	cf.Created = v1.Time{Time: epoch}
	cf.Config = imageConfig(s)
	return mutate.ConfigFile(img, cf)
}

// imageConfig is how the runtime starts s: its binary as entrypoint (no
// shell to wrap it), as the numeric nonroot user.
func imageConfig(s spec) v1.Config {
	c := v1.Config{
		Entrypoint: []string{"/" + s.Name},
		User:       fmt.Sprintf("%d:%d", UID, GID),
		WorkingDir: "/",
		// PATH=/ so `kubectl exec POD -- web get ...` finds the binary.
		Env: append([]string{"PATH=/"}, s.Env...),
		Labels: map[string]string{
			"org.opencontainers.image.title":       s.Name,
			"org.opencontainers.image.description": s.Description,
			"org.opencontainers.image.version":     s.Tag,
			"org.opencontainers.image.source":      sourceURL,
		},
	}
	if len(s.Ports) > 0 {
		c.ExposedPorts = map[string]struct{}{}
		for _, p := range s.Ports {
			c.ExposedPorts[p] = struct{}{}
		}
	}
	return c
}
