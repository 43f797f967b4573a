// Package embedded is the no-cluster default: it starts a local control
// plane (apiserver, etcd, controller-manager, scheduler, and a real node
// or kwok's fake one), installs the operator's CRDs, roles and admission
// policy, runs the operator against it, applies the sample rotation and,
// on a real node, installs the CI/CD engine in the background.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	tf "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/labimages"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/internal/registry"
	"github.com/handson-dev/rotation-operator/internal/tekton"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// Run blocks until ctx ends, then stops the operator and the control plane.
func Run(ctx context.Context, o operator.Options, node localcluster.NodeMode, out io.Writer) error {
	root, err := toolchain.RepoRoot()
	if err != nil {
		return fmt.Errorf("the embedded control plane needs the repository's files: %w", err)
	}
	start := time.Now()
	fmt.Fprintln(out, "No cluster configured: starting an embedded control plane (kube-apiserver, etcd, kube-controller-manager, kube-scheduler) and one node.")
	paths, clis, err := ensureTools(ctx, node, out)
	if err != nil {
		return err
	}
	cluster, err := localcluster.Start(ctx, localcluster.Options{
		CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "bases")},
		Manifests:         InstallManifests(root),
		Full:              true,
		Node:              node,
		Progress:          out,
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(out, "stopping the control plane:", err)
		}
	}()

	// The embedded apiserver is on loopback; keep the operator's own
	// endpoints off the usual ports so they do not clash with anything.
	if o.MetricsAddr == ":8080" {
		// A free loopback port, chosen here so that it can be printed.
		o.MetricsAddr = "127.0.0.1:0"
		if l, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
			o.MetricsAddr = l.Addr().String()
			_ = l.Close()
		}
	}
	if o.ProbeAddr == ":8081" {
		o.ProbeAddr = "127.0.0.1:0"
	}
	if o.Registry == nil {
		reg, err := startRegistry(ctx, out, cluster)
		if err != nil {
			return err
		}
		defer func() { _ = reg.Stop(context.Background()) }()
		cfg := reg.Config()
		o.Registry = &cfg
	}
	if o.Terraform == nil {
		if o.Terraform, err = TerraformCollector(paths.TerraformProviderMirror, "", tf.SandboxRequired, 0); err != nil {
			fmt.Fprintln(out, "Terraform exercises will not be graded:", err)
		}
	}
	tfrc, learnerMirror := "", ""
	if paths.TerraformProviderMirror != "" {
		tfrc = filepath.Join(cluster.WorkDir, "terraform.tfrc")
		if learnerMirror, err = writeTerraformCLIConfig(tfrc, paths.TerraformProviderMirror); err != nil {
			return err
		}
	}
	mgr, err := operator.New(cluster.Config, o)
	if err != nil {
		return err
	}
	mgrErr := make(chan error, 1)
	go func() { mgrErr <- mgr.Start(ctx) }()
	stopEngine := startCICDEngine(ctx, cluster.Node, filepath.Join(cluster.WorkDir, "tekton-install.log"),
		func(ctx context.Context, progress io.Writer) (tekton.InstallTimings, error) {
			return tekton.Install(ctx, cluster, progress)
		}, out)
	// Deferred after the cluster's Stop, so it runs before it.
	defer stopEngine()

	sample := filepath.Join(root, "config", "samples", "rotations_v1alpha1_learningrotation.yaml")
	lr, err := applySample(ctx, cluster, sample)
	if err != nil {
		return err
	}
	learnerKubeconfig, err := waitForLab(ctx, cluster, lr.Name)
	if err != nil {
		return err
	}
	if o.MetricsAddr != "0" && !strings.HasSuffix(o.MetricsAddr, ":0") {
		fmt.Fprintf(out, "Metrics: curl -s http://%s/metrics | grep ^rotation_operator\n", o.MetricsAddr)
	}
	printNextSteps(out, journey{
		Admin: cluster.KubeconfigPath, Learner: learnerKubeconfig, Rotation: lr, Node: cluster.Node,
		Registry: *o.Registry, CLIs: clis, TerraformRC: tfrc, Mirror: learnerMirror,
		Plugin: filepath.Join(root, "bin", "kubectl-rotation"), Labs: filepath.Join(root, "labs"),
	})
	fmt.Fprintf(out, "Ready %s after start. Press Ctrl-C to stop the operator and the control plane.\n", toolchain.Round(time.Since(start)))

	select {
	case err := <-mgrErr:
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	case <-ctx.Done():
		<-mgrErr //nolint:errcheck // stopping on request: the manager's error is the cancellation
	}
	fmt.Fprintln(out, "stopping the operator and the control plane")
	return nil
}

// startRegistry serves the lab image registry, storing under the user
// cache dir so pushed images and lab credentials survive restarts. With a
// real node it listens on the node's address, not loopback: pipeline pods
// (the cicd track) push to it there, and the node's containerd is told to
// pull from it over plain HTTP. Without one, loopback is enough.
func startRegistry(ctx context.Context, out io.Writer, cluster *localcluster.Cluster) (*registry.Server, error) {
	root, err := toolchain.CacheRoot()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, "embedded-registry")
	key, err := registry.LoadOrCreateKey(filepath.Join(dir, "key"))
	if err != nil {
		return nil, err
	}
	opts := registry.Options{Dir: filepath.Join(dir, "storage"), Key: key}
	if ip := cluster.NodeIP(); ip != "" {
		opts.Addr = net.JoinHostPort(ip, "0")
	}
	reg, err := registry.New(opts)
	if err != nil {
		return nil, err
	}
	if err := reg.Start(ctx); err != nil {
		return nil, err
	}
	if opts.Addr != "" {
		if err := cluster.TrustPlainHTTPRegistry(reg.Addr()); err != nil {
			_ = reg.Stop(context.Background())
			return nil, err
		}
	}
	if err := StockLibrary(ctx, reg); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "Lab image registry (OCI distribution, per-lab credentials): http://%s, images in %s\n", reg.Addr(), dir)
	fmt.Fprintf(out, "  offline base for learners' Dockerfiles: FROM %s:nonroot\n", reg.Config().LibraryRepository("static"))
	return reg, nil
}

// StockLibrary puts the project's offline base images into the registry's
// read-only library, so learners build FROM them without the internet.
func StockLibrary(ctx context.Context, reg *registry.Server) error {
	base, err := labimages.StaticBase("")
	if err != nil {
		return err
	}
	if err := reg.PutLibrary(ctx, "static:nonroot", base.Image); err != nil {
		return fmt.Errorf("stocking the registry's library: %w", err)
	}
	return nil
}

// TerraformCollector is the local-mode Terraform grader: the operator
// binary's runner subcommand in a sandboxed subprocess.
func TerraformCollector(mirror, terraform string, sandbox tf.SandboxPolicy, concurrency int) (*tf.Collector, error) {
	if _, err := os.Stat(mirror); err != nil {
		return nil, fmt.Errorf("terraform provider mirror: %w", err)
	}
	bin, err := tf.FindTerraform(terraform)
	if err != nil {
		return nil, err
	}
	return tf.NewCollector(tf.Options{
		Executor:      &tf.LocalExecutor{Terraform: bin, Mirror: mirror, Sandbox: sandbox, Log: ctrl.Log.WithName("terraform")},
		MaxConcurrent: concurrency,
		MaxWait:       tf.DefaultMaxWait,
	})
}

// InstallManifests are what `make install` applies besides the CRDs.
func InstallManifests(root string) []string {
	return []string{
		filepath.Join(root, "config", "rbac", "lab_roles.yaml"),
		filepath.Join(root, "config", "policy", "lab_guard.yaml"),
		filepath.Join(root, "config", "policy", "namespace_guard.yaml"),
		filepath.Join(root, "config", "policy", "runner_guard.yaml"),
		filepath.Join(root, "config", "policy", "mentor_guard.yaml"),
		filepath.Join(root, "config", "policy", "pipeline_guard.yaml"),
	}
}

func applySample(ctx context.Context, cluster *localcluster.Cluster, path string) (*rotationsv1.LearningRotation, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lr := &rotationsv1.LearningRotation{}
	if err := yaml.UnmarshalStrict(b, lr); err != nil {
		return nil, fmt.Errorf("reading the sample %s: %w", path, err)
	}
	c, err := client.New(cluster.Config, client.Options{Scheme: operator.Scheme()})
	if err != nil {
		return nil, err
	}
	if err := c.Create(ctx, lr); err != nil {
		return nil, fmt.Errorf("applying the sample rotation: %w", err)
	}
	return lr, nil
}

// waitForLab waits for the sample rotation to be Ready and writes the
// learner's kubeconfig next to the admin one.
func waitForLab(ctx context.Context, cluster *localcluster.Cluster, name string) (string, error) {
	c, err := client.New(cluster.Config, client.Options{Scheme: operator.Scheme()})
	if err != nil {
		return "", err
	}
	lr := &rotationsv1.LearningRotation{}
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKey{Name: name}, lr); err != nil {
			return false, nil
		}
		return meta.IsStatusConditionTrue(lr.Status.Conditions, rotationsv1.ConditionReady) && lr.Status.Kubeconfig != nil, nil
	})
	if err != nil {
		return "", fmt.Errorf("the sample rotation %s did not become Ready: %w (status: %+v)", name, err, lr.Status.Conditions)
	}
	secret := &corev1.Secret{}
	ref := lr.Status.Kubeconfig.SecretRef
	if err := c.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, secret); err != nil {
		return "", err
	}
	path := filepath.Join(cluster.WorkDir, "learner-"+name+".kubeconfig")
	return path, os.WriteFile(path, secret.Data[lab.KubeconfigKey], 0o600)
}
