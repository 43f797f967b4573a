package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zapcore"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/handson-dev/rotation-operator/internal/operator"
)

// writesMetric counts the operator's API writes by verb and kind of
// request, so the benchmark can tell object writes from status writes,
// token requests and events. It is served on the operator's own /metrics.
var writesMetric = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "rotation_bench_api_writes_total",
	Help: "API write requests (POST, PUT, PATCH, DELETE) made by the operator process, by verb and resource[/subresource].",
}, []string{"verb", "resource"})

// RunOperator is the benchmark's operator process: the operator exactly as
// cmd/rotation-operator builds it (operator.New with the flags below), plus
// a counting transport. The benchmark runs it as a subprocess so that its
// memory and CPU are the operator's alone.
func RunOperator(args []string) error {
	fs := flag.NewFlagSet("operator", flag.ContinueOnError)
	var o operator.Options
	var kubeconfig string
	var qps float64
	fs.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the operator's identity")
	fs.StringVar(&o.MetricsAddr, "metrics-bind-address", "127.0.0.1:0", "metrics address")
	fs.IntVar(&o.MaxConcurrentReconciles, "max-concurrent-reconciles", 0, "0: the operator's default")
	fs.Float64Var(&qps, "kube-api-qps", 0, "client QPS; 0: the operator's default, negative: unlimited")
	fs.IntVar(&o.Burst, "kube-api-burst", 0, "client burst; 0: the operator's default")
	fs.DurationVar(&o.GradingInterval, "grading-interval", 5*time.Minute, "resync interval")
	fs.DurationVar(&o.TokenTTL, "learner-token-ttl", 8*time.Hour, "learner token lifetime")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.QPS = float32(qps)
	if o.QPS == 0 {
		o.QPS, o.Burst = operator.DefaultQPS, operator.DefaultBurst
	}
	o.ProbeAddr = "0"
	ctrl.SetLogger(zap.New(zap.Level(zapErrorsOnly)))
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	// As cmd/rotation-operator gets it from controller-runtime's GetConfig:
	// no client-side limit unless the options set one.
	cfg.QPS = -1
	ctrlmetrics.Registry.MustRegister(writesMetric)
	cfg.Wrap(countWrites)
	mgr, err := operator.New(cfg, o)
	if err != nil {
		return err
	}
	ctx := ctrl.SetupSignalHandler()
	if err := mgr.Start(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("operator: %w", err)
	}
	return nil
}

const zapErrorsOnly = zapcore.Level(2)

func countWrites(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		switch req.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			writesMetric.WithLabelValues(req.Method, resourceOf(req.URL.Path)).Inc()
		}
		return rt.RoundTrip(req)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// resourceOf returns "resource" or "resource/subresource" of an API path:
// /api/v1/namespaces/lab-a/serviceaccounts/learner/token -> serviceaccounts/token.
func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		parts = parts[3:]
	default:
		return path
	}
	if len(parts) >= 3 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	switch len(parts) {
	case 0:
		return "?"
	case 1, 2:
		return parts[0]
	default:
		return parts[0] + "/" + parts[2]
	}
}
