package tekton

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/handson-dev/rotation-operator/internal/labimages"
)

// Version is the Tekton Pipelines release hack/tools/tekton builds; the
// images are tagged with it.
const Version = "v1.15.0"

// Components are the programs that get an image: the controller and webhook
// Deployments, and what the controller puts into every TaskRun pod.
var Components = []string{"controller", "webhook", "entrypoint", "nop", "sidecarlogresults", "workingdirinit"}

// Ref is the image reference of a component.
func Ref(component string) string {
	return labimages.Registry + "/tekton/" + component + ":" + Version
}

// binDir is where the images hold their program, as ko lays them out: the
// controller starts TaskRun init containers with /ko-app/entrypoint,
// /ko-app/workingdirinit and /ko-app/sidecarlogresults explicitly.
const binDir = "ko-app"

// formatVersion is part of every image cache key: bump it when the way an
// image is put together changes.
const formatVersion = "tekton-images/1"

// Images returns the component images for linux/goarch ("" means this
// machine's), built around the binaries in binaries (toolchain.Paths.Tekton)
// or served from cacheDir, where each is kept by the hash of its binary.
func Images(binaries, cacheDir, goarch string) ([]labimages.Image, error) {
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	out := make([]labimages.Image, 0, len(Components))
	for _, c := range Components {
		bin, err := os.ReadFile(filepath.Join(binaries, c))
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256([]byte(formatVersion + "\x00" + goarch + "\x00"))
		h := sha256.New()
		h.Write(sum[:])
		h.Write(bin)
		dir := filepath.Join(cacheDir, c+"-"+Version+"-"+hex.EncodeToString(h.Sum(nil))[:16])
		img, err := labimages.LoadCached(dir)
		if errors.Is(err, labimages.ErrNotCached) {
			if img, err = assemble(c, bin, goarch); err == nil {
				if err = labimages.StoreCached(dir, Ref(c), img); err == nil {
					img, err = labimages.LoadCached(dir)
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", Ref(c), err)
		}
		d, err := img.Digest()
		if err != nil {
			return nil, err
		}
		out = append(out, labimages.Image{Ref: Ref(c), Name: "tekton/" + c, Tag: Version, Digest: d, Image: img})
	}
	return out, nil
}

// assemble makes a component's image as ko would on a static base: the
// project's base files (users, /tmp) and the binary at /ko-app/<name>,
// its entrypoint, run as the nonroot user.
func assemble(component string, binary []byte, goarch string) (v1.Image, error) {
	files := append(labimages.BaseFiles(),
		labimages.File{Name: binDir + "/", Mode: 0o755},
		labimages.File{Name: binDir + "/" + component, Mode: 0o755, Data: binary})
	layer, err := labimages.Layer(files)
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: labimages.Epoch}, CreatedBy: "tekton " + component + " " + Version + " (internal/tekton)"},
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
	cf.Created = v1.Time{Time: labimages.Epoch}
	cf.Config = v1.Config{
		Entrypoint: []string{"/" + binDir + "/" + component},
		User:       fmt.Sprintf("%d:%d", labimages.UID, labimages.GID),
		WorkingDir: "/",
		Env:        []string{"PATH=/" + binDir + ":/usr/local/bin:/usr/bin:/bin"},
		Labels: map[string]string{
			"org.opencontainers.image.title":   "tekton-" + component,
			"org.opencontainers.image.version": Version,
			"org.opencontainers.image.source":  "https://github.com/tektoncd/pipeline",
		},
	}
	return mutate.ConfigFile(img, cf)
}
