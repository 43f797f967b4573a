// Package embedded is the no-cluster default: it starts a local control
// plane (apiserver, etcd, controller-manager, scheduler, kwok with one fake
// node), installs the operator's CRDs, roles and admission policy, runs the
// operator against it and applies the sample rotation.
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
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// Run blocks until ctx ends, then stops the operator and the control plane.
func Run(ctx context.Context, o operator.Options, node localcluster.NodeMode, out io.Writer) error {
	root, err := toolchain.RepoRoot()
	if err != nil {
		return fmt.Errorf("the embedded control plane needs the repository's files: %w", err)
	}
	fmt.Fprintln(out, "No cluster configured: starting an embedded control plane (kube-apiserver, etcd, kube-controller-manager, kube-scheduler) and one node.")
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
		reg, err := startRegistry(ctx, out)
		if err != nil {
			return err
		}
		defer func() { _ = reg.Stop(context.Background()) }()
		cfg := reg.Config()
		o.Registry = &cfg
	}
	if o.Terraform == nil {
		if o.Terraform, err = ensureTerraform(ctx, out); err != nil {
			fmt.Fprintln(out, "Terraform exercises will not be graded:", err)
		}
	}
	mgr, err := operator.New(cluster.Config, o)
	if err != nil {
		return err
	}
	mgrErr := make(chan error, 1)
	go func() { mgrErr <- mgr.Start(ctx) }()

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
	printNextSteps(out, cluster.KubeconfigPath, learnerKubeconfig, lr, cluster.Node)

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

// startRegistry serves the lab image registry on loopback, storing under
// the user cache dir so pushed images and lab credentials survive restarts.
func startRegistry(ctx context.Context, out io.Writer) (*registry.Server, error) {
	root, err := toolchain.CacheRoot()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, "embedded-registry")
	key, err := registry.LoadOrCreateKey(filepath.Join(dir, "key"))
	if err != nil {
		return nil, err
	}
	reg, err := registry.New(registry.Options{Dir: filepath.Join(dir, "storage"), Key: key})
	if err != nil {
		return nil, err
	}
	if err := reg.Start(ctx); err != nil {
		return nil, err
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

// ensureTerraform builds (once, cached) the kubernetes provider mirror and
// returns a sandboxed Terraform grader using the terraform CLI on PATH.
func ensureTerraform(ctx context.Context, out io.Writer) (*tf.Collector, error) {
	paths, err := toolchain.Ensure(ctx, out, toolchain.TerraformProviderKubernetes)
	if err != nil {
		return nil, err
	}
	return TerraformCollector(paths.TerraformProviderMirror, "", tf.SandboxRequired, 0)
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

func printNextSteps(out io.Writer, admin, learner string, lr *rotationsv1.LearningRotation, node localcluster.NodeMode) {
	ns := lab.Namespace(lr.Name)
	where, containers := "on the fake node (kwok: scheduled and Ready, but no container runs)", ""
	if node == localcluster.NodeReal {
		where = "because its containers really run on the node"
		containers = fmt.Sprintf(`  kubectl --kubeconfig %[1]s logs deploy/web
  kubectl --kubeconfig %[1]s exec deploy/web -- /web get http://127.0.0.1:8080/
  kubectl --kubeconfig %[1]s port-forward deploy/web 8080:8080   # then: curl localhost:8080
`, learner)
	}
	fmt.Fprintf(out, `
rotation-operator is running on the embedded control plane, and the sample
rotation %[1]q is Ready: lab namespace %[2]s for learner %[3]s.

  admin kubeconfig:    %[4]s
  learner kubeconfig:  %[5]s

As a mentor (admin), in another terminal:
  export KUBECONFIG=%[4]s
  kubectl get learningrotations          # or: kubectl get lr -o wide
  kubectl describe lr %[1]s
  kubectl get all,resourcequota,networkpolicy -n %[2]s
  kubectl get events -A --field-selector involvedObject.name=%[1]s

As the learner:
  kubectl --kubeconfig %[5]s get configmap exercise-scale-and-expose -o jsonpath='{.data.instructions\.md}'
  kubectl --kubeconfig %[5]s scale deployment web --replicas=3     # then: kubectl get lr %[1]s
  kubectl --kubeconfig %[5]s apply -f config/samples/learner_web_deployment.yaml
  kubectl --kubeconfig %[5]s get deployments     # web becomes Available %[6]s
%[7]s  kubectl --kubeconfig %[5]s get secrets -n kube-system   # forbidden: outside the lab

Press Ctrl-C to stop the operator and the control plane.
`, lr.Name, ns, lr.Spec.Learner.Name, admin, learner, where, containers)
}
