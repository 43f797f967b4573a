package embedded

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// clusterTools are what the embedded control plane runs, for node mode:
// the control plane and the node's own component.
func clusterTools(node localcluster.NodeMode) []string {
	names := []string{toolchain.Kubernetes, toolchain.Etcd}
	realNode := node == localcluster.NodeReal
	if node == localcluster.NodeAuto {
		realNode, _ = localcluster.RealNodeSupport()
	}
	if realNode {
		return append(names, toolchain.KubeRouter)
	}
	return append(names, toolchain.Kwok)
}

// ensureTools obtains (or finds cached) every tool of the embedded mode
// before the cluster starts, and prints one line per component with its
// time, then the total. The cluster's tools are required; the Terraform
// provider mirror and the learner's CLIs are not: without them the run
// goes on, saying what is missing. localcluster.Start ensures its own tools
// again, from the cache (when auto picks another node than guessed here,
// it builds that node's tool then).
func ensureTools(ctx context.Context, node localcluster.NodeMode, out io.Writer) (toolchain.Paths, toolchain.LearnerCLIs, error) {
	start := time.Now()
	fmt.Fprintln(out, "Tools (built from the Go module proxy on first use, then cached):")
	required := clusterTools(node)
	paths, r, err := toolchain.EnsureReport(ctx, out, append(required, toolchain.TerraformProviderKubernetes)...)
	if err != nil {
		for _, s := range r.Steps {
			if s.How == "failed" && slices.Contains(required, s.Name) {
				return paths, toolchain.LearnerCLIs{}, err
			}
		}
		fmt.Fprintln(out, "The Terraform provider mirror is missing:", err)
	}
	clis, steps, err := toolchain.EnsureLearnerCLIs(ctx, out)
	if err != nil {
		fmt.Fprintln(out, "Some of the learner's CLIs are missing (the next steps say which):", err)
	}
	toolchain.Report{Steps: append(r.Steps, steps...), Total: time.Since(start)}.Print(out)
	return paths, clis, ctx.Err()
}
