package localcluster

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// startRealNode starts a cluster with the real node for one test, and
// returns the host snapshot taken before it, to compare after Stop.
func startRealNode(t *testing.T) (*Cluster, HostSnapshot) {
	t.Helper()
	if ok, why := RealNodeSupport(); !ok {
		t.Skip("this host cannot run the real node: " + why)
	}
	tools, err := toolchain.Ensure(context.Background(), os.Stderr, toolchain.Kubernetes, toolchain.Etcd, toolchain.KubeRouter)
	if err != nil {
		t.Fatal(err)
	}
	archives, pause := testNodeImages(t)
	c, err := Start(context.Background(), Options{
		Full:       true,
		Node:       NodeReal,
		NodeImages: archives,
		PauseImage: pause,
		Tools:      &tools,
		Progress:   testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	before, ok := c.HostBaseline()
	if !ok {
		t.Fatal("a real-node cluster has no host baseline")
	}
	return c, before
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// webCommand runs the web image's binary with args (its subcommands), or
// the image's own entrypoint when there are none.
func webCommand(args []string) []string {
	if len(args) == 0 {
		return nil
	}
	return []string{"/web"}
}

// restrictedPod is a pod spec that Pod Security "restricted" admits.
func restrictedPod(image string, args ...string) corev1.PodSpec {
	return corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		TerminationGracePeriodSeconds: ptr.To[int64](2),
		Containers: []corev1.Container{{
			Name: "main", Image: image, Args: args, ImagePullPolicy: corev1.PullIfNotPresent,
			Command: webCommand(args),
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
		}},
	}
}

func TestRealNodeRunsPodsAndLeavesTheHostClean(t *testing.T) {
	c, before := startRealNode(t)
	stopped := false
	defer func() {
		if !stopped {
			_ = c.Stop()
		}
	}()
	ctx := context.Background()
	cl, err := client.New(c.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(c.Config)
	kubectl := func(args ...string) (string, error) {
		out, err := exec.Command("kubectl", append([]string{"--kubeconfig", c.KubeconfigPath, "-n", "probe"}, args...)...).CombinedOutput()
		return string(out), err
	}

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "probe", Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}
	if err := cl.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	waitSA(t, cl, "probe")

	// A Deployment turns Available because its container runs and answers
	// its readiness probe.
	spec := restrictedPod(testWebImage)
	spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080}}
	spec.Containers[0].ReadinessProbe = &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(8080)}}}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "probe"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: spec},
		},
	}
	defer func() {
		if t.Failed() {
			out, _ := kubectl("get", "pods,jobs,events", "-o", "wide")
			t.Log(out)
		}
	}()
	created := time.Now()
	if err := cl.Create(ctx, dep); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 60*time.Second, "Deployment web available", func() (bool, string) {
		var d appsv1.Deployment
		if err := cl.Get(ctx, client.ObjectKeyFromObject(dep), &d); err != nil {
			return false, err.Error()
		}
		return d.Status.AvailableReplicas == 2, fmt.Sprintf("%d available", d.Status.AvailableReplicas)
	})
	t.Logf("Deployment 2/2 available %s after create", time.Since(created).Round(10*time.Millisecond))

	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "probe"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	if err := cl.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	// exec through the apiserver and the kubelet; from inside the pod, the
	// Service's ClusterIP routes through kube-proxy's rules.
	waitUntil(t, 30*time.Second, "Service answers from a pod", func() (bool, string) {
		out, err := kubectl("exec", "deploy/web", "--", "/web", "get", "http://"+svc.Spec.ClusterIP+"/")
		return err == nil && strings.Contains(out, "Hello from web 1.0"), out
	})
	// logs through the apiserver: the requests above were logged.
	out, err := kubectl("logs", "deploy/web", "--tail=50")
	if err != nil || out == "" {
		t.Fatalf("kubectl logs: %v\n%s", err, out)
	}
	// port-forward to the Service from the host.
	pf := exec.Command("kubectl", "--kubeconfig", c.KubeconfigPath, "-n", "probe", "port-forward", "svc/web", "18089:80")
	if err := pf.Start(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, "port-forward answers", func() (bool, string) {
		resp, err := http.Get("http://127.0.0.1:18089/")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200, string(b)
	})
	_ = pf.Process.Kill()
	_ = pf.Wait()

	// A Job runs to completion; the Job controller sees it succeed.
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "job", Namespace: "probe"},
		Spec:       batchv1.JobSpec{BackoffLimit: ptr.To[int32](0), Template: corev1.PodTemplateSpec{Spec: restrictedPod(testWebImage, "sleep", "1s")}},
	}
	job.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
	if err := cl.Create(ctx, job); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 60*time.Second, "Job complete", func() (bool, string) {
		var j batchv1.Job
		if err := cl.Get(ctx, client.ObjectKeyFromObject(job), &j); err != nil {
			return false, err.Error()
		}
		return j.Status.Succeeded == 1, fmt.Sprintf("succeeded=%d failed=%d", j.Status.Succeeded, j.Status.Failed)
	})

	// Over its memory limit, a container is OOMKilled and says so.
	oom := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "oom", Namespace: "probe"}, Spec: restrictedPod(testWebImage, "alloc", "64Mi")}
	oom.Spec.RestartPolicy = corev1.RestartPolicyNever
	oom.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")}
	if err := cl.Create(ctx, oom); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 60*time.Second, "pod OOMKilled", func() (bool, string) {
		p, err := cs.CoreV1().Pods("probe").Get(ctx, "oom", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, s := range p.Status.ContainerStatuses {
			if s.State.Terminated != nil {
				return s.State.Terminated.Reason == "OOMKilled", s.State.Terminated.Reason
			}
		}
		return false, string(p.Status.Phase)
	})

	// An image that exists nowhere fails to pull, and says so.
	bad := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: "probe"}, Spec: restrictedPod(testWebImage + "-doesnotexist")}
	if err := cl.Create(ctx, bad); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 60*time.Second, "ErrImagePull", func() (bool, string) {
		p, err := cs.CoreV1().Pods("probe").Get(ctx, "bad", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, s := range p.Status.ContainerStatuses {
			if w := s.State.Waiting; w != nil {
				return w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff", w.Reason
			}
		}
		return false, string(p.Status.Phase)
	})

	stopped = true
	stopStart := time.Now()
	if err := c.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	t.Logf("stop with pods running: %s", time.Since(stopStart).Round(10*time.Millisecond))
	if diff := before.Diff(TakeHostSnapshot()); len(diff) > 0 {
		t.Fatalf("the host differs from before the node started:\n%s", strings.Join(diff, "\n"))
	}
}

// A crash (every node process SIGKILLed, no Stop) leaves shims, mounts,
// chains and cgroups behind; the cleanup the next start runs removes them.
func TestRealNodeCrashIsCleanedUp(t *testing.T) {
	c, before := startRealNode(t)
	ctx := context.Background()
	cl, err := client.New(c.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "crash"}}); err != nil {
		t.Fatal(err)
	}
	waitSA(t, cl, "crash")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "crash"}, Spec: restrictedPod(testWebImage)}
	if err := cl.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 60*time.Second, "pod running", func() (bool, string) {
		var p corev1.Pod
		if err := cl.Get(ctx, client.ObjectKeyFromObject(pod), &p); err != nil {
			return false, err.Error()
		}
		return p.Status.Phase == corev1.PodRunning, string(p.Status.Phase)
	})
	// A NetworkPolicy, so kube-router has ipsets to leave behind too.
	if err := cl.Create(ctx, labPolicy(t, lab.IngressPolicyName, "crash")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "kube-router's ipsets", func() (bool, string) {
		sets := ipsets()
		for _, s := range sets {
			if ownIPSet(s) {
				return true, ""
			}
		}
		return false, strings.Join(sets, " ")
	})

	// The crash: kill -9 the node's processes and forget the node, so Stop
	// only stops the control plane; the lock is released as by a dead
	// process.
	n := c.node
	for _, p := range n.procs {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
	c.node = nil
	n.lock.unlock()
	if err := c.Stop(); err != nil {
		t.Log("stop after crash:", err) // the work dir has busy mounts
	}
	left := before.Diff(TakeHostSnapshot())
	if len(left) == 0 {
		t.Fatal("a crashed node left nothing behind: the test does not crash it")
	}
	t.Logf("left by the crash: %d differences, e.g. %s", len(left), left[0])
	if !strings.Contains(strings.Join(left, "\n"), "ipset added: KUBE-") {
		t.Fatalf("the crash left no kube-router ipset: the cleanup of ipsets goes untested\n%s", strings.Join(left, "\n"))
	}

	lock, err := lockNode(true, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.unlock()
	if err := CleanupHost(testWriter{t}); err != nil {
		t.Fatal(err)
	}
	if diff := before.Diff(TakeHostSnapshot()); len(diff) > 0 {
		t.Fatalf("after the cleanup the host still differs:\n%s", strings.Join(diff, "\n"))
	}
	_ = os.RemoveAll(c.WorkDir)
}

func TestParseNodeMode(t *testing.T) {
	for _, s := range []string{"auto", "real", "fake"} {
		if m, err := ParseNodeMode(s); err != nil || string(m) != s {
			t.Errorf("%s: %v %v", s, m, err)
		}
	}
	for _, s := range []string{"", "REAL", "kwok", "real "} {
		if _, err := ParseNodeMode(s); err == nil || !strings.Contains(err.Error(), "want auto, real or fake") {
			t.Errorf("%q: want a clear error, got %v", s, err)
		}
	}
}

func TestSnapshotDiffNamesChanges(t *testing.T) {
	a := HostSnapshot{Sysctls: map[string]string{"kernel.panic": "1"}, Links: []string{"lo"}, Mounts: 3}
	b := HostSnapshot{Sysctls: map[string]string{"kernel.panic": "10"}, Links: []string{"lo", "rotation0"}, Mounts: 5, Cgroups: []string{"/sys/fs/cgroup/pids/kubepods"}}
	got := a.Diff(b)
	sort.Strings(got)
	want := []string{"cgroup added: /sys/fs/cgroup/pids/kubepods", "link added: rotation0", "mounts: 3 -> 5", "sysctl kernel.panic: 1 -> 10"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("diff = %q, want %q", got, want)
	}
	if d := a.Diff(a); len(d) != 0 {
		t.Fatalf("a snapshot differs from itself: %v", d)
	}
}

func waitSA(t *testing.T, cl client.Client, ns string) {
	t.Helper()
	waitUntil(t, 30*time.Second, "default ServiceAccount", func() (bool, string) {
		var sa corev1.ServiceAccount
		err := cl.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "default"}, &sa)
		return err == nil, fmt.Sprint(err)
	})
}

func waitUntil(t *testing.T, timeout time.Duration, what string, f func() (bool, string)) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		ok, s := f()
		last = s
		return ok, nil
	})
	if err != nil {
		t.Fatalf("%s: not after %s (last: %s)", what, timeout, last)
	}
}
