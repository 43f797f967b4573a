package labimages

import (
	"fmt"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// StaticNonroot is a base for learners' own images: the users, the nonroot
// home and /tmp of distroless's static :nonroot image, and no program. The
// lab registry offers it read-only to every lab (registry
// LibraryRepository "static", tag "nonroot"), so a Dockerfile can build
// FROM it in a lab with no internet: a static Go binary COPYed on top runs
// as it would on distroless.
const StaticNonroot = Registry + "/static:nonroot"

// StaticBase builds StaticNonroot for linux/goarch ("" means this
// machine's). It has no binary to compile, so it is built at once and
// needs no cache; the same files give the same digest.
func StaticBase(goarch string) (Image, error) {
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	layer, err := Layer(BaseFiles())
	if err != nil {
		return Image{}, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: Epoch}, CreatedBy: "base files (internal/labimages)"},
	})
	if err != nil {
		return Image{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return Image{}, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", goarch
	cf.Created = v1.Time{Time: Epoch}
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", UID, GID),
		WorkingDir: "/",
		Env:        []string{"PATH=/usr/local/bin:/usr/bin:/bin:/"},
		Labels: map[string]string{
			"org.opencontainers.image.title":       "static",
			"org.opencontainers.image.description": "An empty non-root base for static binaries, offline: users, /home/nonroot and /tmp only.",
			"org.opencontainers.image.version":     "nonroot",
			"org.opencontainers.image.source":      SourceURL,
		},
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return Image{}, err
	}
	d, err := img.Digest()
	if err != nil {
		return Image{}, err
	}
	return Image{Ref: StaticNonroot, Name: "static", Tag: "nonroot", Digest: d, Image: img}, nil
}
