package toolchain

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// keyFiles are hashed into a tool's cache key. The *.go files of the wrapper
// (etcd's main.go) are added too, since they change what gets built.
var keyFiles = []string{"go.mod", "go.sum"}

// cacheKey returns the first 12 hex digits of a sha256 over the given files,
// each framed by its name and length so that moving bytes between files
// changes the key.
func cacheKey(files map[string][]byte) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(files[n]))
		h.Write(files[n])
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// requiredVersion finds the version of module required in a go.mod, or ""
// when it is not there. A line scan suffices for the go.mod files we write
// and avoids a golang.org/x/mod dependency.
func requiredVersion(goMod []byte, module string) string {
	sc := bufio.NewScanner(bytes.NewReader(goMod))
	for sc.Scan() {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
		if len(f) >= 2 && f[0] == module && strings.HasPrefix(f[1], "v") {
			return f[1]
		}
	}
	return ""
}

// dirName is the cache directory name of a tool: readable version first,
// then the key that actually distinguishes builds.
func dirName(name, version, key string) string {
	if version == "" {
		return name + "-" + key
	}
	return name + "-" + version + "-" + key
}

// readKeyFiles reads what cacheKey hashes from a wrapper module dir.
func readKeyFiles(wrapperDir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, n := range keyFiles {
		b, err := os.ReadFile(filepath.Join(wrapperDir, n))
		if err != nil {
			return nil, err
		}
		files[n] = b
	}
	goFiles, err := filepath.Glob(filepath.Join(wrapperDir, "*.go"))
	if err != nil {
		return nil, err
	}
	for _, f := range goFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		files[filepath.Base(f)] = b
	}
	return files, nil
}

// toolDir returns the cache dir a tool's current wrapper module maps to, and
// the version of its versionModule.
func toolDir(cacheRoot, wrapperDir string, t tool) (dir, version string, err error) {
	files, err := readKeyFiles(wrapperDir)
	if err != nil {
		return "", "", fmt.Errorf("reading wrapper module of %s: %w", t.name, err)
	}
	version = requiredVersion(files["go.mod"], t.versionModule)
	// The go build arguments are part of the key too, so changing how a tool
	// is built (packages, ldflags) or which files postBuild copies also
	// makes a fresh dir.
	files["\x00build-args"] = []byte(strings.Join(append(append(buildArgs(t, version, "OUT"), t.copied...), t.env...), "\x00"))
	return filepath.Join(cacheRoot, "tools", dirName(t.name, version, cacheKey(files))), version, nil
}

// complete reports whether dir holds every binary of t. Dirs only appear by
// an atomic rename after a successful build, so this is a sanity check
// against hand-edited caches rather than a guard against half-written ones.
func complete(dir string, t tool) bool {
	for _, b := range t.binaries {
		fi, err := os.Stat(filepath.Join(dir, b))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}
