// Package operator wires the manager: scheme, cache, and the reconcilers.
// The binary and the integration tests both build the operator through New,
// so tests exercise the real wiring.
package operator

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/controllers"
	"github.com/handson-dev/rotation-operator/controllers/program"
	"github.com/handson-dev/rotation-operator/internal/grading"
	tf "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
	"github.com/handson-dev/rotation-operator/internal/grading/factsource/builtin"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/notify"
	"github.com/handson-dev/rotation-operator/internal/registry"
	"github.com/handson-dev/rotation-operator/labs"
)

// Defaults of the operator's settings, shared by cmd/rotation-operator's
// flags and the scale benchmark (docs/benchmarks.md has the data behind them).
const (
	DefaultMaxConcurrentReconciles = 8
	// DefaultQPS is the client-side QPS limit; negative means none (the
	// apiserver's priority and fairness still applies), as controller-runtime's
	// GetConfig sets it.
	DefaultQPS float32 = -1
	// DefaultBurst is the client-side burst, unused while DefaultQPS means
	// no limit.
	DefaultBurst int = 0
)

// Options configure the operator.
type Options struct {
	MetricsAddr             string
	ProbeAddr               string
	LeaderElection          bool
	LeaderElectionNamespace string
	MaxConcurrentReconciles int
	// QPS and Burst limit the operator's API requests on the client side;
	// 0 keeps the rest.Config's own values, a negative QPS turns the limit
	// off (the apiserver's priority and fairness still applies).
	QPS   float32
	Burst int

	// LeaseDuration, RenewDeadline and RetryPeriod tune leader election;
	// zero means controller-runtime's defaults (15s, 10s, 2s). Tests of
	// fail-over shorten them.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration

	// LabServer is the apiserver URL written into learner kubeconfigs; empty
	// means the operator's own. LabCAData likewise defaults to the operator's CA.
	LabServer string
	LabCAData []byte
	TokenTTL  time.Duration
	// GradingInterval regrades every rotation at least this often.
	GradingInterval time.Duration
	// Catalog returns the built-in exercises; nil means the embedded labs/ catalog.
	Catalog func() ([]rotationsv1.Exercise, error)

	// Registry is the lab image registry (Docker track); nil leaves labs
	// without one, and Docker exercises fail their registry checks saying so.
	Registry *registry.Config
	// RegistryProblem says why a registry was asked for but Registry is nil
	// (RegistryKeyProblem): every rotation reports it (RegistryUnavailable).
	RegistryProblem string
	// InfrastructureCheck is how often the registry and LabServer are
	// probed (infrastructure.go); 0 means DefaultInfrastructureCheck.
	InfrastructureCheck time.Duration

	// Terraform grades Terraform submissions; nil means this operator cannot,
	// and Terraform exercises fail their checks saying so.
	Terraform *tf.Collector

	// Clock is injected by tests; nil means the real clock.
	Clock clock.PassiveClock
}

// Scheme holds every type the operator reads or writes.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := rotationsv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// CacheOptions restricts the informers of lab objects to the ones the
// operator manages, so the cache stays small however busy the cluster is.
func CacheOptions() cache.Options {
	managed := labels.SelectorFromSet(labels.Set{rotationsv1.LabelManagedBy: rotationsv1.ManagedByValue})
	byObject := map[client.Object]cache.ByObject{}
	for _, obj := range []client.Object{
		&corev1.Namespace{}, &corev1.ServiceAccount{}, &corev1.ResourceQuota{},
		&corev1.LimitRange{}, &networkingv1.NetworkPolicy{}, &rbacv1.Role{}, &rbacv1.RoleBinding{},
		&rbacv1.ClusterRole{}, &rbacv1.ClusterRoleBinding{},
	} {
		byObject[obj] = cache.ByObject{Label: managed}
	}
	return cache.Options{ByObject: byObject, DefaultTransform: trimForCache}
}

// trimForCache drops what the operator never reads from its cache: managed
// fields on every object, and annotations of the learner's objects, which
// are watched metadata-only just to know that something changed (a
// kubectl-applied object carries its whole last configuration there).
// Objects the operator reads with their annotations, its own lab objects,
// come through typed informers and keep them. Measured in docs/benchmarks.md.
func trimForCache(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
		if _, partial := obj.(*metav1.PartialObjectMetadata); partial {
			m.SetAnnotations(nil)
		}
	}
	return obj, nil
}

// ClientOptions read ConfigMaps and Secrets around the cache: the operator
// watches those of labs metadata-only (the learner's included, e.g. Helm
// releases), and a typed informer for the few it owns would take the same
// label filter and hide the learner's.
func ClientOptions() client.Options {
	return client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.ConfigMap{}, &corev1.Secret{}}}}
}

// New builds a manager with the operator's reconcilers registered.
func New(cfg *rest.Config, o Options) (ctrl.Manager, error) {
	if o.MaxConcurrentReconciles == 0 {
		o.MaxConcurrentReconciles = DefaultMaxConcurrentReconciles
	}
	if o.LabServer == "" {
		o.LabServer = cfg.Host
	}
	if o.LabCAData == nil {
		o.LabCAData = cfg.CAData
	}
	if o.LabCAData == nil && cfg.CAFile != "" {
		// In a pod the CA is a file (the ServiceAccount's ca.crt): without
		// it learner kubeconfigs would not verify the apiserver.
		ca, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading the apiserver CA for learner kubeconfigs: %w", err)
		}
		o.LabCAData = ca
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.QPS != 0 || o.Burst != 0 {
		cfg = rest.CopyConfig(cfg)
		if o.QPS != 0 {
			cfg.QPS = o.QPS
		}
		if o.Burst != 0 {
			cfg.Burst = o.Burst
		}
		if cfg.QPS > 0 {
			// One limiter for the whole process. Without it every REST client
			// gets its own: controller-runtime makes one per resource type,
			// and the event recorder and learner clients theirs, so a QPS of
			// 20 allowed several hundred requests a second (measured).
			cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(cfg.QPS, max(cfg.Burst, 1))
		}
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  Scheme(),
		Cache:                   CacheOptions(),
		Client:                  ClientOptions(),
		Metrics:                 metricsserver.Options{BindAddress: o.MetricsAddr},
		HealthProbeBindAddress:  o.ProbeAddr,
		LeaderElection:          o.LeaderElection,
		LeaderElectionID:        "rotation-operator.rotations.handson.dev",
		LeaderElectionNamespace: o.LeaderElectionNamespace,
		LeaseDuration:           nonZero(o.LeaseDuration),
		RenewDeadline:           nonZero(o.RenewDeadline),
		RetryPeriod:             nonZero(o.RetryPeriod),
		// Tests start several managers in one process; names need not be unique.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return nil, fmt.Errorf("creating manager: %w", err)
	}
	if o.Catalog == nil {
		o.Catalog = labs.Catalog
	}
	opts := controller.Options{MaxConcurrentReconciles: o.MaxConcurrentReconciles}
	recorder := noteLimit{mgr.GetEventRecorder("rotation-operator")}
	programs := &grading.Cache{}
	// One webhook dispatcher (one bounded queue) for rotations and programs.
	notifier := notify.NewDispatcher(notify.Options{})
	if err := mgr.Add(notifier); err != nil {
		return nil, err
	}
	rotations := &controllers.LearningRotationReconciler{
		Client:         mgr.GetClient(),
		APIReader:      mgr.GetAPIReader(),
		Recorder:       recorder,
		Clock:          o.Clock,
		LabServer:      o.LabServer,
		LabCAData:      o.LabCAData,
		TokenTTL:       o.TokenTTL,
		ResyncInterval: o.GradingInterval,
		Programs:       programs,
		Learners: &controllers.LearnerClients{
			Operator: mgr.GetClient(), Base: cfg, Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(),
		},
		Sources:  builtin.Sources(builtin.Deps{Reader: mgr.GetAPIReader(), Terraform: o.Terraform, Registry: registryOrEmpty(o.Registry)}),
		Registry: o.Registry,
		Notifier: notifier,
	}
	if o.Terraform != nil {
		rotations.GradingDone = gradingDone(o.Terraform)
	}
	infra, err := newInfrastructureProbe(mgr.GetLogger().WithName("infrastructure"), o)
	if err != nil {
		return nil, err
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	infra.cicd = &cicdEngine{discovery: disco, onServed: rotations.WatchLabKinds}
	changed := make(chan event.GenericEvent, 1024)
	rotations.InfrastructureChanged = changed
	infra.changed = func() { requeueRotations(mgr.GetClient(), changed) }
	rotations.Infrastructure = infra
	if err := rotations.SetupWithManager(mgr, opts); err != nil {
		return nil, fmt.Errorf("setting up the LearningRotation controller: %w", err)
	}
	// Once before the reconcilers start, so first passes already know.
	infra.checkLearnerAPI(context.Background())
	infra.checkCICD()
	if err := mgr.Add(infra); err != nil {
		return nil, err
	}
	rotationPrograms := &program.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: recorder, Clock: o.Clock, Notifier: notifier}
	if err := rotationPrograms.SetupWithManager(mgr, opts); err != nil {
		return nil, fmt.Errorf("setting up the RotationProgram controller: %w", err)
	}
	exercises := &controllers.ExerciseReconciler{Client: mgr.GetClient(), Recorder: recorder, Programs: programs}
	if err := exercises.SetupWithManager(mgr, opts); err != nil {
		return nil, fmt.Errorf("setting up the Exercise controller: %w", err)
	}
	if err := mgr.Add(&controllers.CatalogInstaller{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Catalog: o.Catalog}); err != nil {
		return nil, err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return nil, err
	}
	return mgr, nil
}

// registryOrEmpty gives the Docker source a registry to read; without one
// its registry facts carry the configuration error.
func registryOrEmpty(c *registry.Config) registry.Config {
	if c == nil {
		return registry.Config{}
	}
	return *c
}

// nonZero is nil for zero, so the manager applies its default.
func nonZero(d time.Duration) *time.Duration {
	if d == 0 {
		return nil
	}
	return &d
}

// requeueRotations queues every rotation on ch, so each pass reads the
// infrastructure's new state: all of them, as which ones select a track
// is known only in their pass, and the engine comes or goes rarely. It
// never blocks: a full channel (a replica that does not lead, whose
// controller does not read it) drops the rest, which their resync catches.
func requeueRotations(c client.Reader, ch chan<- event.GenericEvent) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list := &rotationsv1.LearningRotationList{}
	if err := c.List(ctx, list); err != nil {
		return // not started yet: the first passes read the probe anyway
	}
	for i := range list.Items {
		select {
		case ch <- event.GenericEvent{Object: &rotationsv1.LearningRotation{ObjectMeta: metav1.ObjectMeta{Name: list.Items[i].Name}}}:
		default:
			return
		}
	}
}

// gradingDone turns the Terraform collector's finished runs into events for
// the lab's rotation. A full channel drops the event: the rotation's
// pending poll still comes.
func gradingDone(c *tf.Collector) <-chan event.GenericEvent {
	ch := make(chan event.GenericEvent, 256)
	c.Notify(func(namespace string) {
		name, ok := strings.CutPrefix(namespace, lab.NamespacePrefix)
		if !ok {
			return
		}
		select {
		case ch <- event.GenericEvent{Object: &rotationsv1.LearningRotation{ObjectMeta: metav1.ObjectMeta{Name: name}}}:
		default:
		}
	})
	return ch
}
