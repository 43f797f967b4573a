package controllers_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tf "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// jobLabPrefix: the suite's Terraform grader sends labs named so to runner
// Jobs (cluster mode) and every other lab to the local sandbox.
const jobLabPrefix = "lab-tfjob"

// routingExecutor lets one operator exercise both executors.
type routingExecutor struct{ local, job tf.Executor }

func (r routingExecutor) Execute(ctx context.Context, req tf.Request) (map[string]any, error) {
	if strings.HasPrefix(req.Namespace, jobLabPrefix) {
		start := time.Now()
		facts, err := r.job.Execute(ctx, req)
		ranPods.Lock()
		ranPods.jobs = append(ranPods.jobs, time.Since(start))
		ranPods.Unlock()
		return facts, err
	}
	return r.local.Execute(ctx, req)
}

// runnerJobExecutor is the cluster-mode executor as the operator runs it:
// with the operator's identity (its ClusterRole and the runner guard
// apply), and runner pods the test's pod runtime executes.
func runnerJobExecutor(cfg *rest.Config) (*tf.JobExecutor, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &tf.JobExecutor{
		Client: cs,
		Job: tf.JobOptions{
			Image:          runnerImage,
			PodAnnotations: map[string]string{localcluster.RuntimeAnnotation: localcluster.RuntimeHarness},
		},
		PollInterval: 200 * time.Millisecond,
	}, nil
}

// runnerImage names the image the runner pods would run; the pod runtime
// below maps its paths onto this machine.
const runnerImage = "ghcr.io/handson-dev/rotation-operator:e2e"

// ranPods records the runner pods the pod runtime executed.
var ranPods struct {
	sync.Mutex
	pods []string // namespace/name serviceAccount
	// runs are the runner processes' durations, jobs the executor's
	// (Job created to facts read).
	runs, jobs []time.Duration
}

// runRunnerPod plays kubelet and container runtime for a runner pod on the
// fake node: it lays out the pod's volumes as the kubelet would (the
// ConfigMap's files, an empty scratch dir, a ServiceAccount token bound to
// the pod), maps the image's paths (/manager, terraform, the mirror) onto
// this machine, and runs the container's command with the container's
// arguments and environment. Nothing of the operator's process leaks in:
// the runner authenticates with the learner token only.
func runRunnerPod(cs kubernetes.Interface, cfg *rest.Config, terraformBin, mirror string) localcluster.PodRunFunc {
	return func(ctx context.Context, pod *corev1.Pod, stdout, stderr io.Writer) int32 {
		fail := func(err error) int32 {
			fmt.Fprintln(stderr, "pod runtime:", err)
			return 128
		}
		self, err := os.Executable()
		if err != nil {
			return fail(err)
		}
		root, err := os.MkdirTemp("", "runner-pod-")
		if err != nil {
			return fail(err)
		}
		defer os.RemoveAll(root)
		c := pod.Spec.Containers[0]
		// The image's filesystem, as far as the runner uses it.
		paths := map[string]string{"/manager": self, "/usr/local/bin/terraform": terraformBin, "/opt/terraform/mirror": mirror}
		volumes := map[string]corev1.Volume{}
		for _, v := range pod.Spec.Volumes {
			volumes[v.Name] = v
		}
		saDir := ""
		for _, m := range c.VolumeMounts {
			dir := filepath.Join(root, "volumes", m.Name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fail(err)
			}
			v := volumes[m.Name]
			switch {
			case v.ConfigMap != nil:
				cm, err := cs.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, v.ConfigMap.Name, metav1.GetOptions{})
				if err != nil {
					return fail(fmt.Errorf("volume %s: %w", m.Name, err))
				}
				for k, data := range cm.Data {
					if err := os.WriteFile(filepath.Join(dir, k), []byte(data), 0o444); err != nil {
						return fail(err)
					}
				}
			case v.EmptyDir != nil:
			case v.Projected != nil:
				saDir = dir
				continue // mounted by the token below, not by path
			default:
				return fail(fmt.Errorf("volume %s: unsupported source", m.Name))
			}
			paths[m.MountPath] = dir
		}
		if saDir == "" {
			// envtest's apiserver does not run the ServiceAccount admission
			// plugin, so no token volume was added: mount one as it would.
			saDir = filepath.Join(root, "volumes", "kube-api-access")
			if err := os.MkdirAll(saDir, 0o755); err != nil {
				return fail(err)
			}
		}
		tr, err := cs.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, pod.Spec.ServiceAccountName, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{
				ExpirationSeconds: ptr.To[int64](3600),
				BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			return fail(fmt.Errorf("token for %s: %w", pod.Spec.ServiceAccountName, err))
		}
		for name, data := range map[string][]byte{"token": []byte(tr.Status.Token), "ca.crt": cfg.CAData, "namespace": []byte(pod.Namespace)} {
			if err := os.WriteFile(filepath.Join(saDir, name), data, 0o444); err != nil {
				return fail(err)
			}
		}
		remap := func(s string) string {
			for from, to := range paths {
				if s == from || strings.HasPrefix(s, from+"/") {
					return to + strings.TrimPrefix(s, from)
				}
			}
			return s
		}
		args := []string{}
		for _, a := range c.Args {
			if k, v, ok := strings.Cut(a, "="); ok {
				a = k + "=" + remap(v)
			}
			args = append(args, a)
		}
		args = append(args, "--service-account-dir="+saDir)
		u, err := url.Parse(cfg.Host)
		if err != nil {
			return fail(err)
		}
		env := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "KUBERNETES_SERVICE_HOST=" + u.Hostname(), "KUBERNETES_SERVICE_PORT=" + u.Port()}
		for _, e := range c.Env {
			env = append(env, e.Name+"="+remap(e.Value))
		}
		cmd := exec.CommandContext(ctx, remap(c.Command[0]), args...)
		cmd.Env = env
		cmd.Dir = "/"
		cmd.Stdout, cmd.Stderr = stdout, stderr
		start := time.Now()
		err = cmd.Run()
		ranPods.Lock()
		ranPods.pods = append(ranPods.pods, pod.Namespace+"/"+pod.Name+" "+pod.Spec.ServiceAccountName)
		ranPods.runs = append(ranPods.runs, time.Since(start))
		ranPods.Unlock()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			return int32(ee.ExitCode())
		case err != nil:
			return fail(err)
		}
		return 0
	}
}

// TestTerraformExerciseThroughARunnerJob is cluster mode end to end: the
// same learner work as test/e2e's TestTerraformExerciseThroughTheOperator, graded by
// runner Jobs the operator creates in the lab, run as the learner, with
// the facts read from the runner pod's log through the apiserver. Only the
// container runtime is the test's (kwok runs no containers).
func TestTerraformExerciseThroughARunnerJob(t *testing.T) {
	ranPods.Lock()
	before, beforeJobs := len(ranPods.pods), len(ranPods.jobs)
	ranPods.Unlock()
	env.DoTerraformBasics(t, "tfjob")

	ranPods.Lock()
	ran := append([]string(nil), ranPods.pods[before:]...)
	t.Logf("runner processes took %v; the executor, Job created to facts read, %v", ranPods.runs[before:], ranPods.jobs[beforeJobs:])
	ranPods.Unlock()
	if len(ran) == 0 {
		t.Fatal("graded without a runner pod")
	}
	for _, p := range ran {
		if !strings.HasPrefix(p, jobLabPrefix+"/terraform-terraform-basics-") || !strings.HasSuffix(p, " learner") {
			t.Errorf("runner pod %q: want one in %s, as the learner", p, jobLabPrefix)
		}
	}
	// Runner Jobs are removed once read; their submission copies go with
	// them (garbage collection).
	testutil.Eventually(t, time.Minute, func(ctx context.Context) error {
		jobs := &batchv1.JobList{}
		cms := &corev1.ConfigMapList{}
		if err := admin.List(ctx, jobs, client.InNamespace(jobLabPrefix)); err != nil {
			return err
		}
		if err := admin.List(ctx, cms, client.InNamespace(jobLabPrefix), client.MatchingLabels{tf.LabelComponent: tf.ComponentRunner}); err != nil {
			return err
		}
		if len(jobs.Items)+len(cms.Items) > 0 {
			return fmt.Errorf("%d runner Jobs and %d submission copies left", len(jobs.Items), len(cms.Items))
		}
		return nil
	})
}

// TestRunnerGuard: the operator's right to create Jobs stops at Terraform
// runner Jobs in its labs, run as the learner (config/policy/runner_guard.yaml).
func TestRunnerGuard(t *testing.T) {
	ctx := context.Background()
	createRotation(t, testutil.Rotation("guard").Obj())
	waitReady(t, "guard")
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: operatorUser}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	job := func(ns, sa string) *batchv1.Job {
		j, err := tf.JobFor(tf.JobOptions{Namespace: ns, Exercise: "terraform-basics", SubmissionConfigMap: "x", Image: runnerImage, ServiceAccount: sa, Digest: ns + sa})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	for _, c := range []struct {
		name string
		job  *batchv1.Job
	}{
		{"outside the labs", job("kube-system", "learner")},
		{"as another ServiceAccount", job("lab-guard", "default")},
		{"not a runner", func() *batchv1.Job {
			j := job("lab-guard", "learner")
			j.Labels[tf.LabelComponent] = "miner"
			return j
		}()},
	} {
		_, err := cs.BatchV1().Jobs(c.job.Namespace).Create(ctx, c.job, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) {
			t.Errorf("%s: %v, want the runner guard to refuse", c.name, err)
		}
	}
	if _, err := cs.BatchV1().Jobs("lab-guard").Create(ctx, job("lab-guard", "learner"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Errorf("a runner Job in a lab, as the learner: %v", err)
	}
	// Nor may it delete a Job outside the labs.
	system := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "guard-system-job", Namespace: "default"},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "c", Image: "rotation.local/web:1.0"}},
		}}},
	}
	if err := admin.Create(ctx, system); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Delete(ctx, system, client.PropagationPolicy(metav1.DeletePropagationBackground)) }()
	err = cs.BatchV1().Jobs("default").Delete(ctx, system.Name, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
	if !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) {
		t.Errorf("deleting a Job outside the labs: %v, want the runner guard to refuse", err)
	}
}

// TestRunnerJobFailureIsReported: a runner that cannot start fails its Job,
// and the executor's error carries the Job's reason and the pod's log,
// read through the apiserver; the Job is cleaned up all the same.
func TestRunnerJobFailureIsReported(t *testing.T) {
	createRotation(t, testutil.Rotation("tfjob-fail").Obj())
	waitReady(t, "tfjob-fail")
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: operatorUser}
	ex, err := runnerJobExecutor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ex.Job.Command = "/no/such/runner"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err = ex.Execute(ctx, tf.Request{Namespace: "lab-tfjob-fail", Exercise: "terraform-basics", Files: map[string]string{"main.tf": "# nothing\n"}})
	if err == nil || !strings.Contains(err.Error(), "failed (") || !strings.Contains(err.Error(), "/no/such/runner") {
		t.Fatalf("error %v: want the Job's failure and the pod's log", err)
	}
	t.Logf("reported: %v", err)
	testutil.Eventually(t, time.Minute, func(ctx context.Context) error {
		jobs := &batchv1.JobList{}
		if err := admin.List(ctx, jobs, client.InNamespace("lab-tfjob-fail")); err != nil {
			return err
		}
		if len(jobs.Items) > 0 {
			return fmt.Errorf("%d runner Jobs left", len(jobs.Items))
		}
		return nil
	})
}
