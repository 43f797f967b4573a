package embedded

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/tekton"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// installEngine installs the CI/CD engine into the cluster, reporting its
// build to progress (tekton.Install, replaced in tests).
type installEngine func(ctx context.Context, progress io.Writer) (tekton.InstallTimings, error)

// startCICDEngine installs Tekton Pipelines in the background once the
// operator runs, so a cold build (about ten minutes) delays nothing else:
// cicd rotations say CICDEngineNotInstalled until it is served, then
// follow at once (the operator's probe). The build's progress goes to
// logPath, not the terminal; one line says when it is served or why not.
// Without a real node it installs nothing (pipeline steps are pods that
// must run) and says so. stop cancels an install under way and waits for
// it to end, so the cluster is stopped only after.
func startCICDEngine(ctx context.Context, node localcluster.NodeMode, logPath string, install installEngine, out io.Writer) (stop func()) {
	if node != localcluster.NodeReal {
		fmt.Fprintf(out, "CI/CD engine: Tekton Pipelines is not installed: its pipeline steps are pods that must run, and this cluster's node is kwok's fake one; cicd rotations say CICDEngineNotInstalled.\n")
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	fmt.Fprintf(out, "CI/CD engine: installing Tekton Pipelines %s in the background (the first run builds it, about 10 min; progress in %s); cicd rotations say CICDEngineNotInstalled until it is served.\n", tekton.Version, logPath)
	go func() {
		defer close(done)
		start := time.Now()
		log, err := os.Create(logPath)
		if err != nil {
			fmt.Fprintf(out, "CI/CD engine: not installed: %v\n", err)
			return
		}
		defer log.Close()
		tm, err := install(ctx, log)
		switch {
		case err == nil:
			fmt.Fprintf(out, "CI/CD engine: Tekton Pipelines %s is served, %s after start (build %s, images %s, import %s, controller and webhook available %s): cicd exercises run pipelines now.\n",
				tekton.Version, toolchain.Round(time.Since(start)), toolchain.Round(tm.Tools), toolchain.Round(tm.Images+tm.StepImage),
				toolchain.Round(tm.Import+tm.StepImport), toolchain.Round(tm.Apply+tm.Ready))
		case ctx.Err() != nil:
			// Stopping: the teardown's own lines say so.
		default:
			fmt.Fprintf(log, "failed: %v\n", err)
			fmt.Fprintf(out, "CI/CD engine: Tekton Pipelines could not be installed, cicd rotations keep saying CICDEngineNotInstalled: %v (log: %s)\n", err, logPath)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
