package localcluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func newNamespace(t *testing.T, c client.Client, name string) string {
	t.Helper()
	if err := c.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
	return name
}

// job is a run-once Job (restartPolicy Never, backoffLimit 0) whose pods
// the harness runs when harness is set, and kwok completes otherwise.
func job(ns, name string, harness bool, containers ...string) *batchv1.Job {
	var ann map[string]string
	if harness {
		ann = map[string]string{RuntimeAnnotation: RuntimeHarness}
	}
	var cs []corev1.Container
	for _, n := range containers {
		cs = append(cs, corev1.Container{Name: n, Image: "rotation.local/web:1.0"})
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Annotations: ann},
				Spec:       corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: cs},
			},
		},
	}
}

// waitJob waits until the Job has condition (Complete or Failed) true, and
// fails if it gets the other one.
func waitJob(t *testing.T, c client.Client, j *batchv1.Job, want batchv1.JobConditionType) {
	t.Helper()
	eventually(t, 60*time.Second, "job "+j.Name+" "+string(want), func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(j), j); err != nil {
			return false, err
		}
		for _, cond := range j.Status.Conditions {
			if cond.Status != corev1.ConditionTrue {
				continue
			}
			switch cond.Type {
			case want:
				return true, nil
			case batchv1.JobComplete, batchv1.JobFailed:
				return false, fmt.Errorf("job %s is %s (%s: %s), want %s", j.Name, cond.Type, cond.Reason, cond.Message, want)
			}
		}
		return false, nil
	})
}

// jobPod returns the one pod of a Job.
func jobPod(t *testing.T, c client.Client, j *batchv1.Job) *corev1.Pod {
	t.Helper()
	var pods corev1.PodList
	if err := c.List(t.Context(), &pods, client.InNamespace(j.Namespace), client.MatchingLabels{"job-name": j.Name}); err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 {
		t.Fatalf("job %s: want 1 pod, got %d", j.Name, len(pods.Items))
	}
	return &pods.Items[0]
}

// podLog reads a container's log the way the operator does: pods/log on
// kube-apiserver, which proxies to the node's kubelet API (kwok).
func podLog(t *testing.T, pod *corev1.Pod, container string) string {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cs.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: container}).DoRaw(t.Context())
	if err != nil {
		t.Fatalf("logs of %s/%s: %v (%s)", pod.Name, container, err, b)
	}
	return string(b)
}

func checkTerminated(t *testing.T, pod *corev1.Pod, phase corev1.PodPhase, exit int32, reason string) {
	t.Helper()
	if pod.Status.Phase != phase {
		t.Errorf("pod %s phase %s, want %s", pod.Name, pod.Status.Phase, phase)
	}
	if len(pod.Status.ContainerStatuses) != len(pod.Spec.Containers) {
		t.Fatalf("pod %s: %d container statuses for %d containers", pod.Name, len(pod.Status.ContainerStatuses), len(pod.Spec.Containers))
	}
	for _, st := range pod.Status.ContainerStatuses {
		term := st.State.Terminated
		if term == nil || term.ExitCode != exit || term.Reason != reason {
			t.Errorf("pod %s container %s: state %+v, want terminated with exit code %d (%s)", pod.Name, st.Name, st.State, exit, reason)
		}
	}
}

// runPods starts RunPods for the test and checks at cleanup that it stops
// without errors.
func runPods(t *testing.T, run PodRunFunc) (stop func() error) {
	t.Helper()
	stop, err := cluster.RunPods(t.Context(), run)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("RunPods: %v", err)
		}
	})
	return stop
}

// The harness runs annotated Job pods: their output reaches the pods/log
// API through kube-apiserver and kwok, and their exit code decides whether
// KCM's Job controller marks the Job Complete or Failed. A Job without the
// annotation is still completed by kwok's own stage, without a run.
func TestRunPodsJobs(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c, "runtime-jobs")

	var mu sync.Mutex
	ran := map[string]int{} // job name -> runs
	runPods(t, func(_ context.Context, pod *corev1.Pod, stdout, stderr io.Writer) int32 {
		jobName := pod.Labels["job-name"]
		mu.Lock()
		ran[jobName]++
		mu.Unlock()
		fmt.Fprintf(stdout, "hello from %s\n", pod.Name)
		fmt.Fprintf(stderr, "warning: %s is fake\n", pod.Name)
		if jobName == "fails" {
			fmt.Fprint(stdout, "exiting 1") // no newline: a partial line
			return 1
		}
		fmt.Fprintln(stdout, "bye")
		return 0
	})

	ok := job(ns, "succeeds", true, "main", "second")
	fails := job(ns, "fails", true, "main")
	plain := job(ns, "plain", false, "main")
	for _, j := range []*batchv1.Job{ok, fails, plain} {
		if err := c.Create(t.Context(), j); err != nil {
			t.Fatal(err)
		}
	}
	waitJob(t, c, ok, batchv1.JobComplete)
	waitJob(t, c, fails, batchv1.JobFailed)
	waitJob(t, c, plain, batchv1.JobComplete)

	pod := jobPod(t, c, ok)
	checkTerminated(t, pod, corev1.PodSucceeded, 0, "Completed")
	want := fmt.Sprintf("hello from %s\nwarning: %s is fake\nbye\n", pod.Name, pod.Name)
	for _, ct := range []string{"main", "second"} {
		if got := podLog(t, pod, ct); got != want {
			t.Errorf("log of %s/%s = %q, want %q", pod.Name, ct, got, want)
		}
	}

	pod = jobPod(t, c, fails)
	checkTerminated(t, pod, corev1.PodFailed, 1, "Error")
	want = fmt.Sprintf("hello from %s\nwarning: %s is fake\nexiting 1", pod.Name, pod.Name)
	if got := podLog(t, pod, "main"); got != want {
		t.Errorf("log of failed pod = %q, want %q", got, want)
	}

	checkTerminated(t, jobPod(t, c, plain), corev1.PodSucceeded, 0, "Completed")
	mu.Lock()
	defer mu.Unlock()
	if ran["succeeds"] != 1 || ran["fails"] != 1 || ran["plain"] != 0 {
		t.Errorf("runs per job: %v, want succeeds and fails once, plain never", ran)
	}
}

// kwok's pod-complete stage skips annotated pods (its jq selector handles
// the dotted, slashed annotation key): without RunPods such a Job pod stays
// Running, and a RunPods started later picks it up.
func TestRunPodsPicksUpRunningPod(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c, "runtime-late")
	j := job(ns, "waits", true, "main")
	if err := c.Create(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	var pod *corev1.Pod
	eventually(t, 60*time.Second, "pod Running", func(ctx context.Context) (bool, error) {
		var pods corev1.PodList
		if err := c.List(ctx, &pods, client.InNamespace(ns)); err != nil {
			return false, err
		}
		if len(pods.Items) != 1 {
			return false, nil
		}
		switch phase := pods.Items[0].Status.Phase; phase {
		case corev1.PodRunning:
			pod = &pods.Items[0]
			return true, nil
		case corev1.PodSucceeded, corev1.PodFailed:
			return false, fmt.Errorf("harness pod is %s without a runtime", phase)
		}
		return false, nil
	})
	// kwok's stage acts within milliseconds; give it ample time to (wrongly)
	// complete the pod.
	time.Sleep(3 * time.Second)
	if err := c.Get(t.Context(), client.ObjectKeyFromObject(pod), pod); err != nil {
		t.Fatal(err)
	}
	if pod.Status.Phase != corev1.PodRunning {
		t.Fatalf("harness pod is %s without a runtime, want Running", pod.Status.Phase)
	}

	runPods(t, func(_ context.Context, _ *corev1.Pod, stdout, _ io.Writer) int32 {
		fmt.Fprintln(stdout, "late")
		return 0
	})
	waitJob(t, c, j, batchv1.JobComplete)
	if got := podLog(t, pod, "main"); got != "late\n" {
		t.Errorf("log = %q", got)
	}
}

// A pod deleted while it runs cancels its run, and that is no error.
func TestRunPodsPodDeletedMidRun(t *testing.T) {
	c := newClient(t)
	ns := newNamespace(t, c, "runtime-deleted")
	started := make(chan struct{})
	cancelled := make(chan struct{})
	stop := runPods(t, func(ctx context.Context, _ *corev1.Pod, stdout, _ io.Writer) int32 {
		fmt.Fprintln(stdout, "working")
		close(started)
		<-ctx.Done()
		close(cancelled)
		return 137
	})
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "doomed", Namespace: ns, Annotations: map[string]string{RuntimeAnnotation: RuntimeHarness}},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "main", Image: "rotation.local/web:1.0"}},
		},
	}
	if err := c.Create(t.Context(), pod); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(60 * time.Second):
		t.Fatal("pod never ran")
	}
	// The log is readable while the pod runs.
	eventually(t, 30*time.Second, "log while running", func(ctx context.Context) (bool, error) {
		cs, err := kubernetes.NewForConfig(cluster.Config)
		if err != nil {
			return false, err
		}
		b, err := cs.CoreV1().Pods(ns).GetLogs(pod.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
		return err == nil && string(b) == "working\n", nil
	})
	if err := c.Delete(t.Context(), pod); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cancelled:
	case <-time.After(30 * time.Second):
		t.Fatal("run not cancelled after the pod was deleted")
	}
	eventually(t, 30*time.Second, "pod gone", func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(pod), &corev1.Pod{})
		return apierrors.IsNotFound(err), nil
	})
	if err := stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	// stop released the cluster's runtime for the next RunPods.
	noop := func(context.Context, *corev1.Pod, io.Writer, io.Writer) int32 { return 0 }
	stop2, err := cluster.RunPods(t.Context(), noop)
	if err != nil {
		t.Fatalf("RunPods after stop: %v", err)
	}
	if err := stop2(); err != nil {
		t.Errorf("stop: %v", err)
	}
}

// The log file is in the CRI format: a line per output line, the stream,
// F for full lines and P for an unterminated last line.
func TestCRILogFormat(t *testing.T) {
	var buf bytes.Buffer
	l := &criLog{w: &buf}
	out, errs := l.stream("stdout"), l.stream("stderr")
	fmt.Fprint(out, "one\ntw")
	fmt.Fprint(errs, "oops\n")
	fmt.Fprint(out, "o\nthree")
	out.flush()
	errs.flush()
	got := regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z `).ReplaceAllString(buf.String(), "T ")
	want := "T stdout F one\nT stderr F oops\nT stdout F two\nT stdout P three\n"
	if got != want {
		t.Errorf("log:\n%s\nwant (timestamps as T):\n%s", buf.String(), want)
	}
	if strings.Count(buf.String(), "\n") != 4 {
		t.Errorf("want 4 lines")
	}
}
