// Package install_test installs the operator into a real cluster the way
// a cluster admin does (README, "Install into a real cluster"): the
// operator image built without Docker and imported into the node's
// containerd, `make deploy` (kustomize build of config/default, applied
// server-side) and `helm install` of charts/rotation-operator, each with
// the operator as 2 leader-elected pods and the lab registry in the
// cluster; then the learner's journey, a leader killed mid-provision, an
// upgrade, and an uninstall that leaves no operator object behind.
//
// The suite holds the host's one real node for its whole run (the
// machine-wide lock of internal/localcluster).
package install_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
	"github.com/handson-dev/rotation-operator/internal/labimages"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/operatorimage"
)

// operatorImage is the name the built image is imported under: a name no
// registry serves, so the kubelet must find it on the node.
const operatorImage = "rotation.local/rotation-operator:e2e"

// operatorImageNext is a newer build of it, for the upgrade: the same
// programs, another image (a label more), another digest.
const operatorImageNext = "rotation.local/rotation-operator:e2e-next"

var (
	cluster *localcluster.Cluster
	// imageBuilt is how long building (or taking from the cache) and
	// archiving the operator image took.
	imageBuilt time.Duration
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) (code int) {
	if ok, why := localcluster.RealNodeSupport(); !ok {
		fmt.Println("install e2e not run:", why)
		return 0
	}
	ctrl.SetLogger(logr.Discard())
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "install-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	archive, err := buildImages(ctx, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// A bare cluster: nothing of the operator's is installed but by the
	// tests themselves.
	cluster, err = localcluster.Start(ctx, localcluster.Options{
		Full: true, Node: localcluster.NodeReal,
		NodeImages: []string{archive}, PauseImage: labimages.Pause,
		Progress: os.Stderr,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	hostBefore, _ := cluster.HostBaseline()
	defer func() {
		if code != 0 {
			cluster.DumpLogs(os.Stderr, 40)
		}
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the cluster:", err)
			code = 1
		}
		// The snapshot Stop took before it released the node lock: one
		// taken now may hold the node of a suite that waited for the lock.
		after, ok := cluster.HostAfterStop()
		if !ok {
			after = localcluster.TakeHostSnapshot()
		}
		if diff := hostBefore.Diff(after); len(diff) > 0 {
			fmt.Fprintf(os.Stderr, "the host differs from before the suite:\n%s\n", strings.Join(diff, "\n"))
			code = 1
		}
	}()
	return m.Run()
}

// buildImages builds the operator image (make image) and the lab images
// into one archive the node imports at start, as
// `ctr -n k8s.io images import` would.
func buildImages(ctx context.Context, dir string) (string, error) {
	start := time.Now()
	tf, err := terraform.FindTerraform("")
	if err != nil {
		return "", fmt.Errorf("the operator image needs terraform: %w", err)
	}
	img, err := operatorimage.Build(ctx, operatorimage.Options{Terraform: tf, Log: os.Stderr})
	if err != nil {
		return "", err
	}
	lab, err := labimages.Build(ctx, labimages.Options{})
	if err != nil {
		return "", err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	cfg := cf.Config.DeepCopy()
	cfg.Labels["org.opencontainers.image.version"] = "e2e-next"
	nextImg, err := mutate.Config(img, *cfg)
	if err != nil {
		return "", err
	}
	next, err := operatorimage.AsLabImage(operatorImageNext, nextImg)
	if err != nil {
		return "", err
	}
	archive := filepath.Join(dir, "images.tar")
	if err := operatorimage.WriteArchive(archive, operatorImage, img, append(lab, next)...); err != nil {
		return "", err
	}
	imageBuilt = time.Since(start)
	fmt.Fprintf(os.Stderr, "operator image %s built and archived in %s\n", operatorImage, imageBuilt.Round(100*time.Millisecond))
	return archive, nil
}
