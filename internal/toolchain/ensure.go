package toolchain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"
)

// Ensure returns the paths of the named tools (see AllTools and
// OptionalTools; none means AllTools), building any that are not cached yet.
// Cached tools cost a few file reads and stats. Build progress goes to
// progress (nil discards it).
//
// Safe to call from several processes at once: per-tool file locks make one
// of them build while the others wait and then reuse its result.
func Ensure(ctx context.Context, progress io.Writer, names ...string) (Paths, error) {
	p, _, err := EnsureReport(ctx, progress, names...)
	return p, err
}

// EnsureReport is Ensure, also reporting how each tool was obtained and
// how long it took. Up to ParallelBuilds missing tools are obtained at once.
// On error, the paths of the tools that were obtained are still filled in.
func EnsureReport(ctx context.Context, progress io.Writer, names ...string) (Paths, Report, error) {
	start := time.Now()
	var p Paths
	if progress == nil {
		progress = io.Discard
	}
	progress = &lineWriter{w: progress}
	if len(names) == 0 {
		names = AllTools
	}
	root, err := CacheRoot()
	if err != nil {
		return p, Report{}, err
	}
	repo, err := RepoRoot()
	if err != nil {
		return p, Report{}, err
	}
	for _, name := range names {
		if _, ok := tools[name]; !ok {
			return p, Report{}, fmt.Errorf("unknown tool %q (known: %v)", name, knownTools())
		}
	}
	steps := make([]Step, len(names))
	dirs := make([]string, len(names))
	errs := make([]error, len(names))
	// No shared cancellation: one tool failing does not throw away the
	// others' builds (they are cached for the next run), and callers can
	// go on without an optional tool.
	var g errgroup.Group
	g.SetLimit(ParallelBuilds)
	for i, name := range names {
		g.Go(func() error {
			begin := time.Now()
			dirs[i], steps[i].How, errs[i] = ensureOne(ctx, root, repo, tools[name], progress)
			steps[i].Name, steps[i].Took = name, time.Since(begin)
			if errs[i] != nil {
				steps[i].How = "failed"
			}
			return nil
		})
	}
	_ = g.Wait()
	for i, name := range names {
		if errs[i] == nil {
			errs[i] = tools[name].fill(&p, dirs[i])
		}
	}
	return p, Report{Steps: steps, Total: time.Since(start)}, errors.Join(errs...)
}

func ensureOne(ctx context.Context, root, repo string, t tool, progress io.Writer) (dir, how string, err error) {
	wrapperDir := filepath.Join(repo, "hack", "tools", t.name)
	dir, version, err := toolDir(root, wrapperDir, t)
	if err != nil {
		return "", "", err
	}
	// Fast path without the lock: a dir only exists once fully built.
	if complete(dir, t) {
		return dir, HowCached, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", "", err
	}
	unlock, err := lockFile(ctx, dir+".lock", progress, t.name)
	if err != nil {
		return "", "", err
	}
	defer unlock()
	// Another process may have finished the build while we waited.
	if complete(dir, t) {
		return dir, HowCached + " (by another process)", nil
	}
	// A dir without its binaries was tampered with; rebuild from scratch.
	if err := os.RemoveAll(dir); err != nil {
		return "", "", err
	}
	how, err = build(ctx, t, version, wrapperDir, dir, progress)
	if err != nil {
		return "", "", err
	}
	return dir, how, nil
}

// knownTools lists every name Ensure accepts.
func knownTools() []string {
	return append(append([]string(nil), AllTools...), OptionalTools...)
}
