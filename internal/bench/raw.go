package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/controllers"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// benchRotation is the rotation every benchmark lab is made for: the
// sample's, with the kubernetes track (three exercises, two of them with a
// starter Deployment).
func benchRotation(name string) *rotationsv1.LearningRotation {
	return testutil.Rotation(name).Mentors("mentor@example.com").Tracks(rotationsv1.TrackKubernetes).
		Size(rotationsv1.SizeSmall).Duration(336 * time.Hour).Obj()
}

// objectsPerLab is how many objects a lab needs: what the operator renders,
// plus the kubeconfig Secret.
func objectsPerLab(catalog []rotationsv1.Exercise) (int, error) {
	objs, err := controllers.DesiredObjects(benchRotation("x"), catalog)
	return len(objs) + 1, err
}

// rawResult is one raw-ceiling run.
type rawResult struct {
	n, workers int
	qps        float64
	objects    int
	tokens     int
	retries    int64
	elapsed    time.Duration
	// cpu is the control plane's CPU time over the run, by process
	// (cpuList's form: a string keeps rawResult comparable).
	cpu string
}

func (r rawResult) rate() float64 { return float64(r.objects) / r.elapsed.Seconds() }

// runRaw creates, with a plain client and a pool of workers, every object n
// labs need, rendered by the operator's own code. The rotations themselves
// are created first and not timed: the objects' owner references need their
// UIDs, and a mentor creates them for the operator too. Creation goes in
// three waves, as dependencies require (see wave): namespaces and
// ClusterRoles; the other lab objects and instructions; then RoleBindings,
// the kubeconfig Secret (a TokenRequest for the learner ServiceAccount, then
// the Secret) and the starter Deployments. Objects created before quota admission knows the
// lab's ResourceQuota usage are refused by the apiserver ("status unknown
// for quota") and retried, as any client must.
func runRaw(ctx context.Context, e *env, catalog []rotationsv1.Exercise, prefix string, n, workers int, qps float64) (rawResult, error) {
	res := rawResult{n: n, workers: workers, qps: qps}
	lrs, err := createRotations(ctx, e.admin, prefix, n)
	if err != nil {
		return res, err
	}
	cfg := rest.CopyConfig(e.raw)
	cfg.QPS, cfg.Burst = float32(qps), int(max(qps*1.5, 1))
	if qps > 0 { // one limiter for all the client's resource types, as the operator has
		cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(cfg.QPS, cfg.Burst)
	}
	c, err := client.New(cfg, client.Options{Scheme: operator.Scheme()})
	if err != nil {
		return res, err
	}
	var waves [3][]func(context.Context) error
	create := func(obj client.Object) func(context.Context) error {
		return func(ctx context.Context) error {
			return retryQuota(ctx, &res.retries, func() error { return c.Create(ctx, obj) })
		}
	}
	for _, lr := range lrs {
		objs, err := controllers.DesiredObjects(lr, catalog)
		if err != nil {
			return res, err
		}
		for _, obj := range objs {
			res.objects++
			waves[wave(obj)] = append(waves[wave(obj)], create(obj))
		}
		res.objects++
		res.tokens++
		waves[2] = append(waves[2], func(ctx context.Context) error {
			return retryQuota(ctx, &res.retries, func() error { return rawKubeconfig(ctx, c, cfg, lr) })
		})
	}
	cpu0 := childCPU()
	start := time.Now()
	for _, wave := range waves {
		if err := runPool(ctx, workers, wave); err != nil {
			return res, err
		}
	}
	res.elapsed = time.Since(start)
	res.cpu = cpuList(cpuSince(cpu0))
	return res, nil
}

// wave orders creation by dependency: a binding's role must exist before
// the binding (the apiserver reads it for the escalation check), namespaced
// objects need their namespace, and the kubeconfig needs the ServiceAccount.
func wave(obj client.Object) int {
	switch obj.(type) {
	case *corev1.Namespace, *rbacv1.ClusterRole:
		return 0
	case *rbacv1.RoleBinding, *unstructured.Unstructured:
		return 2
	default:
		return 1
	}
}

// rawKubeconfig is what the operator does for the kubeconfig: a
// TokenRequest, then the Secret holding the kubeconfig.
func rawKubeconfig(ctx context.Context, c client.Client, cfg *rest.Config, lr *rotationsv1.LearningRotation) error {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: lab.LearnerServiceAccount, Namespace: lab.Namespace(lr.Name)}}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(8 * 3600))}}
	if err := c.SubResource("token").Create(ctx, sa, tr); err != nil {
		return err
	}
	kc, err := lab.Kubeconfig(cfg.Host, cfg.CAData, lr.Name, tr.Status.Token)
	if err != nil {
		return err
	}
	now, expires := time.Now(), tr.Status.ExpirationTimestamp.Time
	return c.Create(ctx, controllers.KubeconfigSecret(lr, kc, expires, now.Add(expires.Sub(now)*2/3)))
}

// retryQuota retries f while quota admission cannot yet account for the
// object ("status unknown for quota": kube-controller-manager has not
// computed the new ResourceQuota's usage yet).
func retryQuota(ctx context.Context, retries *int64, f func() error) error {
	for {
		err := f()
		if err == nil || !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "status unknown for quota") {
			return err
		}
		atomic.AddInt64(retries, 1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// runPool runs tasks on workers goroutines and returns the first error.
func runPool(ctx context.Context, workers int, tasks []func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan func(context.Context) error)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range ch {
				if err := t(ctx); err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		}()
	}
	for _, t := range tasks {
		select {
		case ch <- t:
		case <-ctx.Done():
		}
	}
	close(ch)
	wg.Wait()
	return firstErr
}

// createRotations creates n bench rotations named prefix-000... with 16
// parallel clients, and returns them with their UIDs.
func createRotations(ctx context.Context, c client.Client, prefix string, n int) ([]*rotationsv1.LearningRotation, error) {
	lrs := make([]*rotationsv1.LearningRotation, n)
	tasks := make([]func(context.Context) error, n)
	for i := range n {
		lrs[i] = benchRotation(fmt.Sprintf("%s-%03d", prefix, i))
		tasks[i] = func(ctx context.Context) error { return c.Create(ctx, lrs[i]) }
	}
	return lrs, runPool(ctx, 16, tasks)
}
