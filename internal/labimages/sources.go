package labimages

import (
	"bufio"
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// readSources returns the files of an image's source folder by path
// relative to it. It refuses imports outside the standard library: the
// cache key covers the folder and the go directive of go.mod, not go.sum,
// and a static image binary should not need more.
func readSources(repoRoot, name string) (map[string][]byte, error) {
	dir := filepath.Join(repoRoot, filepath.FromSlash(SourceDir), name)
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p) //nolint:gosec // G122: the repository's own labs/images sources
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		if strings.HasSuffix(p, ".go") {
			return stdlibOnly(p, b)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sources of image %s: %w", name, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("sources of image %s: %s is empty", name, dir)
	}
	return files, nil
}

// stdlibOnly fails if a Go file imports a package outside the standard
// library (whose first path element has a dot, as module paths do).
func stdlibOnly(path string, src []byte) error {
	f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.ImportsOnly)
	if err != nil {
		return err
	}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if first, _, _ := strings.Cut(p, "/"); strings.Contains(first, ".") {
			return fmt.Errorf("%s imports %s: lab image sources use the standard library only", path, p)
		}
	}
	return nil
}

// goDirectives returns the go and toolchain lines of a go.mod: the part of
// it that changes how the standard-library-only sources compile.
func goDirectives(goMod []byte) string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(goMod))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && (f[0] == "go" || f[0] == "toolchain") {
			out = append(out, f[0]+" "+f[1])
		}
	}
	return strings.Join(out, "\n")
}
