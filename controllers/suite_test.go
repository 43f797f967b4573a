package controllers_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/handson-dev/rotation-operator/internal/embedded"
	tf "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/internal/testutil"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
	"github.com/handson-dev/rotation-operator/test/harness"
)

// The suite runs the real operator against a real control plane: apiserver
// and etcd, plus kube-controller-manager (garbage collection, namespace
// deletion, quota), kube-scheduler and kwok, so behaviour matches a cluster.
var (
	cluster *localcluster.Cluster
	admin   client.Client
	// writes counts every API write the operator makes.
	writes testutil.WriteCounter
	// env binds internal/testutil's helpers to this control plane.
	env testutil.Env
	// terraformMirror is the provider mirror the operator's Terraform grader uses.
	terraformMirror string
	// clock is the operator's clock; tests step it to reach token renewal.
	clock = clocktesting.NewFakeClock(time.Now())
	// metricsAddr is where the manager serves /metrics.
	metricsAddr string
)

const (
	tokenTTL = time.Hour
	// operatorUser is who the operator runs as: it holds only config/rbac/role.yaml.
	operatorUser = "system:serviceaccount:rotation-system:rotation-operator"
)

func TestMain(m *testing.M) {
	// The Terraform grader runs this binary as its sandboxed runner.
	if len(os.Args) > 2 && os.Args[1] == tf.Subcommand[0] && os.Args[2] == tf.Subcommand[1] {
		os.Exit(tf.RunnerMain(os.Args[3:], os.Stdout, os.Stderr))
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapLevel())))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	root, _ := filepath.Abs("..")
	var err error
	cluster, err = localcluster.Start(ctx, localcluster.Options{
		CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "bases")},
		// The operator's own ClusterRole too: the operator runs with exactly
		// that role below, so missing rights fail these tests.
		Manifests: append(embedded.InstallManifests(root), filepath.Join(root, "config", "rbac", "role.yaml")),
		Full:      true,
		Progress:  os.Stderr,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = cluster.Stop() }()

	admin, err = client.New(cluster.Config, client.Options{Scheme: operator.Scheme()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	if err := admin.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "rotation-operator-under-test"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "rotation-operator"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: operatorUser}},
	}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	paths, err := toolchain.Ensure(ctx, os.Stderr, toolchain.TerraformProviderKubernetes)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	terraformMirror = paths.TerraformProviderMirror
	env = testutil.Env{Config: cluster.Config, Admin: admin, TerraformMirror: terraformMirror}
	// Terraform grading: local mode (the sandboxed subprocess) for most
	// labs, cluster mode (runner Jobs) for labs named lab-tfjob*, whose
	// pods the test's pod runtime executes (kwok runs no containers).
	terraformBin, err := tf.FindTerraform("")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	runnerCfg := rest.CopyConfig(cluster.Config)
	runnerCfg.Impersonate = rest.ImpersonationConfig{UserName: operatorUser}
	jobExecutor, err := runnerJobExecutor(runnerCfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	terraformGrader, err := tf.NewCollector(tf.Options{MaxConcurrent: 2, MaxWait: tf.DefaultMaxWait, Executor: routingExecutor{
		local: &tf.LocalExecutor{Terraform: terraformBin, Mirror: terraformMirror, Sandbox: tf.SandboxRequired, Log: ctrl.Log.WithName("terraform")},
		job:   jobExecutor,
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	adminClientset, err := kubernetes.NewForConfig(cluster.Config)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	stopPods, err := cluster.RunPods(ctx, runRunnerPod(adminClientset, cluster.Config, terraformBin, terraformMirror))
	if err != nil {
		fmt.Fprintln(os.Stderr, "pod runtime:", err)
		return 1
	}
	defer func() { _ = stopPods() }()
	// The lab image registry, as the embedded mode runs it.
	labRegistry, stopRegistry, err := harness.StartLabRegistry(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "registry:", err)
		return 1
	}
	defer stopRegistry()
	regCfg := labRegistry.Config()
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: operatorUser}
	writes.Wrap(cfg)
	// The metrics endpoint is served as in production, on a free local port.
	if metricsAddr, err = testutil.FreeLocalAddr(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mgr, err := operator.New(cfg, operator.Options{MetricsAddr: metricsAddr, ProbeAddr: "0", TokenTTL: tokenTTL, Clock: clock, Terraform: terraformGrader, Registry: &regCfg})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}()
	code := m.Run()
	if code != 0 {
		cluster.DumpLogs(os.Stderr, 40)
	}
	cancel()
	<-done
	return code
}

func zapLevel() zapcore.Level {
	if os.Getenv("TEST_VERBOSE_OPERATOR") != "" {
		return -1
	}
	return 2 // errors only: keep test output readable
}
