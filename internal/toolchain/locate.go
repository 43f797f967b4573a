package toolchain

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ModulePath is the main module; RepoRoot looks for its go.mod.
const ModulePath = "github.com/handson-dev/rotation-operator"

// CacheRoot is $ROTATION_CACHE_DIR, else os.UserCacheDir()/rotation-operator.
func CacheRoot() (string, error) {
	if d := os.Getenv("ROTATION_CACHE_DIR"); d != "" {
		return filepath.Abs(d)
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache dir (set ROTATION_CACHE_DIR): %w", err)
	}
	return filepath.Join(d, "rotation-operator"), nil
}

// RepoRoot is $ROTATION_REPO_ROOT, else the nearest directory at or above the
// working directory whose go.mod declares ModulePath. Walking past nested
// go.mod files matters: hack/tools/* are modules of their own.
func RepoRoot() (string, error) {
	if d := os.Getenv("ROTATION_REPO_ROOT"); d != "" {
		return filepath.Abs(d)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && modulePath(b) == ModulePath {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", errors.New("repository root not found above " + wd + " (set ROTATION_REPO_ROOT)")
		}
	}
}

// modulePath returns the path of the module directive in a go.mod.
func modulePath(goMod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(goMod))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}
