package harness

import (
	"context"
	"io"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/tekton"
)

// TektonShellImage is the controller's -shell-image: the image of the
// place-scripts init container that writes script steps to disk with
// `sh -c`. The step image has that sh, so the node holds one image less.
const TektonShellImage = tekton.StepImage

// TektonTimings are how long each part of InstallTekton took.
type TektonTimings = tekton.InstallTimings

// InstallTekton puts Tekton Pipelines onto a real-node cluster, as make
// run does (tekton.Install).
func InstallTekton(ctx context.Context, cluster *localcluster.Cluster, _ client.Client, progress io.Writer) (TektonTimings, error) {
	return tekton.Install(ctx, cluster, progress)
}
