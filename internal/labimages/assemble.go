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

// Epoch is every timestamp in an image (config, history, file times): a
// fixed time, so that the same binary makes the same digest.
var Epoch = time.Unix(0, 0).UTC()

// passwd and group name the nonroot user, so tools that look the user up
// (and HOME) work; root is there because every Unix expects it.
var (
	passwd = fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", UID, GID)
	group  = fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", GID)
)

// SourceURL goes into the images' org.opencontainers.image.source label.
const SourceURL = "https://github.com/handson-dev/rotation-operator"

// File is one file or folder of an image layer.
type File struct {
	Name     string // without a leading slash; folders end in /
	Mode     int64
	UID, GID int
	Data     []byte // nil for a folder
}

// BaseFiles are what every image of the project has besides its programs:
// the users (root and nonroot, 65532), a home for nonroot and a
// world-writable /tmp, as distroless's static :nonroot image has them.
func BaseFiles() []File {
	return []File{
		{Name: "etc/", Mode: 0o755},
		{Name: "etc/group", Mode: 0o644, Data: []byte(group)},
		{Name: "etc/passwd", Mode: 0o644, Data: []byte(passwd)},
		{Name: "home/", Mode: 0o755},
		{Name: "home/nonroot/", Mode: 0o700, UID: UID, GID: GID},
		{Name: "tmp/", Mode: 0o1777},
	}
}

// rootfs is the file system of an image: its binary at /<name> and the
// base files. Nothing else: no shell, no file from the build machine.
func rootfs(name string, binary []byte) []File {
	return append(BaseFiles(), File{Name: name, Mode: 0o755, UID: UID, GID: GID, Data: binary})
}

// layerTar writes entries as an uncompressed tar, in their order, with
// numeric owners and Epoch times only.
func layerTar(entries []File) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name:    e.Name,
			Mode:    e.Mode,
			Uid:     e.UID,
			Gid:     e.GID,
			ModTime: Epoch,
			Format:  tar.FormatUSTAR,
		}
		if e.Data == nil {
			hdr.Typeflag = tar.TypeDir
		} else {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.Data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name, err)
		}
		if _, err := tw.Write(e.Data); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Layer is an OCI layer (gzip) holding files, in their order, owned by
// their numeric owners only and dated Epoch: the same files make the same
// digest. opts go to tarball.LayerFromOpener after the media type.
func Layer(files []File, opts ...tarball.LayerOption) (v1.Layer, error) {
	tarBytes, err := layerTar(files)
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tarBytes)), nil
	}, append([]tarball.LayerOption{tarball.WithMediaType(types.OCILayer)}, opts...)...)
}

// assemble makes the image of s around its linux/goarch binary: one layer
// (rootfs), OCI media types, and a config that runs the binary as nonroot.
func assemble(s spec, binary []byte, goarch string) (v1.Image, error) {
	layer, err := Layer(rootfs(s.Name, binary))
	if err != nil {
		return nil, err
	}

	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: Epoch},
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
	cf.Created = v1.Time{Time: Epoch}
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
			"org.opencontainers.image.source":      SourceURL,
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
