// Package integration_test runs the RotationProgram controller against a
// real control plane with an injected clock: rounds, suspension, the
// unpassed selection, restarts, admission of bad programs and the webhook.
// Only the program controller runs (as the operator's ServiceAccount, with
// config/rbac's role), so the tests write the rotations' status themselves
// as the rotation controller would.
package integration_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/handson-dev/rotation-operator/controllers/program"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/notify"
	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/test/harness"
)

var (
	cluster *localcluster.Cluster
	admin   client.Client
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	level := zapcore.Level(2)
	if os.Getenv("TEST_VERBOSE_OPERATOR") != "" {
		level = -1
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(level)))
	var err error
	cluster, admin, err = harness.StartCluster(context.Background(), os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = cluster.Stop() }()
	code := m.Run()
	if code != 0 {
		cluster.DumpLogs(os.Stderr, 40)
	}
	return code
}

// programOperator is one running program controller.
type programOperator struct {
	writes *harness.Recorder
	stop   func()
}

// startOperator runs the program controller as the operator's
// ServiceAccount on clk, until the test ends or stop is called. faults
// wrap its transport outside the write recorder.
func startOperator(t *testing.T, clk *clocktesting.FakeClock, faults ...harness.Fault) *programOperator {
	t.Helper()
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: harness.OperatorUser}
	rec := &harness.Recorder{}
	cfg.Wrap(rec.Wrap)
	for _, f := range faults {
		cfg.Wrap((func(http.RoundTripper) http.RoundTripper)(f))
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: operator.Scheme(), Cache: operator.CacheOptions(), Client: operator.ClientOptions(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &program.Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("rotation-operator"),
		Clock: clk, Resync: 200 * time.Millisecond,
		Notifier: notify.NewDispatcher(notify.Options{Backoff: wait.Backoff{Duration: 20 * time.Millisecond, Factor: 2, Steps: 4}}),
	}
	if err := mgr.Add(r.Notifier); err != nil {
		t.Fatal(err)
	}
	if err := r.SetupWithManager(mgr, controller.Options{MaxConcurrentReconciles: 2}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("manager: %v", err)
		}
	}()
	var once atomic.Bool
	stop := func() {
		if once.CompareAndSwap(false, true) {
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return &programOperator{writes: rec, stop: stop}
}

// failStatusWrites fails the first n status writes of program name before
// they reach the apiserver, as a pass that dies after creating rotations.
// The returned counter says how many it failed.
func failStatusWrites(name string, n int32) (harness.Fault, *atomic.Int32) {
	var failed atomic.Int32
	return func(rt http.RoundTripper) http.RoundTripper {
		return harness.RoundTripFunc(func(req *http.Request) (*http.Response, error) {
			if req.Method == http.MethodPut && strings.HasSuffix(req.URL.Path, "/rotationprograms/"+name+"/status") && failed.Add(1) <= n {
				return nil, fmt.Errorf("injected: status write of %s fails", name)
			}
			return rt.RoundTrip(req)
		})
	}, &failed
}
