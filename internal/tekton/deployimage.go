package tekton

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/handson-dev/rotation-operator/internal/labimages"
)

// DeployImage is the image of pipeline steps that deliver what a Go step
// built: crane (put a binary onto a base image, push it to the lab
// registry, print its digest) and kubectl (point the lab's Deployment at
// that digest), with the same sh and core commands as StepImage. It is an
// image of its own rather than more tools in StepImage: a deploy step
// needs no Go, StepImage's cached build stays as it is, and the userland
// layer is the same blob in both, stored once on the node: of its 66 MB
// (compressed) only the 31 MB tools layer is its own.
const DeployImage = labimages.Registry + "/cicd/deploy:v1"

// deployToolsDir is where DeployImage keeps crane and kubectl, ahead of
// /bin on PATH.
const deployToolsDir = "/usr/local/bin"

// DeployEnv is DeployImage's environment. DOCKER_CONFIG is where crane
// looks for config.json: a step mounts the lab-registry Secret there.
var DeployEnv = []string{
	"PATH=" + deployToolsDir + ":/bin",
	"HOME=" + stepHome,
	"DOCKER_CONFIG=" + stepHome + "/.docker",
}

const deployFormatVersion = "cicd-deploy-image/1"

// deployImage builds DeployImage from the userland dir, crane and kubectl,
// or loads it from cacheDir.
func deployImage(opts StepImageOptions) (labimages.Image, error) {
	if opts.Crane == "" || opts.Kubectl == "" {
		return labimages.Image{}, fmt.Errorf("image %s needs crane and kubectl (toolchain.Crane, toolchain.Kubectl): StepImageOptions.Crane %q, Kubectl %q", DeployImage, opts.Crane, opts.Kubectl)
	}
	key, err := deployImageKey(opts)
	if err != nil {
		return labimages.Image{}, fmt.Errorf("image %s: %w", DeployImage, err)
	}
	dir := filepath.Join(opts.CacheDir, "cicd-deploy-v1-"+key)
	img, err := labimages.LoadCached(dir)
	if errors.Is(err, labimages.ErrNotCached) {
		if err = buildDeployImage(opts, dir); err == nil {
			img, err = labimages.LoadCached(dir)
		}
	}
	if err != nil {
		return labimages.Image{}, fmt.Errorf("image %s: %w", DeployImage, err)
	}
	d, err := img.Digest()
	if err != nil {
		return labimages.Image{}, err
	}
	name, tag, _ := strings.Cut(strings.TrimPrefix(DeployImage, labimages.Registry+"/"), ":")
	return labimages.Image{Ref: DeployImage, Name: name, Tag: tag, Digest: d, Image: img}, nil
}

func deployImageKey(opts StepImageOptions) (string, error) {
	in := struct {
		Format, GOARCH string
		Env            []string
		Files          map[string]string
	}{Format: deployFormatVersion, GOARCH: runtime.GOARCH, Env: DeployEnv, Files: map[string]string{}}
	bins, err := os.ReadDir(opts.URoot)
	if err != nil {
		return "", fmt.Errorf("the step image's commands: %w", err)
	}
	for _, b := range bins {
		if err := hashFile(in.Files, "bin/"+b.Name(), filepath.Join(opts.URoot, b.Name())); err != nil {
			return "", err
		}
	}
	for name, p := range map[string]string{"crane": opts.Crane, "kubectl": opts.Kubectl} {
		if err := hashFile(in.Files, "tools/"+name, p); err != nil {
			return "", err
		}
	}
	j, err := json.Marshal(in)
	if err != nil {
		return "", err
	}
	return shortHash(j), nil
}

// buildDeployImage writes the userland layer (byte for byte StepImage's)
// and a tools layer, and stores the image in dir.
func buildDeployImage(opts StepImageOptions, dir string) error {
	work, err := os.MkdirTemp("", "cicd-deploy-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	userland, err := userlandEntries(opts.URoot)
	if err != nil {
		return err
	}
	home := strings.TrimPrefix(stepHome, "/") + "/"
	toolsDir := strings.TrimPrefix(deployToolsDir, "/")
	tools := append(parents(toolsDir+"/"), layerEntry{name: toolsDir + "/", mode: 0o755},
		layerEntry{name: toolsDir + "/crane", mode: 0o755, src: opts.Crane},
		layerEntry{name: toolsDir + "/kubectl", mode: 0o755, src: opts.Kubectl},
		// Where a step mounts the registry credentials; kubectl's cache.
		layerEntry{name: home + ".docker/", mode: 0o755, uid: labimages.UID, gid: labimages.GID},
		layerEntry{name: home + ".kube/", mode: 0o755, uid: labimages.UID, gid: labimages.GID},
	)
	return storeStepImage(work, dir, DeployImage, "cicd-deploy", DeployEnv, []stepLayer{
		{userland, "sh and u-root core commands in /bin, the nonroot user"},
		{tools, "crane and kubectl (static) in " + deployToolsDir},
	})
}
