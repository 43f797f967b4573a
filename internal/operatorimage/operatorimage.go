// Package operatorimage builds the operator's container image without a
// Docker engine, with go build and go-containerregistry, from the same
// sources the Dockerfile uses and laid out as the Dockerfile lays it out:
//
//	/manager                 go build CGO_ENABLED=0 -trimpath -ldflags="-s -w" ./cmd/rotation-operator
//	/lab-registry            the same go build of ./cmd/lab-registry: the labs' registry
//	                         in a cluster (config/registry), so it needs no image of its own
//	/usr/local/bin/terraform the terraform CLI (Options.Terraform: a static binary)
//	/opt/terraform/mirror/   the kubernetes provider as a filesystem mirror
//	                         (toolchain.TerraformProviderKubernetes, built static)
//	/etc/passwd, /etc/group  root and nonroot (65532), as distroless :nonroot has them
//	/home/nonroot, /tmp      (1777)
//
// run as 65532:65532 with entrypoint ["/manager"]. The runner Jobs of
// Terraform grading (internal/grading/facts/terraform.JobExecutor) run
// this image as `/manager runner terraform ...`.
//
// Unlike distroless, the image has no CA bundle, no tzdata and no
// os-release: nothing from the build machine but the four programs.
//
// Build caches the image as an OCI layout under
//
//	<cache root>/operatorimage/<key>/
//
// where key hashes the four binaries and how the image is put together,
// so a warm Build costs an up-to-date go build check and hashing the
// binaries (about two seconds), and the same binaries make the same
// digest.
package operatorimage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/handson-dev/rotation-operator/internal/labimages"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// Paths in the image, as the Dockerfile's final stage puts them and the
// runner Job (terraform.JobFor) expects them.
const (
	ManagerPath   = "/manager"
	RegistryPath  = "/lab-registry"
	TerraformPath = "/usr/local/bin/terraform"
	MirrorPath    = "/opt/terraform/mirror"
)

// User is the image's user: distroless's nonroot, numeric so that the
// kubelet can verify runAsNonRoot.
var User = fmt.Sprintf("%d:%d", labimages.UID, labimages.GID)

// Package is what the manager is built from, relative to the repository.
const Package = "./cmd/rotation-operator"

// RegistryPackage is what /lab-registry is built from.
const RegistryPackage = "./cmd/lab-registry"

// formatVersion is part of every cache key: bump it when the image is put
// together differently in a way the other inputs of the key do not show.
const formatVersion = "operatorimage/2"

// BuildArgs are the arguments of go build for the manager, writing out:
// the Dockerfile's (CGO_ENABLED=0 is in the environment, BuildEnv), and
// no VCS stamp, which the Dockerfile's build has none of either (no .git
// in its context) and which would change the binary with every commit.
func BuildArgs(out string) []string { return BuildArgsFor(out, Package) }

// BuildArgsFor are BuildArgs for another package of the image.
func BuildArgsFor(out, pkg string) []string {
	return []string{"build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, pkg}
}

// BuildEnv is the environment of the manager's go build for linux/goarch:
// static, with nothing from the developer's environment (go.work,
// GOFLAGS) that would change the binary.
func BuildEnv(goarch string) []string { return labimages.BuildEnv(goarch) }

// Options of Build. The zero value builds for this machine's architecture
// from the repository around the working directory, with the terraform on
// PATH, into the user's cache.
type Options struct {
	// RepoRoot is the repository to build the manager from
	// (toolchain.RepoRoot).
	RepoRoot string
	// CacheDir holds the built manager and images
	// (toolchain.CacheRoot()/operatorimage).
	CacheDir string
	// Go is the go command (go, from PATH).
	Go string
	// Manager and Registry are linux/GOARCH binaries of the manager and
	// of cmd/lab-registry to use instead of building them (tests); both or
	// neither.
	Manager, Registry string
	// Terraform is the terraform CLI to put into the image; it must be a
	// static linux/GOARCH binary (the image has no libc). Default: terraform
	// on PATH.
	Terraform string
	// ProviderMirror is a filesystem mirror holding the kubernetes provider
	// for linux/GOARCH at toolchain.TerraformProviderMirrorPath; only that
	// file is copied. Default: toolchain.Ensure's (built on first use).
	ProviderMirror string
	// Log gets a line per step (nothing when nil).
	Log io.Writer
}

// GOARCH is the image's architecture: this machine's, since terraform and
// the provider come from this machine.
var GOARCH = runtime.GOARCH

func (o Options) withDefaults(ctx context.Context) (Options, error) {
	var err error
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Go == "" {
		o.Go = "go"
	}
	if o.CacheDir == "" {
		root, err := toolchain.CacheRoot()
		if err != nil {
			return o, err
		}
		o.CacheDir = filepath.Join(root, "operatorimage")
	}
	if o.Manager == "" && o.RepoRoot == "" {
		if o.RepoRoot, err = toolchain.RepoRoot(); err != nil {
			return o, err
		}
	}
	if o.Terraform == "" {
		if o.Terraform, err = exec.LookPath("terraform"); err != nil {
			return o, fmt.Errorf("operator image: no terraform on PATH for %s (set Options.Terraform): %w", TerraformPath, err)
		}
	}
	if o.ProviderMirror == "" {
		p, err := toolchain.Ensure(ctx, o.Log, toolchain.TerraformProviderKubernetes)
		if err != nil {
			return o, err
		}
		o.ProviderMirror = p.TerraformProviderMirror
	}
	return o, nil
}

// Build returns the operator image, assembled from its binaries or served
// from the cache. It refuses a terraform or provider binary that is not a
// static linux/GOARCH executable: it would not start in the image.
func Build(ctx context.Context, opts Options) (v1.Image, error) {
	o, err := opts.withDefaults(ctx)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return nil, err
	}
	// One Build at a time per cache: go build into the shared manager path
	// and the cache entries.
	unlock, err := toolchain.LockFile(ctx, filepath.Join(o.CacheDir, ".lock"), o.Log, "the operator image")
	if err != nil {
		return nil, err
	}
	defer unlock()

	managerPath, registryPath := o.Manager, o.Registry
	if managerPath == "" {
		if managerPath, err = buildProgram(ctx, o, Package, "manager"); err != nil {
			return nil, err
		}
	}
	if registryPath == "" {
		if registryPath, err = buildProgram(ctx, o, RegistryPackage, "lab-registry"); err != nil {
			return nil, err
		}
	}
	providerRel := toolchain.TerraformProviderMirrorPath("linux", GOARCH)
	inputs := []struct{ what, path string }{
		{"the manager", managerPath},
		{"the lab registry", registryPath},
		{"terraform", o.Terraform},
		{"the terraform kubernetes provider", filepath.Join(o.ProviderMirror, filepath.FromSlash(providerRel))},
	}
	bins := make([][]byte, len(inputs))
	for i, in := range inputs {
		b, err := os.ReadFile(in.path)
		if err != nil {
			return nil, fmt.Errorf("operator image: %s: %w", in.what, err)
		}
		if err := StaticLinuxExecutable(b, GOARCH); err != nil {
			return nil, fmt.Errorf("operator image: %s (%s): %w", in.what, in.path, err)
		}
		bins[i] = b
	}
	files := Layers(bins[0], bins[1], bins[2], bins[3])
	key, err := cacheKey(files)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(o.CacheDir, "image-"+GOARCH+"-"+key)
	img, err := labimages.LoadCached(dir)
	switch {
	case err == nil:
		fmt.Fprintf(o.Log, "operator image: cached in %s\n", dir)
		return img, nil
	case errors.Is(err, labimages.ErrNotCached):
	default:
		fmt.Fprintf(o.Log, "operator image: rebuilding a broken cache entry: %v\n", err)
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	built, err := assemble(files)
	if err != nil {
		return nil, fmt.Errorf("operator image: %w", err)
	}
	if err := labimages.StoreCached(dir, "rotation-operator", built); err != nil {
		return nil, fmt.Errorf("operator image: caching in %s: %w", dir, err)
	}
	if img, err = labimages.LoadCached(dir); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "operator image: assembled in %s, cached in %s\n", time.Since(start).Round(100*time.Millisecond), dir)
	return img, nil
}

// buildProgram runs go build for pkg into a fixed path of the cache, where
// go finds it up to date next time and does not link again.
func buildProgram(ctx context.Context, o Options, pkg, name string) (string, error) {
	out := filepath.Join(o.CacheDir, name+"-linux-"+GOARCH)
	start := time.Now()
	fmt.Fprintf(o.Log, "go build %s for linux/%s\n", pkg, GOARCH)
	cmd := exec.CommandContext(ctx, o.Go, BuildArgsFor(out, pkg)...)
	cmd.Dir = o.RepoRoot
	cmd.Env = append(os.Environ(), BuildEnv(GOARCH)...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("operator image: go %s: %w\n%s", strings.Join(BuildArgsFor(out, pkg), " "), err, stderr.String())
	}
	fmt.Fprintf(o.Log, "go build %s: %s\n", pkg, time.Since(start).Round(100*time.Millisecond))
	return out, nil
}

// Layers are the image's layers, each a list of files: the base (users,
// home, /tmp), terraform, the provider mirror, the lab registry and the
// manager, which changes most often and so comes last (a node keeps the
// layers before).
func Layers(manager, labRegistry, terraform, provider []byte) [][]labimages.File {
	dirs := func(p string) []labimages.File { // p's parents, outermost first
		var out []labimages.File
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			out = append([]labimages.File{{Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755}}, out...)
		}
		return out
	}
	file := func(p string, data []byte) labimages.File {
		return labimages.File{Name: strings.TrimPrefix(p, "/"), Mode: 0o755, Data: data}
	}
	providerPath := MirrorPath + "/" + toolchain.TerraformProviderMirrorPath("linux", GOARCH)
	return [][]labimages.File{
		labimages.BaseFiles(),
		append(dirs(TerraformPath), file(TerraformPath, terraform)),
		append(dirs(providerPath), file(providerPath, provider)),
		{file(RegistryPath, labRegistry)},
		{file(ManagerPath, manager)},
	}
}

// layerHistory says where each layer of Layers comes from.
var layerHistory = []string{
	"users, /home/nonroot and /tmp (internal/operatorimage)",
	"COPY terraform " + TerraformPath,
	"COPY the kubernetes provider mirror " + MirrorPath,
	"go build " + RegistryPackage + " -> " + RegistryPath,
	"go build " + Package + " -> " + ManagerPath,
}

// Config is how the runtime starts the image.
func Config() v1.Config {
	return v1.Config{
		Entrypoint: []string{ManagerPath},
		User:       User,
		WorkingDir: "/",
		Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Labels: map[string]string{
			"org.opencontainers.image.title":       "rotation-operator",
			"org.opencontainers.image.description": "The rotation operator, with terraform and the kubernetes provider mirror for its Terraform runner Jobs.",
			"org.opencontainers.image.source":      labimages.SourceURL,
		},
	}
}

// assemble makes the image: one gzip layer per entry of layers, OCI media
// types, Epoch times, Config.
func assemble(layers [][]labimages.File) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for i, files := range layers {
		// The binaries are large: compress each layer once, for its
		// digest and for the cache alike.
		l, err := labimages.Layer(files, tarball.WithCompressedCaching)
		if err != nil {
			return nil, err
		}
		if img, err = mutate.Append(img, mutate.Addendum{
			Layer:   l,
			History: v1.History{Created: v1.Time{Time: labimages.Epoch}, CreatedBy: layerHistory[i]},
		}); err != nil {
			return nil, err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", GOARCH
	cf.Created = v1.Time{Time: labimages.Epoch}
	cf.Config = Config()
	return mutate.ConfigFile(img, cf)
}

// cacheKey is 16 hex digits of a sha256 over how the image is put together
// (format, config, history, file names, modes and owners) and the
// contents of its files.
func cacheKey(layers [][]labimages.File) (string, error) {
	type entry struct {
		Name     string
		Mode     int64
		UID, GID int
		Size     int
		SHA256   string
	}
	var listing [][]entry
	for _, files := range layers {
		var l []entry
		for _, f := range files {
			sum := sha256.Sum256(f.Data)
			l = append(l, entry{f.Name, f.Mode, f.UID, f.GID, len(f.Data), hex.EncodeToString(sum[:])})
		}
		listing = append(listing, l)
	}
	j, err := json.Marshal(struct {
		Format  string
		GOARCH  string
		Config  v1.Config
		History []string
		Layers  [][]entry
	}{formatVersion, GOARCH, Config(), layerHistory, listing})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(j)
	return hex.EncodeToString(sum[:])[:16], nil
}

// StaticLinuxExecutable fails unless b is a Linux ELF executable for
// goarch that needs no dynamic loader: the image has no libc and no
// ld-linux, so anything else fails to start there ("no such file or
// directory" for the loader).
func StaticLinuxExecutable(b []byte, goarch string) error {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("not an ELF executable: %w", err)
	}
	defer f.Close()
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "arm": elf.EM_ARM, "386": elf.EM_386, "ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390, "riscv64": elf.EM_RISCV}
	if want, ok := machines[goarch]; !ok || f.Machine != want {
		return fmt.Errorf("built for %s, not linux/%s", f.Machine, goarch)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("not an executable (%s)", f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			interp, _ := io.ReadAll(p.Open())
			return fmt.Errorf("dynamically linked (needs %s), and the image has no libc: use a static build (CGO_ENABLED=0)", strings.TrimRight(string(interp), "\x00"))
		}
	}
	return nil
}

// WriteArchive writes img as ref into an archive for
// `ctr -n k8s.io images import` (and docker load), with
// labimages.WriteArchive; more images (the lab images) may go with it.
func WriteArchive(path, ref string, img v1.Image, more ...labimages.Image) error {
	im, err := AsLabImage(ref, img)
	if err != nil {
		return err
	}
	return labimages.WriteArchive(path, append([]labimages.Image{im}, more...)...)
}

// AsLabImage describes img under ref as labimages' archive and publish
// functions take images.
func AsLabImage(ref string, img v1.Image) (labimages.Image, error) {
	r, err := name.NewTag(ref)
	if err != nil {
		return labimages.Image{}, fmt.Errorf("operator image reference %q: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return labimages.Image{}, err
	}
	return labimages.Image{Ref: ref, Name: r.RepositoryStr(), Tag: r.TagStr(), Digest: d, Image: img}, nil
}
