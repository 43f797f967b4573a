package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// goBuild is one binary of the main module to build: make run builds the
// operator this way instead of a silent `go run`.
type goBuild struct{ out, pkg string }

type goBuilds []goBuild

func (b *goBuilds) String() string { return fmt.Sprint(*b) }

func (b *goBuilds) Set(v string) error {
	out, pkg, ok := strings.Cut(v, "=")
	if !ok || out == "" || pkg == "" {
		return errors.New("want out=./pkg")
	}
	*b = append(*b, goBuild{out: out, pkg: pkg})
	return nil
}

// progressEvery is how often a running build says it is still going.
const progressEvery = 15 * time.Second

// run builds b with `go build -v`, which names each package it compiles
// (none when the Go cache is warm), so a cold build reports how far it got.
func (b goBuild) run(ctx context.Context, progress io.Writer) (toolchain.Step, error) {
	name := filepath.Base(b.out)
	start := time.Now()
	fmt.Fprintf(progress, "go build -o %s %s (about 3 min on a fresh machine, seconds after)\n", b.out, b.pkg)
	cmd := exec.CommandContext(ctx, "go", "build", "-v", "-o", b.out, b.pkg)
	cmd.Stdout = os.Stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return toolchain.Step{}, err
	}
	if err := cmd.Start(); err != nil {
		return toolchain.Step{}, err
	}
	var compiled atomic.Int64
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if line := sc.Text(); isPackageLine(line) {
				compiled.Add(1)
			} else {
				fmt.Fprintln(progress, line) // errors, "go: downloading ..."
			}
		}
	}()
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
wait:
	for {
		select {
		case <-scanned:
			break wait
		case <-tick.C:
			fmt.Fprintf(progress, "  building %s: %d packages compiled, %s elapsed\n", name, compiled.Load(), time.Since(start).Round(time.Second))
		}
	}
	if err := cmd.Wait(); err != nil {
		return toolchain.Step{}, fmt.Errorf("go build %s: %w", b.pkg, err)
	}
	n := compiled.Load()
	how := fmt.Sprintf("built (%d packages compiled)", n)
	if n == 0 {
		how = "relinked, no package recompiled"
	}
	return toolchain.Step{Name: name, How: how, Took: time.Since(start)}, nil
}

// isPackageLine tells a `go build -v` package name from other output
// (compile errors have spaces or colons; "go: downloading ..." too).
func isPackageLine(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t:")
}
