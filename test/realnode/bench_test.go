package realnode_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/labimages"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// benchSamples is how many pods or labs each measure times.
const benchSamples = 20

// BenchmarkPodStartup: pod create → Ready on the real node and, side by
// side in the same run, on a fake (kwok) node, where nothing runs. Also
// reports the real node's Ready time (kubelet start → Ready). Run with
// -benchtime 1x: each iteration times benchSamples pods one after another.
func BenchmarkPodStartup(b *testing.B) {
	fake, err := localcluster.Start(context.Background(), localcluster.Options{Full: true, Node: localcluster.NodeFake})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = fake.Stop() }()
	fakeClient, err := client.New(fake.Config, client.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		run := time.Now().UnixNano() // -count reruns must not meet a terminating namespace
		realTimes := podStartups(b, admin, fmt.Sprintf("bench-real-%d", run))
		fakeTimes := podStartups(b, fakeClient, fmt.Sprintf("bench-fake-%d", run))
		rp50, rp99 := percentiles(realTimes)
		fp50, fp99 := percentiles(fakeTimes)
		b.ReportMetric(rp50.Seconds(), "real-p50-s")
		b.ReportMetric(rp99.Seconds(), "real-p99-s")
		b.ReportMetric(fp50.Seconds(), "fake-p50-s")
		b.ReportMetric(fp99.Seconds(), "fake-p99-s")
		b.ReportMetric(rp50.Seconds()/fp50.Seconds(), "real/fake-p50")
		b.ReportMetric(cluster.NodeReadyAfter.Seconds(), "node-ready-s")
	}
}

// podStartups creates benchSamples restricted web pods one at a time in a
// new namespace and returns each one's create → Ready time.
func podStartups(b *testing.B, c client.Client, ns string) []time.Duration {
	b.Helper()
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}) }()
	waitDefaultSA(b, c, ns)
	var times []time.Duration
	for i := 0; i < benchSamples; i++ {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Namespace: ns},
			Spec: corev1.PodSpec{
				TerminationGracePeriodSeconds: ptr.To[int64](1),
				SecurityContext:               &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
				Containers: []corev1.Container{{
					Name: "web", Image: labimages.Web10, ImagePullPolicy: corev1.PullIfNotPresent,
					ReadinessProbe:  &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(8080)}}},
					SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
				}},
			},
		}
		start := time.Now()
		if err := c.Create(ctx, pod); err != nil {
			b.Fatal(err)
		}
		err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			var p corev1.Pod
			if err := c.Get(ctx, client.ObjectKeyFromObject(pod), &p); err != nil {
				return false, nil
			}
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			b.Fatalf("pod %s/%s not Ready: %v", ns, pod.Name, err)
		}
		times = append(times, time.Since(start))
	}
	return times
}

// BenchmarkLabApplyToStarterRunning: a LearningRotation applied → the
// first starter pod (scale-and-expose's web) Running on the real node,
// through the operator's provisioning, for benchSamples labs one after
// another.
func BenchmarkLabApplyToStarterRunning(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		var times []time.Duration
		for j := 0; j < benchSamples/2; j++ {
			name := fmt.Sprintf("bench-%d-%d", time.Now().UnixNano()%1e9, j)
			lr := testutil.Rotation(name).Learner(name + "@example.com").Exercises("scale-and-expose").Obj()
			start := time.Now()
			if err := admin.Create(ctx, lr); err != nil {
				b.Fatal(err)
			}
			err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
				var pods corev1.PodList
				if err := admin.List(ctx, &pods, client.InNamespace(lab.Namespace(name)), client.MatchingLabels{"app": "web"}); err != nil {
					return false, nil
				}
				for _, p := range pods.Items {
					if p.Status.Phase == corev1.PodRunning {
						return true, nil
					}
				}
				return false, nil
			})
			if err != nil {
				b.Fatalf("lab %s: no starter pod Running: %v", name, err)
			}
			times = append(times, time.Since(start))
			_ = admin.Delete(ctx, lr)
		}
		p50, p99 := percentiles(times)
		b.ReportMetric(p50.Seconds(), "p50-s")
		b.ReportMetric(p99.Seconds(), "p99-s")
	}
}

func waitDefaultSA(b *testing.B, c client.Client, ns string) {
	b.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		return c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "default"}, &corev1.ServiceAccount{}) == nil, nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "no default ServiceAccount in", ns) // the fake cluster may run without the SA admission
	}
}

// percentiles returns the p50 and p99 (nearest rank) of ds.
func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.999999) - 1
		if i < 0 {
			i = 0
		}
		return s[i]
	}
	return rank(0.50), rank(0.99)
}
