// Command rotation-operator runs the operator. With a kubeconfig (flag,
// $KUBECONFIG, ~/.kube/config or in-cluster) it runs against that cluster.
// With none it starts an embedded control plane, applies the sample rotation
// and prints what to type next.
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
	"github.com/handson-dev/rotation-operator/internal/operator"
)

func main() {
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
	flag.StringVar(&mode, "embedded", "auto", "Embedded control plane: auto (when no kubeconfig is found), always, or never.")
	zapOpts := zap.Options{Development: true, Level: zapcore.InfoLevel}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse() // also parses controller-runtime's --kubeconfig flag
	o.QPS = float32(qps)
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	ctx := ctrl.SetupSignalHandler()
	if err := run(ctx, mode, o); err != nil {
		fmt.Fprintln(os.Stderr, "rotation-operator:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, mode string, o operator.Options) error {
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
	if cfg == nil {
		return embedded.Run(ctx, o, os.Stdout)
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
