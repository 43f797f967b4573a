// Package e2e_test holds the learner journeys: a learner does a whole
// exercise end to end, with only the credentials the operator issued and
// the real tools (helm, terraform, an OCI registry client), against the
// real operator on a real control plane (kube-apiserver, etcd,
// kube-controller-manager, kube-scheduler and kwok's node).
//
// The operator runs in-process as it is deployed: with exactly its own
// ClusterRole (impersonated), its metrics endpoint served, the lab image
// registry, and the Terraform grader in local mode, whose sandboxed runner
// is this test binary run again (TestMain).
package e2e_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	tf "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/internal/testutil"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
	"github.com/handson-dev/rotation-operator/test/harness"
)

var (
	// env is the control plane and its admin, shared by every journey.
	env testutil.Env
	// metricsAddr is where the operator serves /metrics.
	metricsAddr string
)

func TestMain(m *testing.M) {
	// The Terraform grader runs this binary as its sandboxed runner.
	if len(os.Args) > 2 && os.Args[1] == tf.Subcommand[0] && os.Args[2] == tf.Subcommand[1] {
		os.Exit(tf.RunnerMain(os.Args[3:], os.Stdout, os.Stderr))
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	level := zapcore.ErrorLevel // keep test output readable
	if os.Getenv("TEST_VERBOSE_OPERATOR") != "" {
		level = zapcore.DebugLevel
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(level)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	cluster, admin, err := harness.StartCluster(ctx, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = cluster.Stop() }()
	paths, err := toolchain.Ensure(ctx, os.Stderr, toolchain.TerraformProviderKubernetes)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env = testutil.Env{Config: cluster.Config, Admin: admin, TerraformMirror: paths.TerraformProviderMirror}

	terraformBin, err := tf.FindTerraform("")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	terraformGrader, err := tf.NewCollector(tf.Options{MaxConcurrent: 2, MaxWait: tf.DefaultMaxWait, Executor: &tf.LocalExecutor{
		Terraform: terraformBin, Mirror: env.TerraformMirror, Sandbox: tf.SandboxRequired, Log: ctrl.Log.WithName("terraform"),
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	labRegistry, stopRegistry, err := harness.StartLabRegistry(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "registry:", err)
		return 1
	}
	defer stopRegistry()
	regCfg := labRegistry.Config()
	if metricsAddr, err = testutil.FreeLocalAddr(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	op, err := harness.StartOperator(cluster, "operator", operator.Options{MetricsAddr: metricsAddr, Terraform: terraformGrader, Registry: &regCfg})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if err := op.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "operator:", err)
		code = 1
	}
	if code != 0 {
		cluster.DumpLogs(os.Stderr, 40)
	}
	return code
}
