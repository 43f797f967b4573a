package install_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	tf "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/submission"
	"github.com/handson-dev/rotation-operator/internal/testutil"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// helmExercise: the learner solves helm-install as its instructions say,
// with the helm CLI and only the lab kubeconfig: the chart comes out of the
// exercise's ConfigMap, and its pods run the lab image on the node.
func (l *learner) helmExercise() {
	l.t.Helper()
	b64 := l.must("get", "configmap", "exercise-helm-install", "-o", `jsonpath={.data.web-0\.1\.0\.tgz\.b64}`)
	tgz, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(tgz) == 0 {
		l.t.Fatalf("the chart in the exercise's ConfigMap: %v (%d bytes)", err, len(tgz))
	}
	home := l.t.TempDir()
	chart := filepath.Join(home, "web-0.1.0.tgz")
	if err := os.WriteFile(chart, tgz, 0o600); err != nil {
		l.t.Fatal(err)
	}
	l.helm(home, "install", "hello", chart, "--set", "replicaCount=2", "--set", "service.port=8080", "--wait", "--timeout", "2m")
	l.waitExercise("helm-install", rotationsv1.ExercisePassed, 2*time.Minute)
}

// helm runs the helm CLI as the learner: the lab kubeconfig and an empty
// home, nothing of the admin's.
func (l *learner) helm(home string, args ...string) {
	l.t.Helper()
	paths, err := toolchain.Ensure(context.Background(), os.Stderr, toolchain.Helm)
	if err != nil {
		l.t.Fatal(err)
	}
	cmd := exec.Command(paths.Helm, args...)
	cmd.Dir = home
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home, "KUBECONFIG=" + l.kubeconfig,
		"HELM_CACHE_HOME=" + filepath.Join(home, "cache"), "HELM_CONFIG_HOME=" + filepath.Join(home, "config"), "HELM_DATA_HOME=" + filepath.Join(home, "data")}
	if out, err := cmd.CombinedOutput(); err != nil {
		l.t.Fatalf("learner helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// terraformExercise: the learner applies the terraform-basics reference
// solution with their own terraform and the lab kubeconfig and hands it in
// as `kubectl rotation submit` does; the operator in its pod grades it
// with a runner Job (--terraform-executor=auto: job), whose pod runs the
// operator image in containerd on the node, to full points.
func (l *learner) terraformExercise() {
	l.t.Helper()
	const exercise = "terraform-basics"
	runners := l.watchRunnerPods()
	paths, err := toolchain.Ensure(context.Background(), os.Stderr, toolchain.TerraformProviderKubernetes)
	if err != nil {
		l.t.Fatal(err)
	}
	home := l.t.TempDir()
	rc := filepath.Join(home, ".terraformrc")
	if err := os.WriteFile(rc, []byte(tf.CLIConfig(paths.TerraformProviderMirror)), 0o600); err != nil {
		l.t.Fatal(err)
	}
	work := filepath.Join(home, "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		l.t.Fatal(err)
	}
	solution := testutil.TerraformSolution(l.t, exercise, l.ns)
	for name, content := range solution {
		if err := os.WriteFile(filepath.Join(work, name), []byte(content), 0o600); err != nil {
			l.t.Fatal(err)
		}
	}
	l.terraform(work, rc, "init", "-input=false", "-no-color")
	l.terraform(work, rc, "apply", "-auto-approve", "-input=false", "-no-color")
	b, err := yaml.Marshal(submission.ConfigMap(l.ns, exercise, solution, time.Now()))
	if err != nil {
		l.t.Fatal(err)
	}
	l.apply(string(b))
	testutil.Eventually(l.t, 4*time.Minute, func(ctx context.Context) error {
		e, err := l.exercise(ctx, exercise)
		if err != nil {
			return err
		}
		if e.Submission == nil || e.State != rotationsv1.ExercisePassed || e.Points != e.MaxPoints {
			return fmt.Errorf("state %s, %d/%d points, checks %+v", e.State, e.Points, e.MaxPoints, e.Checks)
		}
		return nil
	})
	pods := runners()
	var ran []string
	for _, p := range pods {
		if p.Spec.NodeName != localcluster.RealNodeName {
			continue
		}
		for _, cs := range p.Status.ContainerStatuses {
			if t := cs.State.Terminated; t != nil && t.ExitCode == 0 && strings.HasPrefix(cs.ContainerID, "containerd://") {
				ran = append(ran, fmt.Sprintf("%s (%s)", p.Name, cs.Image))
			}
		}
	}
	if len(ran) == 0 {
		l.t.Fatalf("graded without a runner pod run to completion on %s; runner pods seen: %d", localcluster.RealNodeName, len(pods))
	}
	l.t.Logf("terraform-basics graded by runner pods %s", strings.Join(ran, ", "))
}

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

// watchRunnerPods records the last state of every runner pod in the lab
// until the returned func is called: the operator deletes a runner Job as
// soon as it has read its facts, so only a watch sees its pod finish.
func (l *learner) watchRunnerPods() (stop func() []corev1.Pod) {
	l.t.Helper()
	w, err := clientset(l.t).CoreV1().Pods(l.ns).Watch(context.Background(), metav1.ListOptions{
		LabelSelector: tf.LabelComponent + "=" + tf.ComponentRunner,
	})
	if err != nil {
		l.t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		last = map[string]corev1.Pod{}
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type != watch.Error {
				mu.Lock()
				last[p.Name] = *p
				mu.Unlock()
			}
		}
	}()
	stopped := false
	stop = func() []corev1.Pod {
		if !stopped {
			stopped = true
			w.Stop()
			<-done
		}
		mu.Lock()
		defer mu.Unlock()
		var out []corev1.Pod
		for _, p := range last {
			out = append(out, p)
		}
		return out
	}
	l.t.Cleanup(func() { stop() })
	return stop
}

func (l *learner) exercise(ctx context.Context, name string) (rotationsv1.ExerciseResult, error) {
	var lr rotationsv1.LearningRotation
	if err := admin(l.t).Get(ctx, client.ObjectKey{Name: l.rotation}, &lr); err != nil {
		return rotationsv1.ExerciseResult{}, err
	}
	for _, e := range lr.Status.Exercises {
		if e.Name == name {
			return e, nil
		}
	}
	return rotationsv1.ExerciseResult{}, fmt.Errorf("no result for %s yet", name)
}
