package tekton

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/jsontree"
	"github.com/handson-dev/rotation-operator/internal/labimages"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// InstallTimings are how long each part of Install took: StepImage is
// building (or loading) the step image, StepImport importing it.
type InstallTimings struct {
	Tools, Images, StepImage, Import, StepImport, Apply, Ready time.Duration
}

// Bundle is what an offline install of Tekton Pipelines needs: its
// component images, the step images (StepImage, which learners' steps and
// the controller's shell image name) and the rendered release.
type Bundle struct {
	Images, StepImages []labimages.Image
	Release            []*unstructured.Unstructured
}

// Build builds (or reuses from the cache) the tool, its images and the
// step images, and renders the release. The tool's build on an empty
// cache (about ten minutes on 2 cores) reports to progress.
func Build(ctx context.Context, progress io.Writer) (Bundle, InstallTimings, error) {
	var b Bundle
	var tm InstallTimings
	start := time.Now()
	paths, err := toolchain.Ensure(ctx, progress, toolchain.Tekton, toolchain.URoot, toolchain.Crane, toolchain.Kubectl)
	if err != nil {
		return b, tm, err
	}
	tm.Tools = time.Since(start)

	start = time.Now()
	root, err := toolchain.CacheRoot()
	if err != nil {
		return b, tm, err
	}
	cacheDir := filepath.Join(root, "tekton-images")
	if b.Images, err = Images(paths.Tekton, cacheDir, ""); err != nil {
		return b, tm, err
	}
	tm.Images = time.Since(start)

	start = time.Now()
	if b.StepImages, err = StepImages(ctx, StepImageOptions{URoot: paths.URoot, Crane: paths.Crane, Kubectl: paths.Kubectl, CacheDir: cacheDir, Progress: progress}); err != nil {
		return b, tm, err
	}
	tm.StepImage = time.Since(start)
	b.Release, err = Render(paths.TektonRelease, StepImage)
	return b, tm, err
}

// Install puts Tekton Pipelines onto a real-node cluster, offline: Build,
// then the images imported into the node, the release applied, and a wait
// until the controller and webhook Deployments are Available.
func Install(ctx context.Context, cluster *localcluster.Cluster, progress io.Writer) (InstallTimings, error) {
	b, tm, err := Build(ctx, progress)
	if err != nil {
		return tm, err
	}
	dir, err := os.MkdirTemp("", "tekton-")
	if err != nil {
		return tm, err
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	archive := filepath.Join(dir, "tekton-images.tar")
	if err := labimages.WriteArchive(archive, b.Images...); err != nil {
		return tm, err
	}
	stepArchive := filepath.Join(dir, "step-images.tar")
	if err := labimages.WriteArchive(stepArchive, b.StepImages...); err != nil {
		return tm, err
	}
	tm.Images += time.Since(start)

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
	release := filepath.Join(dir, "release.yaml")
	if err := WriteYAML(release, b.Release); err != nil {
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

// Retag replaces, in the release, every image reference found in refs
// (old -> new), e.g. by where PublishImages pushed them.
func Retag(release []*unstructured.Unstructured, refs map[string]string) {
	for _, u := range release {
		w := jsontree.Walker{InPlace: true}
		w.Leaf = func(v any) any {
			if s, ok := v.(string); ok {
				if to, ok := refs[s]; ok {
					return to
				}
			}
			return v
		}
		w.Map(u.Object)
	}
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
