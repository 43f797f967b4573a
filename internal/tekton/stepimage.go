package tekton

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/handson-dev/rotation-operator/internal/labimages"
)

// StepImage is the image learners' pipeline steps run: a POSIX sh with
// core commands in /bin, the Go toolchain in /usr/local/go and a build
// cache already holding the standard library the lab's Go app imports.
// It is also the controller's -shell-image (place-scripts runs `sh -c`).
// Exercises name it in their YAML.
const StepImage = labimages.Registry + "/cicd/go:v1"

// StepGoroot is where the image holds Go: the host's GOROOT path too, so
// that the cache warmed by the host's go matches what the image's go looks
// up (compiled packages record their source paths).
const StepGoroot = "/usr/local/go"

// The nonroot user's home and Go build cache in the image.
const (
	stepHome    = "/home/nonroot"
	StepGOCACHE = stepHome + "/.cache/go-build"
)

// StepEnv is the step image's environment: offline (no proxy, no toolchain
// download), static builds (no C compiler in the image), no VCS stamping
// (a workspace copy has no .git).
var StepEnv = []string{
	"PATH=" + StepGoroot + "/bin:/bin",
	"HOME=" + stepHome,
	"GOCACHE=" + StepGOCACHE,
	"CGO_ENABLED=0",
	"GOTOOLCHAIN=local",
	"GOPROXY=off",
	"GOFLAGS=-buildvcs=false",
}

// stepFormatVersion is part of the step image's cache key: bump it when
// the way the image is put together changes.
const stepFormatVersion = "cicd-step-image/1"

// StepImageOptions says what the step image is made of.
type StepImageOptions struct {
	// URoot is the dir of sh and the core commands (toolchain.Paths.URoot);
	// each of its files goes to /bin under its name.
	URoot string
	// GOROOT is the Go toolchain to copy to StepGoroot; "" means the one
	// the go command on PATH reports.
	GOROOT string
	// Crane and Kubectl are static binaries for DeployImage
	// (toolchain.Crane, toolchain.Kubectl).
	Crane, Kubectl string
	// CacheDir keeps built images, by the hash of their inputs.
	CacheDir string
	// Progress gets a line when the image is built rather than cached.
	Progress io.Writer
}

// StepImages returns the images pipeline steps need, built on this machine
// (the toolchain's binaries are this machine's: linux/runtime.GOARCH) or
// served from opts.CacheDir: StepImage and DeployImage.
func StepImages(ctx context.Context, opts StepImageOptions) ([]labimages.Image, error) {
	if runtime.GOOS != "linux" {
		return nil, fmt.Errorf("the step image copies this machine's Go toolchain, which must be linux, not %s", runtime.GOOS)
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if opts.GOROOT == "" {
		out, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
		if err != nil {
			return nil, fmt.Errorf("go env GOROOT: %w", err)
		}
		opts.GOROOT = strings.TrimSpace(string(out))
	}
	key, err := stepImageKey(opts.URoot, opts.GOROOT)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", StepImage, err)
	}
	dir := filepath.Join(opts.CacheDir, "cicd-go-v1-"+key)
	img, err := labimages.LoadCached(dir)
	if errors.Is(err, labimages.ErrNotCached) {
		start := time.Now()
		fmt.Fprintf(opts.Progress, "building %s (Go toolchain and a warm build cache, first run only, ~1-2 min)...\n", StepImage)
		if err = buildStepImage(ctx, opts, dir); err == nil {
			img, err = labimages.LoadCached(dir)
		}
		fmt.Fprintf(opts.Progress, "built %s in %s\n", StepImage, time.Since(start).Round(time.Second))
	}
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", StepImage, err)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	name, tag, _ := strings.Cut(strings.TrimPrefix(StepImage, labimages.Registry+"/"), ":")
	deploy, err := deployImage(opts)
	if err != nil {
		return nil, err
	}
	return []labimages.Image{{Ref: StepImage, Name: name, Tag: tag, Digest: d, Image: img}, deploy}, nil
}

// stepImageKey hashes what the image is made of: the userland's binaries,
// the Go release (its VERSION file, go and compile binaries: a release's
// other files follow from these), the path it came from (the warm cache
// records it), the environment and the warm-up package.
func stepImageKey(uroot, goroot string) (string, error) {
	in := struct {
		Format, GOARCH, GOROOT string
		Env                    []string
		Files                  map[string]string
		Warmup                 map[string]string
	}{Format: stepFormatVersion, GOARCH: runtime.GOARCH, GOROOT: goroot, Env: StepEnv, Files: map[string]string{}, Warmup: warmupFiles}
	bins, err := os.ReadDir(uroot)
	if err != nil {
		return "", fmt.Errorf("the step image's commands: %w", err)
	}
	files := []string{"VERSION", "bin/go", "pkg/tool/linux_" + runtime.GOARCH + "/compile"}
	for _, f := range files {
		if err := hashFile(in.Files, "goroot/"+f, filepath.Join(goroot, f)); err != nil {
			return "", fmt.Errorf("GOROOT %s: %w", goroot, err)
		}
	}
	for _, b := range bins {
		if err := hashFile(in.Files, "bin/"+b.Name(), filepath.Join(uroot, b.Name())); err != nil {
			return "", err
		}
	}
	j, err := json.Marshal(in)
	if err != nil {
		return "", err
	}
	return shortHash(j), nil
}

// shortHash names a cache entry by its inputs.
func shortHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16]
}

func hashFile(into map[string]string, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	into[name] = hex.EncodeToString(h.Sum(nil))
	return nil
}

// buildStepImage warms a build cache, writes the three layers (userland,
// Go, cache: the big Go layer is shared by every later cache change) and
// stores the image in dir.
func buildStepImage(ctx context.Context, opts StepImageOptions, dir string) error {
	work, err := os.MkdirTemp("", "cicd-step-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	gocache := filepath.Join(work, "go-build")
	if err := warm(ctx, opts.GOROOT, gocache, filepath.Join(work, "warmup")); err != nil {
		return err
	}
	if opts.GOROOT != StepGoroot {
		fmt.Fprintf(opts.Progress, "warning: GOROOT is %s, not %s: the image's build cache will not match its toolchain's paths and stays cold\n", opts.GOROOT, StepGoroot)
	}
	userland, err := userlandEntries(opts.URoot)
	if err != nil {
		return err
	}
	goroot, err := gorootEntries(opts.GOROOT)
	if err != nil {
		return err
	}
	cache, err := cacheEntries(gocache)
	if err != nil {
		return err
	}
	return storeStepImage(work, dir, StepImage, "cicd-go", StepEnv, []stepLayer{
		{userland, "sh and u-root core commands in /bin, the nonroot user"},
		{goroot, "Go toolchain (GOROOT " + opts.GOROOT + ") in " + StepGoroot},
		{cache, "Go build cache warmed with go build, go test and go vet"},
	})
}
