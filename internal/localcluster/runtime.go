package localcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// Pods annotated RuntimeAnnotation=RuntimeHarness are run by the test
// harness (RunPods) instead of being completed by kwok. kwok runs no
// containers: on its own it marks every Running Job pod Succeeded at once,
// with no output. For such a pod, kwok's pod-complete stage is skipped (a
// pod with the annotation and any value), so the pod stays Running until
// RunPods has run it.
const (
	RuntimeAnnotation = "localcluster.handson.dev/runtime"
	RuntimeHarness    = "harness"
)

// PodRunFunc plays a pod's containers: it writes what they print to stdout
// and stderr (as a container would, line by line; a last line without a
// newline is kept as a partial line) and returns the exit code the pod's
// containers terminate with (0: Succeeded, else Failed). pod is a copy of the
// pod as it turned Running. ctx is cancelled when the pod is deleted or
// RunPods is stopped; the pod's status is then left alone.
type PodRunFunc func(ctx context.Context, pod *corev1.Pod, stdout, stderr io.Writer) (exitCode int32)

var kwokLogsGVR = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "logs"}

const (
	kwokLogsKind = "Logs"
	// runtimeFieldOwner is the server-side-apply field manager of the Logs
	// objects RunPods creates.
	runtimeFieldOwner = "localcluster-runtime"
	// logsVisibleTimeout bounds the wait for kwok to see a new Logs object.
	logsVisibleTimeout = 30 * time.Second
)

// RunPods makes the test harness the container runtime of the fake node,
// for pods annotated RuntimeAnnotation=RuntimeHarness (set it in a Job's pod
// template). kwok still plays the kubelet for them (scheduling, Running and
// Ready, deletion); RunPods does what a container runtime and the kubelet's
// status reporting would do once a pod is Running:
//
//   - calls run once per pod UID, concurrently across pods, with writers
//     that append to a CRI-format log file in the cluster's work dir, as a
//     container runtime does;
//   - creates a kwok Logs object (named after the pod, owned by it) pointing
//     kwok at that file for all of the pod's containers, so that the pod's
//     log is read the ordinary way: pods/log on kube-apiserver, which proxies
//     to the node's kubelet API, which is kwok's server. The output is
//     therefore readable while run is still writing;
//   - when run returns, waits until kwok serves the log, then sets the pod's
//     status as a kubelet would for containers that exited: phase Succeeded
//     (exit code 0) or Failed, each container terminated with that exit
//     code, reason Completed or Error, and Ready false.
//
// Pods that are already Running when RunPods starts are run too. A pod
// deleted mid-run has its run's context cancelled and is left alone; that is
// not an error. Only one RunPods may be active on a cluster at a time (a pod
// must not be run twice). Full clusters only.
//
// stop cancels the runs still going, waits for them to return and reports
// what went wrong on the way (creating Logs objects, writing logs, updating
// pod status, a panicking run); pods whose run was cancelled stay Running.
// Cancelling ctx stops RunPods too, but stop must still be called.
func (c *Cluster) RunPods(ctx context.Context, run PodRunFunc) (stop func() error, err error) {
	if c.kwokAddr == "" {
		return nil, errors.New("RunPods needs a Full cluster (kwok)")
	}
	c.runtimeMu.Lock()
	if c.runtimeActive {
		c.runtimeMu.Unlock()
		return nil, errors.New("RunPods is already active on this cluster")
	}
	c.runtimeActive = true
	c.runtimeMu.Unlock()
	release := func() {
		c.runtimeMu.Lock()
		c.runtimeActive = false
		c.runtimeMu.Unlock()
	}

	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		release()
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		release()
		return nil, err
	}
	logDir := filepath.Join(c.WorkDir, "pod-logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		release()
		return nil, err
	}

	ctx, cancel := context.WithCancel(ctx)
	r := &podRuntime{
		cs:       cs,
		logs:     dyn.Resource(kwokLogsGVR),
		run:      run,
		logDir:   logDir,
		kwokAddr: c.kwokAddr,
		ctx:      ctx,
		pods:     map[types.UID]context.CancelFunc{},
	}
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = "spec.nodeName=" + FakeNodeName
		}))
	podInformer := factory.Core().V1().Pods().Informer()
	if _, err := podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { r.observe(obj) },
		UpdateFunc: func(_, obj any) { r.observe(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				r.cancelPod(p.UID)
			}
		},
	}); err != nil {
		cancel()
		release()
		return nil, err
	}
	factory.Start(ctx.Done())

	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			factory.Shutdown() // waits for the informer's goroutines
			r.wg.Wait()
			release()
			r.mu.Lock()
			stopErr = errors.Join(r.errs...)
			r.mu.Unlock()
		})
		return stopErr
	}
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil, errors.Join(fmt.Errorf("RunPods: %v informer did not sync: %w", typ, context.Cause(ctx)), stop())
		}
	}
	return stop, nil
}

// podRuntime is the state of one RunPods.
type podRuntime struct {
	cs       kubernetes.Interface
	logs     dynamic.NamespaceableResourceInterface
	run      PodRunFunc
	logDir   string
	kwokAddr string
	ctx      context.Context

	wg   sync.WaitGroup
	mu   sync.Mutex
	pods map[types.UID]context.CancelFunc // started runs; nil once finished
	errs []error
}

// observe starts a run for a harness pod that turned Running, and cancels
// the run of a pod being deleted.
func (r *podRuntime) observe(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Annotations[RuntimeAnnotation] != RuntimeHarness {
		return
	}
	if pod.DeletionTimestamp != nil {
		r.cancelPod(pod.UID)
		return
	}
	if pod.Status.Phase != corev1.PodRunning {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, seen := r.pods[pod.UID]; seen || r.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(r.ctx)
	r.pods[pod.UID] = cancel
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer r.cancelPod(pod.UID)
		if err := r.runPod(ctx, pod.DeepCopy()); err != nil {
			r.mu.Lock()
			r.errs = append(r.errs, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err))
			r.mu.Unlock()
		}
	}()
}

// cancelPod cancels a pod's run, if one is going.
func (r *podRuntime) cancelPod(uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cancel := r.pods[uid]; cancel != nil {
		cancel()
		r.pods[uid] = nil
	}
}

// errPodGone says the pod was deleted (or replaced) meanwhile: not an error.
var errPodGone = errors.New("pod gone")

func (r *podRuntime) runPod(ctx context.Context, pod *corev1.Pod) error {
	path := filepath.Join(r.logDir, fmt.Sprintf("%s_%s_%s.log", pod.Namespace, pod.Name, pod.UID))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := r.applyLogs(ctx, pod, path); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("creating kwok Logs: %w", err)
	}

	log := &criLog{w: f}
	stdout, stderr := log.stream("stdout"), log.stream("stderr")
	started := metav1.Now()
	exit, panicErr := r.call(ctx, pod, stdout, stderr)
	stdout.flush()
	stderr.flush()
	errs := []error{panicErr}
	if log.err != nil {
		errs = append(errs, fmt.Errorf("writing log %s: %w", path, log.err))
	}
	if ctx.Err() != nil { // deleted, or RunPods stopped
		return errors.Join(errs...)
	}
	// Completing the pod before kwok serves its log would let a reader that
	// waits for completion find no log.
	if err := r.waitLogsServed(ctx, pod); err != nil {
		errs = append(errs, err)
	}
	if err := r.complete(ctx, pod.Namespace, pod.Name, pod.UID, exit, started); err != nil && !errors.Is(err, errPodGone) && ctx.Err() == nil {
		errs = append(errs, fmt.Errorf("updating status: %w", err))
	}
	return errors.Join(errs...)
}

// call runs r.run, turning a panic into exit code 2 (as Go programs exit)
// with the panic on stderr, and an error.
func (r *podRuntime) call(ctx context.Context, pod *corev1.Pod, stdout, stderr io.Writer) (exit int32, err error) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "panic: %v\n", p)
			exit, err = 2, fmt.Errorf("run panicked: %v", p)
		}
	}()
	return r.run(ctx, pod, stdout, stderr), nil
}

// applyLogs creates (or points at path) the kwok Logs object for pod. Owned
// by the pod, it is garbage-collected with it.
func (r *podRuntime) applyLogs(ctx context.Context, pod *corev1.Pod, path string) error {
	containers := make([]any, len(pod.Spec.Containers))
	for i, ct := range pod.Spec.Containers {
		containers[i] = ct.Name
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": kwokLogsGVR.GroupVersion().String(),
		"kind":       kwokLogsKind,
		"metadata": map[string]any{
			"name":      pod.Name,
			"namespace": pod.Namespace,
			"ownerReferences": []any{map[string]any{
				"apiVersion": "v1",
				"kind":       "Pod",
				"name":       pod.Name,
				"uid":        string(pod.UID),
			}},
		},
		"spec": map[string]any{
			"logs": []any{map[string]any{
				"containers": containers,
				"logsFile":   path,
			}},
		},
	}}
	_, err := r.logs.Namespace(pod.Namespace).Apply(ctx, pod.Name, u, metav1.ApplyOptions{FieldManager: runtimeFieldOwner, Force: true})
	return err
}

// waitLogsServed polls kwok's kubelet API (plain HTTP on the same port)
// until it serves the pod's first container's log, i.e. kwok's informer has
// seen the Logs object.
func (r *podRuntime) waitLogsServed(ctx context.Context, pod *corev1.Pod) error {
	if len(pod.Spec.Containers) == 0 {
		return nil
	}
	u := url.URL{
		Scheme: "http",
		Host:   r.kwokAddr,
		Path:   fmt.Sprintf("/containerLogs/%s/%s/%s", pod.Namespace, pod.Name, pod.Spec.Containers[0].Name),
		// Only the status matters.
		RawQuery: "limitBytes=1",
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	var last string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, logsVisibleTimeout, true, func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return false, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		_ = resp.Body.Close()
		last = fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(body))
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("kwok does not serve the log after %s (%s): %w", logsVisibleTimeout, last, err)
	}
	return nil
}

// complete sets the status a kubelet reports for a pod whose containers all
// exited with exit: as kwok's pod-complete stage does, plus Ready false.
func (r *podRuntime) complete(ctx context.Context, ns, name string, uid types.UID, exit int32, started metav1.Time) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pod, err := r.cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return errPodGone
		}
		if err != nil {
			return err
		}
		if pod.UID != uid || pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning {
			return errPodGone
		}
		setTerminated(pod, exit, started, metav1.Now())
		_, err = r.cs.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		if apierrors.IsNotFound(err) {
			return errPodGone
		}
		return err
	})
}

// setTerminated marks every container of pod terminated with exit and the
// pod Succeeded (exit 0) or Failed.
func setTerminated(pod *corev1.Pod, exit int32, started, finished metav1.Time) {
	phase, reason := corev1.PodSucceeded, "Completed"
	if exit != 0 {
		phase, reason = corev1.PodFailed, "Error"
	}
	old := map[string]corev1.ContainerStatus{}
	for _, st := range pod.Status.ContainerStatuses {
		old[st.Name] = st
	}
	statuses := make([]corev1.ContainerStatus, len(pod.Spec.Containers))
	for i, ct := range pod.Spec.Containers {
		st := old[ct.Name]
		st.Name, st.Image = ct.Name, ct.Image
		startedAt := started
		if st.State.Running != nil && !st.State.Running.StartedAt.IsZero() {
			startedAt = st.State.Running.StartedAt
		}
		st.Ready, st.Started = false, ptr.To(false)
		st.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode:   exit,
			Reason:     reason,
			StartedAt:  startedAt,
			FinishedAt: finished,
		}}
		statuses[i] = st
	}
	pod.Status.ContainerStatuses = statuses
	pod.Status.Phase = phase
	for i, cond := range pod.Status.Conditions {
		if (cond.Type == corev1.PodReady || cond.Type == corev1.ContainersReady) && cond.Status != corev1.ConditionFalse {
			pod.Status.Conditions[i].Status = corev1.ConditionFalse
			pod.Status.Conditions[i].Reason = "PodCompleted"
			pod.Status.Conditions[i].LastTransitionTime = finished
		}
	}
}

// criLog writes a container log file in the CRI format kubelets read (and
// kwok serves): one "<RFC3339Nano time> <stream> <F|P> <text>" line per
// output line, F for a full line, P for a partial one (output not ending in
// a newline).
type criLog struct {
	mu  sync.Mutex
	w   io.Writer
	err error // first write error
}

// criTimeFormat is the fixed-width RFC3339Nano container runtimes write.
const criTimeFormat = "2006-01-02T15:04:05.000000000Z07:00"

func (l *criLog) line(stream, tag string, text []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return
	}
	var b bytes.Buffer
	b.WriteString(time.Now().UTC().Format(criTimeFormat))
	b.WriteByte(' ')
	b.WriteString(stream)
	b.WriteByte(' ')
	b.WriteString(tag)
	b.WriteByte(' ')
	b.Write(text)
	b.WriteByte('\n')
	_, l.err = l.w.Write(b.Bytes())
}

func (l *criLog) stream(name string) *criStream { return &criStream{log: l, name: name} }

// criStream is one stream (stdout or stderr) of a criLog; it buffers an
// unfinished line until its newline arrives or flush.
type criStream struct {
	mu      sync.Mutex
	log     *criLog
	name    string
	pending []byte
}

func (s *criStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, p...)
	for {
		i := bytes.IndexByte(s.pending, '\n')
		if i < 0 {
			break
		}
		s.log.line(s.name, "F", s.pending[:i])
		s.pending = s.pending[i+1:]
	}
	s.pending = bytes.Clone(s.pending)
	return len(p), nil
}

// flush writes an unfinished last line as a partial one.
func (s *criStream) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) > 0 {
		s.log.line(s.name, "P", s.pending)
		s.pending = nil
	}
}
