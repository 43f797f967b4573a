package embedded

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// tools are what the embedded mode runs, for node mode: the control plane,
// the node's own component, and the Terraform track's provider mirror.
func tools(node localcluster.NodeMode) []string {
	names := []string{toolchain.Kubernetes, toolchain.Etcd}
	real := node == localcluster.NodeReal
	if node == localcluster.NodeAuto {
		real, _ = localcluster.RealNodeSupport()
	}
	if real {
		names = append(names, toolchain.KubeRouter)
	} else {
		names = append(names, toolchain.Kwok)
	}
	return append(names, toolchain.TerraformProviderKubernetes)
}

// ensureTools obtains (or finds cached) every tool of the embedded mode
// and the learner's CLIs before the cluster starts, printing one line per
// component with its time and the total. localcluster.Start ensures its
// own tools again, from the cache (when auto picks another node than
// guessed here, it builds that node's tool then).
func ensureTools(ctx context.Context, node localcluster.NodeMode, out io.Writer) (toolchain.Paths, toolchain.LearnerCLIs, error) {
	start := time.Now()
	fmt.Fprintln(out, "Tools (built from the Go module proxy on first use, then cached):")
	paths, r, err := toolchain.EnsureReport(ctx, out, tools(node)...)
	if err != nil {
		return paths, toolchain.LearnerCLIs{}, err
	}
	clis, steps, err := toolchain.EnsureLearnerCLIs(ctx, out)
	if err != nil {
		return paths, clis, err
	}
	toolchain.Report{Steps: append(r.Steps, steps...), Total: time.Since(start)}.Print(out)
	return paths, clis, nil
}
