package labimages

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// Options of Build. The zero value builds for the machine's architecture
// from the repository around the working directory, into the user's cache.
type Options struct {
	// RepoRoot is the repository holding SourceDir (toolchain.RepoRoot).
	RepoRoot string
	// CacheDir holds the built images (toolchain.CacheRoot()/labimages).
	CacheDir string
	// GOARCH of the images (runtime.GOARCH); the OS is always linux.
	GOARCH string
	// Go is the go command (go, from PATH).
	Go string
	// Log gets one line per image, and per go build (nothing when nil).
	Log io.Writer
}

func (o Options) withDefaults() (Options, error) {
	var err error
	if o.RepoRoot == "" {
		if o.RepoRoot, err = toolchain.RepoRoot(); err != nil {
			return o, err
		}
	}
	if o.CacheDir == "" {
		root, err := toolchain.CacheRoot()
		if err != nil {
			return o, err
		}
		o.CacheDir = filepath.Join(root, "labimages")
	}
	if o.GOARCH == "" {
		o.GOARCH = runtime.GOARCH
	}
	if o.Go == "" {
		o.Go = "go"
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o, nil
}

// buildArgs are the arguments of go build for an image's binary: static
// (CGO_ENABLED=0 in BuildEnv), reproducible (-trimpath, no VCS stamp,
// which would change with every commit) and small (-s -w).
func buildArgs(name, out string) []string {
	return []string{"build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, "./" + SourceDir + "/" + name}
}

// BuildEnv is the environment of a static go build for linux/goarch: it
// pins what would otherwise come from the developer's environment
// and change the binary: a go.work, GOFLAGS, the CPU feature level.
func BuildEnv(goarch string) []string {
	return []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + goarch, "GOWORK=off", "GOFLAGS=", "GOEXPERIMENT=", "GOAMD64=v1", "GOARM64=v8.0"}
}

// Build returns every lab image (in the order of Refs), built from its
// sources or served from the cache. A cold Build runs go build once per
// image name (web:1.0 and web:1.1 share the binary).
func Build(ctx context.Context, opts Options) ([]Image, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	goMod, err := os.ReadFile(filepath.Join(o.RepoRoot, "go.mod"))
	if err != nil {
		return nil, err
	}
	goVersion, err := goEnv(ctx, o, "GOVERSION")
	if err != nil {
		return nil, err
	}

	var (
		out      []Image
		binaries = map[string][]byte{} // by image name, built once per Build
		tmp      string
	)
	defer func() {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
	}()
	for _, s := range specs {
		sources, err := readSources(o.RepoRoot, s.Name)
		if err != nil {
			return nil, err
		}
		key, err := cacheKey(keyInputs{
			Format:       formatVersion,
			Spec:         s,
			Config:       imageConfig(s),
			Rootfs:       rootfsListing(s.Name),
			GoVersion:    goVersion,
			GoDirectives: goDirectives(goMod),
			GOARCH:       o.GOARCH,
			BuildArgs:    buildArgs(s.Name, "OUT"),
			BuildEnv:     BuildEnv(o.GOARCH),
		}, sources)
		if err != nil {
			return nil, err
		}
		dir := filepath.Join(o.CacheDir, s.Name+"-"+s.Tag+"-"+key)

		img, err := LoadCached(dir)
		switch {
		case err == nil:
			fmt.Fprintf(o.Log, "%s: cached in %s\n", s.ref(), dir)
		case errors.Is(err, ErrNotCached):
		default:
			fmt.Fprintf(o.Log, "%s: rebuilding a broken cache entry: %v\n", s.ref(), err)
			if err := os.RemoveAll(dir); err != nil {
				return nil, err
			}
		}
		if img == nil {
			bin, ok := binaries[s.Name]
			if !ok {
				if tmp == "" {
					if tmp, err = os.MkdirTemp("", "labimages-"); err != nil {
						return nil, err
					}
				}
				if bin, err = goBuild(ctx, o, s.Name, tmp); err != nil {
					return nil, err
				}
				binaries[s.Name] = bin
			}
			built, err := assemble(s, bin, o.GOARCH)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.ref(), err)
			}
			if err := StoreCached(dir, s.ref(), built); err != nil {
				return nil, fmt.Errorf("%s: caching in %s: %w", s.ref(), dir, err)
			}
			// Served from the cache like a warm Build, so both return the
			// same thing.
			if img, err = LoadCached(dir); err != nil {
				return nil, err
			}
		}
		digest, err := img.Digest()
		if err != nil {
			return nil, err
		}
		if img == nil || digest.Hex == "" {
			return nil, fmt.Errorf("%s: no image", s.ref())
		}
		out = append(out, Image{Ref: s.ref(), Name: s.Name, Tag: s.Tag, Digest: digest, Image: img})
	}
	return out, nil
}

// goBuild compiles the binary of image name for linux/GOARCH into dir and
// returns it.
func goBuild(ctx context.Context, o Options, name, dir string) ([]byte, error) {
	bin := filepath.Join(dir, name)
	start := time.Now()
	fmt.Fprintf(o.Log, "go build ./%s/%s for linux/%s\n", SourceDir, name, o.GOARCH)
	if _, err := goCommand(ctx, o, buildArgs(name, bin)...); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "built %s (%d KiB) in %s\n", name, len(b)>>10, time.Since(start).Round(100*time.Millisecond))
	return b, nil
}

// goEnv is `go env NAME` in the build's environment.
func goEnv(ctx context.Context, o Options, name string) (string, error) {
	out, err := goCommand(ctx, o, "env", name)
	return strings.TrimSpace(out), err
}

// goCommand runs the go command in the repository with the build's
// environment, and returns its stdout.
func goCommand(ctx context.Context, o Options, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, o.Go, args...)
	cmd.Dir = o.RepoRoot
	cmd.Env = append(os.Environ(), BuildEnv(o.GOARCH)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", o.Go, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}
