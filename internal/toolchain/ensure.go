package toolchain

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Ensure returns the paths of the named tools (see AllTools and
// OptionalTools; none means AllTools), building any that are not cached yet.
// Cached tools cost a few file reads and stats. Build progress goes to
// progress (nil discards it).
//
// Safe to call from several processes at once: per-tool file locks make one
// of them build while the others wait and then reuse its result.
func Ensure(ctx context.Context, progress io.Writer, names ...string) (Paths, error) {
	if progress == nil {
		progress = io.Discard
	}
	if len(names) == 0 {
		names = AllTools
	}
	var p Paths
	root, err := CacheRoot()
	if err != nil {
		return p, err
	}
	repo, err := RepoRoot()
	if err != nil {
		return p, err
	}
	for _, name := range names {
		t, ok := tools[name]
		if !ok {
			return p, fmt.Errorf("unknown tool %q (known: %v)", name, knownTools())
		}
		dir, err := ensureOne(ctx, root, repo, t, progress)
		if err != nil {
			return p, err
		}
		if err := t.fill(&p, dir); err != nil {
			return p, err
		}
	}
	return p, nil
}

func ensureOne(ctx context.Context, root, repo string, t tool, progress io.Writer) (string, error) {
	wrapperDir := filepath.Join(repo, "hack", "tools", t.name)
	dir, version, err := toolDir(root, wrapperDir, t)
	if err != nil {
		return "", err
	}
	// Fast path without the lock: a dir only exists once fully built.
	if complete(dir, t) {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(ctx, dir+".lock", progress, t.name)
	if err != nil {
		return "", err
	}
	defer unlock()
	// Another process may have finished the build while we waited.
	if complete(dir, t) {
		return dir, nil
	}
	// A dir without its binaries was tampered with; rebuild from scratch.
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := build(ctx, t, version, wrapperDir, dir, progress); err != nil {
		return "", err
	}
	return dir, nil
}

// knownTools lists every name Ensure accepts.
func knownTools() []string {
	return append(append([]string(nil), AllTools...), OptionalTools...)
}
