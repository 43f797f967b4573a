package labimages

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestRefs(t *testing.T) {
	if got, want := Refs(), []string{Pause, Web10, Web11}; !slices.Equal(got, want) {
		t.Errorf("Refs() = %v, want %v", got, want)
	}
	var got []string
	for _, im := range images(t) {
		got = append(got, im.Ref)
		if want := Registry + "/" + im.Name + ":" + im.Tag; im.Ref != want {
			t.Errorf("%s: name %s tag %s", im.Ref, im.Name, im.Tag)
		}
	}
	if !slices.Equal(got, Refs()) {
		t.Errorf("Build returned %v, want %v", got, Refs())
	}
	t.Logf("cold build: %s\n%s", buildElapsed.Round(time.Millisecond), buildLog.String())
}

// TestBuildBuildsFromSource: the first Build in an empty cache ran go build
// once per image name, and produced valid images.
func TestBuildBuildsFromSource(t *testing.T) {
	images(t)
	log := buildLog.String()
	for _, name := range []string{"pause", "web"} {
		if n := strings.Count(log, "go build ./labs/images/"+name+" "); n != 1 {
			t.Errorf("go build of %s ran %d times, want once:\n%s", name, n, log)
		}
	}
	for _, im := range images(t) {
		consistent(t, im)
		if d, err := im.Image.Digest(); err != nil || d != im.Digest {
			t.Errorf("%s: Digest %s (%v), Image.Digest %s", im.Ref, d, err, im.Digest)
		}
		mt, err := im.Image.MediaType()
		if err != nil || mt != types.OCIManifestSchema1 {
			t.Errorf("%s: media type %s (%v), want OCI", im.Ref, mt, err)
		}
	}
}

// consistent checks that every digest and size of im matches its content:
// what a registry or containerd verifies when the image arrives.
func consistent(t *testing.T, im Image) {
	t.Helper()
	sum := func(r io.Reader) (v1.Hash, int64) {
		h, n, err := v1.SHA256(r)
		if err != nil {
			t.Fatal(err)
		}
		return h, n
	}
	raw, err := im.Image.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := sum(bytes.NewReader(raw)); h != im.Digest {
		t.Errorf("%s: manifest hashes to %s, digest %s", im.Ref, h, im.Digest)
	}
	m, _ := im.Image.Manifest()
	rawConfig, _ := im.Image.RawConfigFile()
	if h, n := sum(bytes.NewReader(rawConfig)); h != m.Config.Digest || n != m.Config.Size {
		t.Errorf("%s: config is %s (%d bytes), the manifest says %s (%d)", im.Ref, h, n, m.Config.Digest, m.Config.Size)
	}
	cf, _ := im.Image.ConfigFile()
	layers, _ := im.Image.Layers()
	if len(layers) != len(m.Layers) || len(layers) != len(cf.RootFS.DiffIDs) {
		t.Fatalf("%s: %d layers, %d in the manifest, %d diff IDs", im.Ref, len(layers), len(m.Layers), len(cf.RootFS.DiffIDs))
	}
	for i, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		h, n := sum(rc)
		rc.Close()
		if h != m.Layers[i].Digest || n != m.Layers[i].Size || m.Layers[i].MediaType != types.OCILayer {
			t.Errorf("%s: layer %d is %s (%d bytes), the manifest says %+v", im.Ref, i, h, n, m.Layers[i])
		}
		rc, err = l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		h, _ = sum(rc)
		rc.Close()
		if h != cf.RootFS.DiffIDs[i] {
			t.Errorf("%s: layer %d uncompressed is %s, diff ID %s", im.Ref, i, h, cf.RootFS.DiffIDs[i])
		}
	}
}

// TestBuildFromCache: a second Build is served from the cache: the same
// digests, no go build, milliseconds.
func TestBuildFromCache(t *testing.T) {
	first := images(t)
	var log bytes.Buffer
	start := time.Now()
	second, err := Build(context.Background(), Options{CacheDir: cacheDir, Log: &log})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log.String(), "go build") {
		t.Errorf("a warm Build ran go build:\n%s", log.String())
	}
	for i := range first {
		if first[i].Ref != second[i].Ref || first[i].Digest != second[i].Digest {
			t.Errorf("cold %s %s, warm %s %s", first[i].Ref, first[i].Digest, second[i].Ref, second[i].Digest)
		}
	}
	// `go env GOVERSION` dominates; a rebuild would take seconds.
	if elapsed > 2*time.Second {
		t.Errorf("warm Build took %s", elapsed)
	}
	t.Logf("warm Build: %s (cold: %s)", elapsed.Round(time.Millisecond), buildElapsed.Round(time.Millisecond))
}

// TestBuildRepairsABrokenCacheEntry: a cache entry missing a blob is built
// again rather than served.
func TestBuildRepairsABrokenCacheEntry(t *testing.T) {
	images(t)
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(cacheDir)); err != nil {
		t.Fatal(err)
	}
	web := image(t, Web10)
	layers, _ := web.Image.Layers()
	ld, _ := layers[0].Digest()
	entries, _ := filepath.Glob(filepath.Join(dir, "web-1.0-*"))
	if len(entries) != 1 {
		t.Fatalf("cache entries of web 1.0: %v", entries)
	}
	if err := os.Remove(filepath.Join(entries[0], "blobs", "sha256", ld.Hex)); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	again, err := Build(context.Background(), Options{CacheDir: dir, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "rotation.local/web:1.0: rebuilding a broken cache entry") {
		t.Errorf("log:\n%s", log.String())
	}
	if again[1].Digest != web.Digest {
		t.Errorf("rebuilt web 1.0 is %s, was %s", again[1].Digest, web.Digest)
	}
}

// TestAssembleIsReproducible: the same binary makes the same image, byte
// for byte, whenever it is assembled.
func TestAssembleIsReproducible(t *testing.T) {
	bin := []byte("not really a program")
	var digests []v1.Hash
	for range 2 {
		img, err := assemble(specs[1], bin, "amd64")
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
		time.Sleep(10 * time.Millisecond)
	}
	if digests[0] != digests[1] {
		t.Errorf("two assemblies: %v", digests)
	}
}

// TestImageConfig: how the runtime starts each image.
func TestImageConfig(t *testing.T) {
	for _, im := range images(t) {
		t.Run(im.Name+"-"+im.Tag, func(t *testing.T) {
			cf, err := im.Image.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			c := cf.Config
			if c.User != "65532:65532" {
				t.Errorf("user %q, want 65532:65532 (numeric, for runAsNonRoot)", c.User)
			}
			if want := []string{"/" + im.Name}; !slices.Equal(c.Entrypoint, want) || len(c.Cmd) != 0 {
				t.Errorf("entrypoint %q cmd %q, want %q", c.Entrypoint, c.Cmd, want)
			}
			if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
				t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
			}
			if !cf.Created.Equal(Epoch) || len(cf.History) != 1 || !cf.History[0].Created.Equal(Epoch) {
				t.Errorf("created %s, history %+v: want the epoch, for reproducible digests", cf.Created, cf.History)
			}
			if !slices.Contains(c.Env, "PATH=/") {
				t.Errorf("env %q has no PATH=/", c.Env)
			}
			for k, want := range map[string]string{
				"org.opencontainers.image.title":   im.Name,
				"org.opencontainers.image.version": im.Tag,
				"org.opencontainers.image.source":  SourceURL,
			} {
				if c.Labels[k] != want {
					t.Errorf("label %s = %q, want %q", k, c.Labels[k], want)
				}
			}
			var wantEnv []string
			var wantPorts map[string]struct{}
			switch im.Ref {
			case Web10:
				wantEnv = []string{"PATH=/", "PORT=8080", "GREETING=Hello from web 1.0"}
				wantPorts = map[string]struct{}{"8080/tcp": {}}
			case Web11:
				wantEnv = []string{"PATH=/", "PORT=8080", "GREETING=Hello from web 1.1"}
				wantPorts = map[string]struct{}{"8080/tcp": {}}
			case Pause:
				wantEnv = []string{"PATH=/"}
			}
			if !slices.Equal(c.Env, wantEnv) {
				t.Errorf("env %q, want %q", c.Env, wantEnv)
			}
			if !reflect.DeepEqual(c.ExposedPorts, wantPorts) {
				t.Errorf("exposed ports %v, want %v", c.ExposedPorts, wantPorts)
			}
		})
	}
	// web 1.0 and 1.1 differ by their config only.
	l10, _ := image(t, Web10).Image.Layers()
	l11, _ := image(t, Web11).Image.Layers()
	d10, _ := l10[0].Digest()
	d11, _ := l11[0].Digest()
	if d10 != d11 || image(t, Web10).Digest == image(t, Web11).Digest {
		t.Errorf("web 1.0 and 1.1: layers %s and %s, manifests %s and %s; want one layer, two images", d10, d11, image(t, Web10).Digest, image(t, Web11).Digest)
	}
}

// TestImageFiles: an image holds its static binary, the users, a home and
// /tmp, and nothing from the machine that built it.
func TestImageFiles(t *testing.T) {
	for _, im := range images(t) {
		t.Run(im.Name+"-"+im.Tag, func(t *testing.T) {
			var got []string
			for _, f := range files(t, im.Image) {
				h := f.hdr
				got = append(got, fmt.Sprintf("%s %c %o %d:%d", h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid))
				if !h.ModTime.Equal(Epoch) || h.Uname != "" || h.Gname != "" {
					t.Errorf("%s: time %s, owner names %q:%q; want the epoch and numeric owners only", h.Name, h.ModTime, h.Uname, h.Gname)
				}
				switch h.Name {
				case "etc/passwd":
					if !strings.Contains(string(f.data), "\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n") {
						t.Errorf("/etc/passwd:\n%s", f.data)
					}
				case "etc/group":
					if !strings.Contains(string(f.data), "\nnonroot:x:65532:\n") {
						t.Errorf("/etc/group:\n%s", f.data)
					}
				case im.Name:
					staticLinuxBinary(t, f.data)
				}
			}
			want := []string{
				"etc/ 5 755 0:0",
				"etc/group 0 644 0:0",
				"etc/passwd 0 644 0:0",
				"home/ 5 755 0:0",
				"home/nonroot/ 5 700 65532:65532",
				"tmp/ 5 1777 0:0",
				im.Name + " 0 755 65532:65532",
			}
			if !slices.Equal(got, want) {
				t.Errorf("files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// staticLinuxBinary fails unless b is a Linux ELF executable for GOARCH with
// no dynamic loader (CGO_ENABLED=0) and no symbol table (-s).
func staticLinuxBinary(t *testing.T, b []byte) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not an ELF binary: %v", err)
	}
	machine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[runtime.GOARCH]
	if f.Type != elf.ET_EXEC || (machine != 0 && f.Machine != machine) {
		t.Errorf("ELF type %s machine %s", f.Type, f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("dynamically linked (%s)", p.Type)
		}
	}
	if f.Section(".symtab") != nil {
		t.Error("has a symbol table; built without -ldflags=-s")
	}
}

func TestCacheKey(t *testing.T) {
	in := keyInputs{Format: formatVersion, Spec: specs[1], GoVersion: "go1.26.8", GOARCH: "amd64"}
	src := map[string][]byte{"main.go": []byte("package main")}
	base, err := cacheKey(in, src)
	if err != nil || len(base) != 16 {
		t.Fatalf("key %q, %v", base, err)
	}
	changed := map[string]func() (keyInputs, map[string][]byte){
		"go version": func() (keyInputs, map[string][]byte) { c := in; c.GoVersion = "go1.27"; return c, src },
		"arch":       func() (keyInputs, map[string][]byte) { c := in; c.GOARCH = "arm64"; return c, src },
		"tag":        func() (keyInputs, map[string][]byte) { c := in; c.Spec.Tag = "1.1"; return c, src },
		"source": func() (keyInputs, map[string][]byte) {
			return in, map[string][]byte{"main.go": []byte("package main ")}
		},
		"file name": func() (keyInputs, map[string][]byte) { return in, map[string][]byte{"x.go": []byte("package main")} },
		"bytes moved between files": func() (keyInputs, map[string][]byte) {
			return in, map[string][]byte{"main.go": []byte("package"), "main.go ": []byte(" main")}
		},
	}
	for what, f := range changed {
		k, err := cacheKey(f())
		if err != nil || k == base {
			t.Errorf("%s: key %s unchanged (%v)", what, k, err)
		}
	}
	if again, _ := cacheKey(in, src); again != base {
		t.Errorf("the same inputs give %s and %s", base, again)
	}
}

func TestStdlibOnly(t *testing.T) {
	if err := stdlibOnly("a.go", []byte("package main\nimport (\"fmt\"\n\"net/http\")\n")); err != nil {
		t.Error(err)
	}
	err := stdlibOnly("a.go", []byte("package main\nimport \"github.com/x/y\"\n"))
	if err == nil || !strings.Contains(err.Error(), "standard library only") {
		t.Errorf("a module import: %v", err)
	}
}

func TestGoDirectives(t *testing.T) {
	got := goDirectives([]byte("module m\n\ngo 1.26.8\n\ntoolchain go1.26.9\n\nrequire (\n\tgo.x v1\n)\n"))
	if got != "go 1.26.8\ntoolchain go1.26.9" {
		t.Errorf("%q", got)
	}
}

// TestOptionsDefaults: the cache is toolchain's cache root (which honours
// ROTATION_CACHE_DIR), the sources are the repository's.
func TestOptionsDefaults(t *testing.T) {
	root := t.TempDir()
	t.Setenv("ROTATION_CACHE_DIR", root)
	o, err := Options{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.CacheDir != filepath.Join(root, "labimages") {
		t.Errorf("cache dir %s, want %s/labimages", o.CacheDir, root)
	}
	if _, err := os.Stat(filepath.Join(o.RepoRoot, SourceDir, "web", "main.go")); err != nil {
		t.Errorf("repo root %s: %v", o.RepoRoot, err)
	}
	if o.GOARCH != runtime.GOARCH || o.Go != "go" || o.Log == nil {
		t.Errorf("defaults %+v", o)
	}
}
