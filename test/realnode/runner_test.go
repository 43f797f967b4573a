package realnode_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	tf "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
	"github.com/handson-dev/rotation-operator/internal/labimages"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/operatorimage"
	"github.com/handson-dev/rotation-operator/internal/submission"
	"github.com/handson-dev/rotation-operator/internal/testutil"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
	"github.com/handson-dev/rotation-operator/test/harness"
)

// runnerImage is the operator image on the real node: built by
// internal/operatorimage, imported into containerd with the lab images at
// start, and never pulled (a tag other than latest: IfNotPresent).
const runnerImage = "rotation.local/rotation-operator:test"

var (
	// terraformMirror is this machine's provider mirror, for the learner's
	// own terraform (the same provider binary as the image's).
	terraformMirror string
	// runnerExec is the suite operator's Terraform executor: runner Jobs.
	runnerExec *timedExecutor
	// runnerImageDigests are the built image's manifest and config
	// digests, one of which the kubelet reports as a container's imageID.
	runnerImageDigests []string
)

// nodeImages builds the lab images and the operator image and writes them
// into one archive in dir, for the real node's containerd to import.
func nodeImages(ctx context.Context, dir string) (string, error) {
	lab, err := labimages.Build(ctx, labimages.Options{})
	if err != nil {
		return "", fmt.Errorf("lab images: %w", err)
	}
	terraform, err := tf.FindTerraform("")
	if err != nil {
		return "", fmt.Errorf("the operator image needs terraform: %w", err)
	}
	start := time.Now()
	img, err := operatorimage.Build(ctx, operatorimage.Options{Terraform: terraform, Log: os.Stderr})
	if err != nil {
		return "", err
	}
	paths, err := toolchain.Ensure(ctx, os.Stderr, toolchain.TerraformProviderKubernetes)
	if err != nil {
		return "", err
	}
	terraformMirror = paths.TerraformProviderMirror
	archive := filepath.Join(dir, "node-images.tar")
	if err := operatorimage.WriteArchive(archive, runnerImage, img, lab...); err != nil {
		return "", err
	}
	size, err := imageSize(img)
	if err != nil {
		return "", err
	}
	manifest, err := img.Digest()
	if err != nil {
		return "", err
	}
	config, err := img.ConfigName()
	if err != nil {
		return "", err
	}
	runnerImageDigests = []string{manifest.String(), config.String()}
	fmt.Fprintf(os.Stderr, "operator image %s: %s, built (or cached) and archived in %s\n", runnerImage, size, time.Since(start).Round(100*time.Millisecond))
	return archive, nil
}

// imageSize is an image's compressed size: its layers as stored and
// pulled.
func imageSize(img v1.Image) (string, error) {
	m, err := img.Manifest()
	if err != nil {
		return "", err
	}
	var n int64
	for _, l := range m.Layers {
		n += l.Size
	}
	return fmt.Sprintf("%d layers, %.1f MiB compressed", len(m.Layers), float64(n)/(1<<20)), nil
}

// terraformCollector grades Terraform submissions as a deployed operator
// does (--terraform-executor=job): with runner Jobs in the lab, created
// with the operator's identity (its ClusterRole and the runner guard
// apply), running the operator image on the real node.
func terraformCollector(cluster *localcluster.Cluster) (*tf.Collector, error) {
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: harness.OperatorUser}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	runnerExec = &timedExecutor{next: &tf.JobExecutor{
		Client:       cs,
		Job:          tf.JobOptions{Image: runnerImage},
		PollInterval: 200 * time.Millisecond,
		Log:          ctrl.Log.WithName("terraform"),
	}}
	return tf.NewCollector(tf.Options{Executor: runnerExec, MaxConcurrent: 2, MaxWait: tf.DefaultMaxWait})
}

// timedExecutor records when each grading run started and ended.
type timedExecutor struct {
	next tf.Executor
	mu   sync.Mutex
	runs []executorRun
}

type executorRun struct {
	namespace  string
	start, end time.Time
	err        error
}

func (e *timedExecutor) Execute(ctx context.Context, req tf.Request) (map[string]any, error) {
	start := time.Now()
	facts, err := e.next.Execute(ctx, req)
	e.mu.Lock()
	e.runs = append(e.runs, executorRun{req.Namespace, start, time.Now(), err})
	e.mu.Unlock()
	return facts, err
}

func (e *timedExecutor) runsIn(ns string) []executorRun {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []executorRun
	for _, r := range e.runs {
		if r.namespace == ns {
			out = append(out, r)
		}
	}
	return out
}

// runnerPod is the last state seen of a runner pod.
type runnerPod struct {
	name, node, containerID, image, imageID string
	phase                                   corev1.PodPhase
	created, started, finished              time.Time
	exitCode                                int32
	terminated                              bool
	// When the watch first saw the pod, its container running and its
	// container terminated: sub-second, unlike the pod's timestamps.
	seen, seenRunning, seenTerminated time.Time
}

// watchRunnerPods records every runner pod of namespace ns until stop is
// called, with the last state seen (the deletion event carries the pod's
// final state: the Job is deleted as soon as its facts are read).
func watchRunnerPods(t *testing.T, ns string) (stop func() map[string]*runnerPod) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var (
		mu   sync.Mutex
		pods = map[string]*runnerPod{}
		done = make(chan struct{})
	)
	record := func(p *corev1.Pod) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		r := pods[string(p.UID)]
		if r == nil {
			r = &runnerPod{name: p.Name, created: p.CreationTimestamp.Time, seen: now}
			pods[string(p.UID)] = r
		}
		r.node, r.phase = p.Spec.NodeName, p.Status.Phase
		for _, c := range p.Status.ContainerStatuses {
			if c.Name != "runner" {
				continue
			}
			r.containerID, r.image, r.imageID = c.ContainerID, c.Image, c.ImageID
			if s := c.State.Running; s != nil {
				r.started = s.StartedAt.Time
				if r.seenRunning.IsZero() {
					r.seenRunning = now
				}
			}
			if s := c.State.Terminated; s != nil {
				r.started, r.finished, r.exitCode, r.terminated = s.StartedAt.Time, s.FinishedAt.Time, s.ExitCode, true
				if r.seenTerminated.IsZero() {
					r.seenTerminated = now
				}
			}
		}
	}
	selector := tf.LabelComponent + "=" + tf.ComponentRunner
	list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	for i := range list.Items {
		record(&list.Items[i])
	}
	rv := list.ResourceVersion
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: selector, ResourceVersion: rv, AllowWatchBookmarks: true})
			if err != nil {
				time.Sleep(200 * time.Millisecond)
				continue
			}
			for ev := range w.ResultChan() {
				if ev.Type == watch.Error {
					break
				}
				if p, ok := ev.Object.(*corev1.Pod); ok {
					rv = p.ResourceVersion
					if ev.Type != watch.Bookmark {
						record(p)
					}
				}
			}
			w.Stop()
		}
	}()
	return func() map[string]*runnerPod {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return pods
	}
}

// terraform runs the learner's terraform in dir with only the lab
// kubeconfig and the provider mirror.
func (l *learner) terraform(dir, rc string, args ...string) {
	l.t.Helper()
	bin, err := tf.FindTerraform("")
	if err != nil {
		l.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + filepath.Dir(rc), "TF_CLI_CONFIG_FILE=" + rc,
		"KUBE_CONFIG_PATH=" + l.kubeconfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1"}
	if out, err := cmd.CombinedOutput(); err != nil {
		l.t.Fatalf("learner terraform %s: %v\n%s", args[0], err, out)
	}
}

// TestTerraformGradedByRunnerPodsOnTheRealNode: the learner applies the
// terraform-basics reference solution with the lab kubeconfig, hands it
// in, and the exercise reaches full points graded by runner Jobs whose
// pods really ran the operator image (imported, never pulled) in
// containerd on the real node, as the learner, reaching the apiserver
// through the kubernetes Service.
func TestTerraformGradedByRunnerPodsOnTheRealNode(t *testing.T) {
	const exercise = "terraform-basics"
	l := provision(t, "tfrunner", exercise)
	stopWatch := watchRunnerPods(t, l.ns)
	stopped := false
	defer func() {
		if !stopped {
			stopWatch()
		}
	}()

	// The learner's work, with their own terraform and the lab kubeconfig.
	home := t.TempDir()
	rc := filepath.Join(home, ".terraformrc")
	if err := os.WriteFile(rc, []byte(tf.CLIConfig(terraformMirror)), 0o600); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(home, "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	solution := testutil.TerraformSolution(t, exercise, l.ns)
	for name, content := range solution {
		if err := os.WriteFile(filepath.Join(work, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	l.terraform(work, rc, "init", "-input=false", "-no-color")
	l.terraform(work, rc, "apply", "-auto-approve", "-input=false", "-no-color")
	// Its Deployment runs for real.
	l.must("rollout", "status", "deployment/tf-web", "--timeout=90s")

	// Handed in as `kubectl rotation submit` does: the submission ConfigMap,
	// applied as the learner.
	handedIn := time.Now()
	cm := submission.ConfigMap(l.ns, exercise, solution, handedIn)
	b, err := yaml.Marshal(cm)
	if err != nil {
		t.Fatal(err)
	}
	l.apply(string(b))

	var result rotationsv1.ExerciseResult
	testutil.Eventually(t, 4*time.Minute, func(ctx context.Context) error {
		e, err := l.exercise(ctx, exercise)
		if err != nil {
			return err
		}
		if e.Submission == nil || e.State != rotationsv1.ExercisePassed || e.Points != e.MaxPoints {
			return fmt.Errorf("state %s, %d/%d points, checks %+v", e.State, e.Points, e.MaxPoints, e.Checks)
		}
		result = e
		return nil
	})
	graded := time.Now()
	stopped = true
	pods := stopWatch()

	// Graded by runner pods only, which ran in containerd on the real node.
	runs := runnerExec.runsIn(l.ns)
	if len(runs) == 0 {
		t.Fatal("graded without a runner Job")
	}
	var ok []*runnerPod
	for _, p := range pods {
		if p.node != localcluster.RealNodeName || !strings.HasPrefix(p.containerID, "containerd://") {
			t.Errorf("runner pod %s: node %q container %q; want a containerd container on %s", p.name, p.node, p.containerID, localcluster.RealNodeName)
		}
		if p.image != runnerImage || !slices.ContainsFunc(runnerImageDigests, func(d string) bool { return strings.HasSuffix(p.imageID, d) }) {
			t.Errorf("runner pod %s ran %s (%s), want %s, the image built here (%s)", p.name, p.image, p.imageID, runnerImage, strings.Join(runnerImageDigests, " or "))
		}
		if p.terminated && p.exitCode == 0 {
			ok = append(ok, p)
		}
	}
	if len(ok) == 0 {
		t.Fatalf("no runner pod ran to completion; seen: %s", describeRunnerPods(pods))
	}
	for _, r := range runs {
		if r.err != nil {
			t.Logf("a grading run failed (graded again after): %v", r.err)
		}
	}
	t.Logf("full points (%d/%d) %s after handing in; %d runner Job(s): %s", result.Points, result.MaxPoints,
		graded.Sub(handedIn).Round(100*time.Millisecond), len(runs), describeRuns(runs, pods))

	// The runner Jobs and their submission copies are removed once read.
	testutil.Eventually(t, time.Minute, func(ctx context.Context) error {
		jobs := &batchv1.JobList{}
		if err := admin.List(ctx, jobs, client.InNamespace(l.ns)); err != nil {
			return err
		}
		if len(jobs.Items) > 0 {
			return fmt.Errorf("%d runner Jobs left", len(jobs.Items))
		}
		return nil
	})
}

// describeRuns pairs each grading run with the runner pod it waited for,
// in the times the watch saw them (the pod's own timestamps have a
// resolution of a second): Job created -> pod seen -> container seen
// running -> container seen terminated -> facts read.
func describeRuns(runs []executorRun, pods map[string]*runnerPod) string {
	var sorted []*runnerPod
	for _, p := range pods {
		sorted = append(sorted, p)
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].seen.Before(sorted[j].seen) })
	ms := func(d time.Duration) string { return d.Round(10 * time.Millisecond).String() }
	var b strings.Builder
	for _, r := range runs {
		fmt.Fprintf(&b, "\n  run %s from Job created to facts read", ms(r.end.Sub(r.start)))
		if r.err != nil {
			fmt.Fprintf(&b, ", failed: %v", r.err)
		}
		for _, p := range sorted {
			if p.seen.Before(r.start) || p.seen.After(r.end) || !p.terminated {
				continue
			}
			running := "not seen running"
			if !p.seenRunning.IsZero() {
				running = "running after " + ms(p.seenRunning.Sub(p.seen))
			}
			fmt.Fprintf(&b, ": pod %s seen after %s, %s, terminated after %s (exit %d), facts read after %s; container ran %s by its own timestamps",
				p.name, ms(p.seen.Sub(r.start)), running, ms(p.seenTerminated.Sub(p.seen)), p.exitCode, ms(r.end.Sub(p.seenTerminated)), p.finished.Sub(p.started))
		}
	}
	return b.String()
}

func describeRunnerPods(pods map[string]*runnerPod) string {
	var out []string
	for _, p := range pods {
		out = append(out, fmt.Sprintf("%s phase %s node %q container %q exit %d", p.name, p.phase, p.node, p.containerID, p.exitCode))
	}
	return strings.Join(out, "; ")
}
