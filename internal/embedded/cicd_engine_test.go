package embedded

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/tekton"
)

// lockedBuffer is the terminal, written from the install's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) lines() []string { return strings.Split(strings.TrimSpace(l.String()), "\n") }

// On kwok's fake node nothing is installed (no step could run), and one
// line says why.
func TestCICDEngineSkippedOnTheFakeNode(t *testing.T) {
	var out lockedBuffer
	called := false
	stop := startCICDEngine(context.Background(), localcluster.NodeFake, filepath.Join(t.TempDir(), "log"),
		func(context.Context, io.Writer) (tekton.InstallTimings, error) {
			called = true
			return tekton.InstallTimings{}, nil
		}, &out)
	stop()
	if called {
		t.Error("installed on the fake node")
	}
	if l := out.lines(); len(l) != 1 || !strings.Contains(l[0], "kwok") || !strings.Contains(l[0], "CICDEngineNotInstalled") {
		t.Errorf("output %q, want one line saying why", out.String())
	}
}

// On the real node the install runs in the background: startCICDEngine
// returns while it builds, its progress goes to the log, and one line says
// when the engine is served.
func TestCICDEngineInstalledInTheBackground(t *testing.T) {
	var out lockedBuffer
	logPath := filepath.Join(t.TempDir(), "tekton-install.log")
	release := make(chan struct{})
	stop := startCICDEngine(context.Background(), localcluster.NodeReal, logPath,
		func(_ context.Context, progress io.Writer) (tekton.InstallTimings, error) {
			fmt.Fprintln(progress, "building controller, webhook...")
			<-release
			return tekton.InstallTimings{Tools: 9 * time.Minute, Ready: 20 * time.Second}, nil
		}, &out)
	if l := out.lines(); len(l) != 1 || !strings.Contains(l[0], "in the background") || !strings.Contains(l[0], logPath) {
		t.Fatalf("while it builds: %q, want one line saying it installs in the background, with the log", out.String())
	}
	close(release)
	deadline := time.Now().Add(10 * time.Second)
	for len(out.lines()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	l := out.lines()
	if len(l) != 2 || !strings.Contains(l[1], "Tekton Pipelines "+tekton.Version+" is served") || !strings.Contains(l[1], "build 9m0s") {
		t.Errorf("output %q, want a second line saying it is served, with its build time", out.String())
	}
	if b, err := os.ReadFile(logPath); err != nil || !strings.Contains(string(b), "building controller") {
		t.Errorf("log %q (%v), want the build's progress", b, err)
	}
}

// Stopping while the install runs cancels it and waits for it to end, so
// the cluster stops only after; no line claims it served or failed.
func TestCICDEngineStopWaitsForTheInstall(t *testing.T) {
	var out lockedBuffer
	var ended atomic.Bool
	stop := startCICDEngine(context.Background(), localcluster.NodeReal, filepath.Join(t.TempDir(), "log"),
		func(ctx context.Context, _ io.Writer) (tekton.InstallTimings, error) {
			<-ctx.Done()
			time.Sleep(50 * time.Millisecond) // a build being killed
			ended.Store(true)
			return tekton.InstallTimings{}, ctx.Err()
		}, &out)
	stop()
	if !ended.Load() {
		t.Error("stop returned before the install ended")
	}
	if l := out.lines(); len(l) != 1 {
		t.Errorf("output %q, want only the first line", out.String())
	}
}

// A failed install says why, and that cicd rotations keep reporting it.
func TestCICDEngineFailureSaysWhy(t *testing.T) {
	var out lockedBuffer
	stop := startCICDEngine(context.Background(), localcluster.NodeReal, filepath.Join(t.TempDir(), "log"),
		func(context.Context, io.Writer) (tekton.InstallTimings, error) {
			return tekton.InstallTimings{}, errors.New("go build: no space left on device")
		}, &out)
	deadline := time.Now().Add(10 * time.Second)
	for len(out.lines()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if l := out.lines(); len(l) != 2 || !strings.Contains(l[1], "no space left on device") || !strings.Contains(l[1], "CICDEngineNotInstalled") {
		t.Errorf("output %q, want a line with the error", out.String())
	}
}
