package tekton

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/labimages"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// InstallTimings are how long each part of Install took: StepImage is
// building (or loading) the step image, StepImport importing it.
type InstallTimings struct {
	Tools, Images, StepImage, Import, StepImport, Apply, Ready time.Duration
}

// Install puts Tekton Pipelines onto a real-node cluster, offline: it
// builds (or reuses) the tool, its images and the step image (StepImage,
// also the controller's shell image), imports them into the node, applies
// the rendered release and waits until the controller and webhook
// Deployments are Available. The tool's build on an empty cache (about
// ten minutes on 2 cores) reports to progress.
func Install(ctx context.Context, cluster *localcluster.Cluster, progress io.Writer) (InstallTimings, error) {
	var tm InstallTimings
	start := time.Now()
	paths, err := toolchain.Ensure(ctx, progress, toolchain.Tekton, toolchain.URoot)
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
	imgs, err := Images(paths.Tekton, cacheDir, "")
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
	steps, err := StepImages(ctx, StepImageOptions{URoot: paths.URoot, CacheDir: cacheDir, Progress: progress})
	if err != nil {
		return tm, err
	}
	stepArchive := filepath.Join(dir, "step-images.tar")
	if err := labimages.WriteArchive(stepArchive, steps...); err != nil {
		return tm, err
	}
	tm.StepImage = time.Since(start)

	if err := ctx.Err(); err != nil {
		return tm, err
	}
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
	objs, err := Render(paths.TektonRelease, StepImage)
	if err != nil {
		return tm, err
	}
	release := filepath.Join(dir, "release.yaml")
	if err := WriteYAML(release, objs); err != nil {
		return tm, err
	}
	if err := cluster.Apply(ctx, 2*time.Minute, release); err != nil {
		return tm, err
	}
	tm.Apply = time.Since(start)

	start = time.Now()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return tm, err
	}
	c, err := client.New(cluster.Config, client.Options{Scheme: scheme})
	if err != nil {
		return tm, err
	}
	for _, name := range []string{"tekton-pipelines-controller", "tekton-pipelines-webhook"} {
		if err := waitAvailable(ctx, c, Namespace, name, 3*time.Minute); err != nil {
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
