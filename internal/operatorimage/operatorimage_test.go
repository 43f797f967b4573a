package operatorimage

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/handson-dev/rotation-operator/internal/labimages"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// standIns are small static binaries standing for the manager, the lab
// registry, terraform and the provider (the lab pause program with a marker appended: still a
// valid ELF file), so the test builds no operator and needs no terraform.
var standIns struct {
	once                         sync.Once
	manager, registry, terraform string
	provider                     string
	mirror                       string
	err                          error
}

func binaries(t *testing.T) (manager, labRegistry, terraform, mirror string) {
	t.Helper()
	standIns.once.Do(func() {
		dir, err := os.MkdirTemp("", "operatorimage-test-")
		if err != nil {
			standIns.err = err
			return
		}
		root, err := toolchain.RepoRoot()
		if err != nil {
			standIns.err = err
			return
		}
		pause := filepath.Join(dir, "pause")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", pause, "./"+labimages.SourceDir+"/pause")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), labimages.BuildEnv(GOARCH)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			standIns.err = fmt.Errorf("go build: %w\n%s", err, out)
			return
		}
		b, err := os.ReadFile(pause)
		if err != nil {
			standIns.err = err
			return
		}
		standIns.mirror = filepath.Join(dir, "mirror")
		provider := filepath.Join(standIns.mirror, filepath.FromSlash(toolchain.TerraformProviderMirrorPath("linux", GOARCH)))
		for p, marker := range map[*string]string{&standIns.manager: filepath.Join(dir, "manager"), &standIns.registry: filepath.Join(dir, "lab-registry"), &standIns.terraform: filepath.Join(dir, "terraform"), &standIns.provider: provider} {
			*p = marker
			if err := os.MkdirAll(filepath.Dir(marker), 0o755); err != nil {
				standIns.err = err
				return
			}
			if err := os.WriteFile(marker, append(append([]byte(nil), b...), "\nstand-in "+filepath.Base(marker)...), 0o755); err != nil {
				standIns.err = err
				return
			}
		}
	})
	if standIns.err != nil {
		t.Fatal(standIns.err)
	}
	return standIns.manager, standIns.registry, standIns.terraform, standIns.mirror
}

func TestMain(m *testing.M) {
	code := m.Run()
	if standIns.mirror != "" {
		_ = os.RemoveAll(filepath.Dir(standIns.mirror))
	}
	os.Exit(code)
}

func build(t *testing.T, cache string, log io.Writer) v1.Image {
	t.Helper()
	manager, labRegistry, terraform, mirror := binaries(t)
	img, err := Build(context.Background(), Options{CacheDir: cache, Manager: manager, Registry: labRegistry, Terraform: terraform, ProviderMirror: mirror, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

type file struct {
	hdr  *tar.Header
	data []byte
}

// files reads every layer's tar, in order.
func files(t *testing.T, img v1.Image) (out [][]file) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		var fs []file
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			fs = append(fs, file{h, b})
		}
		rc.Close()
		out = append(out, fs)
	}
	return out
}

// TestImageLayout: the files, their modes and owners, layer by layer, the
// user and the entrypoint; the three programs are the ones given.
func TestImageLayout(t *testing.T) {
	img := build(t, t.TempDir(), nil)
	provider := "opt/terraform/mirror/registry.terraform.io/hashicorp/kubernetes/" + toolchain.TerraformProviderVersion + "/linux_" + GOARCH + "/terraform-provider-kubernetes_v" + toolchain.TerraformProviderVersion
	want := [][]string{{
		"etc/ dir 755 0:0",
		"etc/group file 644 0:0",
		"etc/passwd file 644 0:0",
		"home/ dir 755 0:0",
		"home/nonroot/ dir 700 65532:65532",
		"tmp/ dir 1777 0:0",
	}, {
		"usr/ dir 755 0:0",
		"usr/local/ dir 755 0:0",
		"usr/local/bin/ dir 755 0:0",
		"usr/local/bin/terraform file 755 0:0",
	}, {
		"opt/ dir 755 0:0",
		"opt/terraform/ dir 755 0:0",
		"opt/terraform/mirror/ dir 755 0:0",
		"opt/terraform/mirror/registry.terraform.io/ dir 755 0:0",
		"opt/terraform/mirror/registry.terraform.io/hashicorp/ dir 755 0:0",
		"opt/terraform/mirror/registry.terraform.io/hashicorp/kubernetes/ dir 755 0:0",
		"opt/terraform/mirror/registry.terraform.io/hashicorp/kubernetes/" + toolchain.TerraformProviderVersion + "/ dir 755 0:0",
		"opt/terraform/mirror/registry.terraform.io/hashicorp/kubernetes/" + toolchain.TerraformProviderVersion + "/linux_" + GOARCH + "/ dir 755 0:0",
		provider + " file 755 0:0",
	}, {
		"lab-registry file 755 0:0",
	}, {
		"manager file 755 0:0",
	}}
	got := files(t, img)
	var gotNames [][]string
	for _, layer := range got {
		var names []string
		for _, f := range layer {
			h := f.hdr
			kind := "file"
			if h.Typeflag == tar.TypeDir {
				kind = "dir"
			} else if h.Typeflag != tar.TypeReg {
				kind = fmt.Sprintf("type %c", h.Typeflag)
			}
			names = append(names, fmt.Sprintf("%s %s %o %d:%d", h.Name, kind, h.Mode, h.Uid, h.Gid))
			if !h.ModTime.Equal(labimages.Epoch) || h.Uname != "" || h.Gname != "" {
				t.Errorf("%s: time %s, owner names %q:%q; want the epoch and numeric owners only", h.Name, h.ModTime, h.Uname, h.Gname)
			}
			marker := map[string]string{"manager": "manager", "lab-registry": "lab-registry", "usr/local/bin/terraform": "terraform", provider: filepath.Base(provider)}[h.Name]
			if marker != "" && !bytes.HasSuffix(f.data, []byte("stand-in "+marker)) {
				t.Errorf("%s is not the %s given", h.Name, marker)
			}
			if h.Name == "etc/passwd" && !strings.Contains(string(f.data), "\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n") {
				t.Errorf("/etc/passwd:\n%s", f.data)
			}
		}
		gotNames = append(gotNames, names)
	}
	if fmt.Sprint(gotNames) != fmt.Sprint(want) {
		t.Errorf("layers:\n%s\nwant:\n%s", layersString(gotNames), layersString(want))
	}

	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if c := cf.Config; c.User != "65532:65532" || !slices.Equal(c.Entrypoint, []string{"/manager"}) || len(c.Cmd) != 0 || c.WorkingDir != "/" {
		t.Errorf("user %q entrypoint %q cmd %q workdir %q; want 65532:65532, [/manager], none, /", c.User, c.Entrypoint, c.Cmd, c.WorkingDir)
	}
	if cf.OS != "linux" || cf.Architecture != GOARCH || !cf.Created.Equal(labimages.Epoch) || len(cf.History) != 5 {
		t.Errorf("platform %s/%s, created %s, %d history entries", cf.OS, cf.Architecture, cf.Created, len(cf.History))
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != "application/vnd.oci.image.manifest.v1+json" || len(m.Layers) != 5 {
		t.Errorf("manifest %s with %d layers", m.MediaType, len(m.Layers))
	}
}

func layersString(l [][]string) string {
	var b strings.Builder
	for i, names := range l {
		fmt.Fprintf(&b, "layer %d:\n  %s\n", i, strings.Join(names, "\n  "))
	}
	return b.String()
}

// TestBuildIsCachedAndReproducible: a second Build is served from the
// cache; a Build into another cache makes the same digest.
func TestBuildIsCachedAndReproducible(t *testing.T) {
	cache := t.TempDir()
	var log bytes.Buffer
	d1, _ := build(t, cache, &log).Digest()
	log.Reset()
	d2, _ := build(t, cache, &log).Digest()
	if !strings.Contains(log.String(), "cached in") {
		t.Errorf("second Build was not served from the cache: %s", log.String())
	}
	d3, _ := build(t, t.TempDir(), nil).Digest()
	if d1 != d2 || d1 != d3 {
		t.Errorf("digests %s, %s (cached), %s (another cache)", d1, d2, d3)
	}
}

// TestRefusesDynamicBinaries: a dynamically linked terraform (the image
// has no libc) is refused, with why.
func TestRefusesDynamicBinaries(t *testing.T) {
	manager, labRegistry, _, mirror := binaries(t)
	dynamic := ""
	for _, p := range []string{"/bin/true", "/usr/bin/true", "/bin/ls"} {
		if b, err := os.ReadFile(p); err == nil && StaticLinuxExecutable(b, GOARCH) != nil && strings.Contains(StaticLinuxExecutable(b, GOARCH).Error(), "dynamically linked") {
			dynamic = p
			break
		}
	}
	if dynamic == "" {
		t.Skip("no dynamically linked executable on this machine")
	}
	_, err := Build(context.Background(), Options{CacheDir: t.TempDir(), Manager: manager, Registry: labRegistry, Terraform: dynamic, ProviderMirror: mirror})
	if err == nil || !strings.Contains(err.Error(), "terraform") || !strings.Contains(err.Error(), "dynamically linked") {
		t.Fatalf("Build with a dynamic terraform: %v", err)
	}
	if err := StaticLinuxExecutable([]byte("#!/bin/sh\n"), GOARCH); err == nil {
		t.Error("a shell script passed as a static executable")
	}
	_, err = Build(context.Background(), Options{CacheDir: t.TempDir(), Manager: manager, Registry: labRegistry, Terraform: manager, ProviderMirror: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "provider") {
		t.Errorf("Build without the provider in the mirror: %v", err)
	}
}
