// Command rotation-operator runs the operator. With a kubeconfig (flag,
// $KUBECONFIG, ~/.kube/config or in-cluster) it runs against that cluster.
// With none it starts an embedded control plane, applies the sample rotation
// and prints what to type next.
//
// `rotation-operator runner terraform [flags]` is the Terraform track's
// grading runner instead (see internal/grading/facts/terraform.RunnerMain):
// it grades one submission and prints its facts as JSON.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/handson-dev/rotation-operator/internal/embedded"
	tfrunner "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/internal/registry"
)

func main() {
	// `rotation-operator runner terraform ...` grades one Terraform
	// submission (the sandboxed subprocess of local mode, or a runner Job).
	if len(os.Args) > 2 && os.Args[1] == tfrunner.Subcommand[0] && os.Args[2] == tfrunner.Subcommand[1] {
		os.Exit(tfrunner.RunnerMain(os.Args[3:], os.Stdout, os.Stderr))
	}
	var o operator.Options
	var mode string
	flag.StringVar(&o.MetricsAddr, "metrics-bind-address", ":8080", "Address of the metrics endpoint; 0 disables it.")
	flag.StringVar(&o.ProbeAddr, "health-probe-bind-address", ":8081", "Address of the health and readiness probes.")
	flag.BoolVar(&o.LeaderElection, "leader-elect", false, "Elect a leader, for running several replicas.")
	flag.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease (default: the pod's).")
	flag.IntVar(&o.MaxConcurrentReconciles, "max-concurrent-reconciles", operator.DefaultMaxConcurrentReconciles, "Rotations reconciled in parallel.")
	var qps float64
	flag.Float64Var(&qps, "kube-api-qps", float64(operator.DefaultQPS), "Client-side limit of API requests per second; negative for none (the apiserver's priority and fairness still applies).")
	flag.IntVar(&o.Burst, "kube-api-burst", operator.DefaultBurst, "Client-side burst of API requests, with --kube-api-qps.")
	flag.DurationVar(&o.TokenTTL, "learner-token-ttl", 8*time.Hour, "Lifetime of learner tokens; renewed after two thirds of it.")
	flag.DurationVar(&o.GradingInterval, "grading-interval", 5*time.Minute, "Regrade every rotation at least this often (changes in a lab are graded at once).")
	flag.StringVar(&o.LabServer, "learner-api-server", "", "Apiserver URL written into learner kubeconfigs (default: the operator's).")
	var reg registryFlags
	flag.StringVar(&reg.host, "registry-host", "", "Lab image registry (host[:port]) for the Docker track; each lab gets the Secret lab-registry. Empty: no registry (the embedded mode starts one).")
	flag.StringVar(&reg.prefix, "registry-prefix", "", "Repository path before each lab's repositories: <host>/<prefix>/lab-<rotation>/<image>.")
	flag.StringVar(&reg.keyFile, "registry-key-file", "", "File holding the secret key (32+ characters, surrounding whitespace ignored) from which per-lab registry credentials are derived; the registry verifies them with the same key (internal/registry).")
	flag.BoolVar(&reg.insecure, "registry-insecure", false, "Reach the registry over plain HTTP (loopback or test registries only).")
	var tfo terraformFlags
	flag.StringVar(&tfo.mirror, "terraform-mirror", "", "Terraform provider filesystem_mirror directory; the only providers learners' configurations may use. Empty: "+defaultMirror+" if present (the image ships it); the embedded mode builds one.")
	flag.StringVar(&tfo.binary, "terraform-binary", "", "The terraform CLI (default: terraform on PATH).")
	flag.StringVar(&tfo.sandbox, "terraform-sandbox", string(tfrunner.SandboxRequired), "Run learners' Terraform in user, mount and PID namespaces: required (refuse to run without them), auto (fall back to a plain subprocess with a warning) or disabled.")
	flag.IntVar(&tfo.concurrency, "terraform-max-concurrent", 0, fmt.Sprintf("Terraform runs in flight across all labs. 0: %d in local mode (each run takes the operator's CPU), %d with runner Jobs (each runs on a node, on its lab's quota).", tfrunner.DefaultMaxConcurrent, defaultJobConcurrency))
	flag.StringVar(&tfo.executor, "terraform-executor", "auto", "Where learners' Terraform runs: job (a runner Job in the lab, as the learner), local (a sandboxed subprocess of the operator) or auto (job when the operator runs in a pod, else local).")
	flag.StringVar(&tfo.runnerImage, "terraform-runner-image", "", "Image of runner Jobs; it must hold the operator binary, terraform and the mirror. Empty: this pod's own image, by digest (needs POD_NAME and POD_NAMESPACE).")
	flag.StringVar(&mode, "embedded", "auto", "Embedded control plane: auto (when no kubeconfig is found), always, or never.")
	var node string
	flag.StringVar(&node, "node", string(localcluster.NodeAuto), "Node of the embedded control plane: real (kubelet + containerd: lab containers run; Linux and root), fake (kwok: pods are scheduled, nothing runs) or auto (real where the host can).")
	zapOpts := zap.Options{Development: true, Level: zapcore.InfoLevel}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse() // also parses controller-runtime's --kubeconfig flag
	o.QPS = float32(qps)
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	var err error
	if o.Registry, o.RegistryProblem, err = reg.config(); err != nil {
		fmt.Fprintln(os.Stderr, "rotation-operator:", err)
		os.Exit(2)
	}
	nodeMode, err := localcluster.ParseNodeMode(node)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rotation-operator: --node:", err)
		os.Exit(2)
	}
	// Ctrl-C under make stops the operator alone, and make exits 0.
	restore := takeTerminal()
	ctx := interruptContext(os.Stderr)
	err = run(ctx, mode, nodeMode, o, tfo)
	restore()
	if err != nil {
		fmt.Fprintln(os.Stderr, "rotation-operator:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, mode string, node localcluster.NodeMode, o operator.Options, tfo terraformFlags) error {
	var cfg *rest.Config
	switch mode {
	case "always":
	case "auto", "never":
		if mode == "auto" && !clusterConfigured() {
			break
		}
		var err error
		if cfg, err = config.GetConfig(); err != nil {
			return fmt.Errorf("no usable cluster configuration: %w", err)
		}
	default:
		return fmt.Errorf("--embedded must be auto, always or never, not %q", mode)
	}
	var err error
	if o.Terraform, err = tfo.collector(ctx, cfg); err != nil {
		return err
	}
	if cfg == nil {
		return embedded.Run(ctx, o, node, os.Stdout)
	}

	mgr, err := operator.New(cfg, o)
	if err != nil {
		return err
	}
	ctrl.Log.Info("starting rotation-operator", "apiserver", cfg.Host)
	if err := mgr.Start(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// clusterConfigured tells whether any of the places client-go looks for a
// cluster has one: --kubeconfig, $KUBECONFIG, ~/.kube/config, or in-cluster.
func clusterConfigured() bool {
	if f := flag.Lookup("kubeconfig"); f != nil && f.Value.String() != "" {
		return true
	}
	if os.Getenv("KUBECONFIG") != "" || os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		return true
	}
	_, err := os.Stat(clientcmd.RecommendedHomeFile)
	return err == nil
}

type registryFlags struct {
	host, prefix, keyFile string
	insecure              bool
}

// config is the lab registry the flags describe, nil when there is none;
// problem says why a registry asked for is missing.
func (f registryFlags) config() (_ *registry.Config, problem string, _ error) {
	if f.host == "" {
		return nil, "", nil
	}
	if f.keyFile == "" {
		return nil, "", errors.New("--registry-host needs --registry-key-file: lab credentials are derived from it")
	}
	key, err := os.ReadFile(f.keyFile)
	if err == nil {
		key, err = registry.ParseKey(key)
	}
	if err != nil {
		// In a cluster the key comes from the lab-registry bootstrap; without
		// a usable one run without a registry, reporting it on every
		// rotation (RegistryUnavailable), rather than exit in a loop.
		ctrl.Log.Error(err, "no lab registry key: running without a lab registry", "registry-key-file", f.keyFile)
		return nil, operator.RegistryKeyProblem(f.keyFile, err), nil
	}
	c := &registry.Config{Host: f.host, Prefix: f.prefix, Insecure: f.insecure, Key: key}
	if err := c.Validate(); err != nil {
		return nil, "", err
	}
	return c, "", nil
}
