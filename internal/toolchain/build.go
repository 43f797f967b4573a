package toolchain

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// progressEvery is how often a running build (or a wait for another
// process's build) reports that it is still alive.
const progressEvery = 20 * time.Second

// goEnv is the environment for go commands in a wrapper module: GOWORK=off so
// a go.work a developer may have above the repo cannot pull the wrapper into
// the main module's build list.
func goEnv() []string {
	return append(os.Environ(), "GOWORK=off")
}

// How a tool came to be in the cache, for the per-tool summary.
const (
	HowCached     = "cached"
	HowBuilt      = "built from source"
	HowDownloaded = "downloaded"
)

// releaseFor and releaseClient pick a tool's pinned release download;
// tests replace them to serve releases locally.
var (
	releaseFor    = pinnedRelease
	releaseClient = downloadClient
)

// build puts t into finalDir: the pinned official release when there is
// one and it downloads and verifies, else a compile from wrapperDir. It
// fills a fresh temp dir next to finalDir and renames it into place, so
// readers see either no dir or a complete one. The caller holds the tool's
// lock.
func build(ctx context.Context, t tool, version, wrapperDir, finalDir string, progress io.Writer) (how string, err error) {
	parent := filepath.Dir(finalDir)
	// Leftovers of builds that were killed: nobody else can be writing them
	// while we hold the lock.
	stale, _ := filepath.Glob(filepath.Join(parent, ".tmp-"+filepath.Base(finalDir)+"-*"))
	for _, s := range stale {
		_ = os.RemoveAll(s)
	}
	tmp, err := os.MkdirTemp(parent, ".tmp-"+filepath.Base(finalDir)+"-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // no-op after a successful rename

	what := strings.Join(t.binaries, ", ")
	start := time.Now()
	how = HowBuilt
	if files := releaseFor(t); files != nil {
		fmt.Fprintf(progress, "downloading %s %s (pinned sha256)...\n", what, version)
		if err := download(ctx, releaseClient, files, tmp, progress); err == nil && complete(tmp, t) {
			how = HowDownloaded
		} else {
			if err == nil {
				err = fmt.Errorf("the release lacks some of %s", what)
			}
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			fmt.Fprintf(progress, "download of %s failed after %s (%v): building from source instead\n", what, time.Since(start).Round(100*time.Millisecond), err)
			if err := emptyDir(tmp); err != nil {
				return "", err
			}
		}
	}
	if how == HowBuilt {
		if err := compile(ctx, t, version, wrapperDir, tmp, progress); err != nil {
			return "", err
		}
	}
	if t.postBuild != nil {
		if err := t.postBuild(ctx, wrapperDir, tmp); err != nil {
			return "", err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp makes it 0700
		return "", err
	}
	if err := os.Rename(tmp, finalDir); err != nil {
		return "", err
	}
	fmt.Fprintf(progress, "%s %s in %s -> %s\n", how, what, time.Since(start).Round(time.Second), finalDir)
	return how, nil
}

// compile runs go build of t's packages from wrapperDir into outDir,
// reporting progress while it runs.
func compile(ctx context.Context, t tool, version, wrapperDir, outDir string, progress io.Writer) error {
	cmd := exec.CommandContext(ctx, "go", buildArgs(t, version, outDir)...)
	cmd.Dir = wrapperDir
	cmd.Env = append(goEnv(), t.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out

	what := strings.Join(t.binaries, ", ")
	fmt.Fprintf(progress, "building %s (first run only, %s)...\n", what, t.coldEstimate)
	stop := tick(progress, what, t.coldEstimate, time.Now())
	err := cmd.Run()
	stop()
	if err != nil {
		return fmt.Errorf("go build %s in %s: %w\n%s", strings.Join(t.packages, " "), wrapperDir, err, tail(out.String(), 4000))
	}
	if !complete(outDir, t) {
		return fmt.Errorf("go build in %s did not produce %s", wrapperDir, what)
	}
	return nil
}

// emptyDir removes what a failed download left in dir.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// buildArgs are the arguments of `go build` for t, writing into outDir.
func buildArgs(t tool, version, outDir string) []string {
	// -buildvcs=false: the wrapper lives inside the repo's git tree, and VCS
	// stamping would fail without git and is irrelevant for these tools.
	args := append([]string{"build", "-buildvcs=false"}, t.flags...)
	if t.ldflags != nil {
		args = append(args, "-ldflags="+t.ldflags(version))
	}
	// The trailing slash makes -o a directory, as needed for several packages.
	args = append(args, "-o", outDir+string(os.PathSeparator))
	return append(args, t.packages...)
}

// tick prints an "... elapsed" line every progressEvery until stopped, so a
// 10-minute cold build does not look hung.
func tick(progress io.Writer, what, estimate string, start time.Time) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(progress, "building %s (first run only, %s)... %s elapsed\n", what, estimate, time.Since(start).Round(time.Second))
			}
		}
	}()
	return func() { close(done); <-finished }
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
