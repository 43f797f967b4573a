package harness

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/labimages"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/tekton"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// TektonShellImage is the controller's -shell-image: the image of the
// place-scripts init container that writes script steps to disk with
// `sh -c`. The step image has that sh, so the node holds one image less.
const TektonShellImage = tekton.StepImage

// TektonTimings are how long each part of InstallTekton took: StepImage is
// building (or loading) the step image, StepImport importing it.
type TektonTimings struct {
	Tools, Images, StepImage, Import, StepImport, Apply, Ready time.Duration
}

// InstallTekton puts Tekton Pipelines onto a real-node cluster: it builds
// (or reuses) the tool, its images and the step images (tekton.StepImage,
// tekton.DeployImage),
// imports them into the node,
// applies the rendered release and waits until the controller and webhook
// Deployments are Available.
func InstallTekton(ctx context.Context, cluster *localcluster.Cluster, admin client.Client, progress io.Writer) (TektonTimings, error) {
	var tm TektonTimings
	start := time.Now()
	paths, err := toolchain.Ensure(ctx, progress, toolchain.Tekton, toolchain.URoot, toolchain.Crane, toolchain.Kubectl)
	if err != nil {
		return tm, err
	}
	tm.Tools = time.Since(start)

	start = time.Now()
	root, err := toolchain.CacheRoot()
	if err != nil {
		return tm, err
	}
	cacheDir := filepath.Join(root, "tekton-images")
	imgs, err := tekton.Images(paths.Tekton, cacheDir, "")
	if err != nil {
		return tm, err
	}
	dir, err := os.MkdirTemp("", "tekton-")
	if err != nil {
		return tm, err
	}
	defer os.RemoveAll(dir)
	archive := filepath.Join(dir, "tekton-images.tar")
	if err := labimages.WriteArchive(archive, imgs...); err != nil {
		return tm, err
	}
	tm.Images = time.Since(start)

	start = time.Now()
	steps, err := tekton.StepImages(ctx, tekton.StepImageOptions{URoot: paths.URoot, Crane: paths.Crane, Kubectl: paths.Kubectl, CacheDir: cacheDir, Progress: progress})
	if err != nil {
		return tm, err
	}
	stepArchive := filepath.Join(dir, "step-images.tar")
	if err := labimages.WriteArchive(stepArchive, steps...); err != nil {
		return tm, err
	}
	tm.StepImage = time.Since(start)

	start = time.Now()
	if err := cluster.ImportImages(archive); err != nil {
		return tm, err
	}
	tm.Import = time.Since(start)
	start = time.Now()
	if err := cluster.ImportImages(stepArchive); err != nil {
		return tm, err
	}
	tm.StepImport = time.Since(start)

	start = time.Now()
	objs, err := tekton.Render(paths.TektonRelease, TektonShellImage)
	if err != nil {
		return tm, err
	}
	release := filepath.Join(dir, "release.yaml")
	if err := tekton.WriteYAML(release, objs); err != nil {
		return tm, err
	}
	if err := cluster.Apply(ctx, 2*time.Minute, release); err != nil {
		return tm, err
	}
	tm.Apply = time.Since(start)

	start = time.Now()
	for _, name := range []string{"tekton-pipelines-controller", "tekton-pipelines-webhook"} {
		if err := waitAvailable(ctx, admin, tekton.Namespace, name, 3*time.Minute); err != nil {
			return tm, err
		}
	}
	tm.Ready = time.Since(start)
	return tm, nil
}

// waitAvailable waits until a Deployment has all its replicas available.
func waitAvailable(ctx context.Context, c client.Client, ns, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var d appsv1.Deployment
	for {
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &d)
		if err == nil && d.Status.ObservedGeneration >= d.Generation && d.Spec.Replicas != nil &&
			d.Status.AvailableReplicas >= *d.Spec.Replicas && *d.Spec.Replicas > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("deployment %s/%s not available after %s (status %+v): %w", ns, name, timeout, d.Status, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
