package realnode_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/testutil"
	"github.com/handson-dev/rotation-operator/test/harness"
)

// probeTask runs the web image with one argument: "id" exits 0 and prints
// the pod's hostname, anything unknown exits 2. Steps name their command
// (the controller cannot look up an entrypoint in rotation.local, which
// does not resolve) and the restricted security context (the lab enforces
// Pod Security "restricted"; Tekton's own init containers get theirs from
// the set-security-context feature flag).
const probeTask = `apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: probe
spec:
  params:
  - name: arg
    type: string
  stepTemplate:
    securityContext:
      runAsNonRoot: true
      allowPrivilegeEscalation: false
      capabilities:
        drop: [ALL]
      seccompProfile:
        type: RuntimeDefault
  steps:
  - name: run
    image: rotation.local/web:1.0
    command: [/web]
    args: ["$(params.arg)"]
`

func probeRun(name, arg string) string {
	return fmt.Sprintf(`apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: %s
spec:
  serviceAccountName: %s
  timeout: 3m
  taskRef:
    name: probe
  params:
  - name: arg
    value: %s
`, name, lab.LearnerServiceAccount, arg)
}

// taskRun is what the test reads of a TaskRun, as the learner gets it.
type taskRun struct {
	Metadata struct {
		CreationTimestamp time.Time `json:"creationTimestamp"`
	} `json:"metadata"`
	Status struct {
		PodName        string     `json:"podName"`
		StartTime      *time.Time `json:"startTime"`
		CompletionTime *time.Time `json:"completionTime"`
		Conditions     []struct {
			Type, Status, Reason, Message string
		} `json:"conditions"`
		Steps []struct {
			Name       string `json:"name"`
			Terminated *struct {
				ExitCode   int       `json:"exitCode"`
				Reason     string    `json:"reason"`
				StartedAt  time.Time `json:"startedAt"`
				FinishedAt time.Time `json:"finishedAt"`
			} `json:"terminated"`
		} `json:"steps"`
	} `json:"status"`
}

// TestTektonTaskRunsAsLearner: Tekton Pipelines, built from the Go module
// proxy into rotation.local images, runs a learner's TaskRun as a real pod
// on the real node in the lab namespace (Pod Security restricted, the
// learner ServiceAccount, the lab quota): a passing step makes it
// Succeeded, a failing step Failed.
func TestTektonTaskRunsAsLearner(t *testing.T) {
	if cluster.Node != localcluster.NodeReal {
		t.Skip("needs the real node")
	}
	ctx := context.Background()
	tm, err := harness.InstallTekton(ctx, cluster, admin, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tekton install: tools %s, images %s, step image %s, import %s, step image import %s, apply %s, controller+webhook available %s",
		tm.Tools.Round(time.Millisecond), tm.Images.Round(time.Millisecond), tm.StepImage.Round(time.Millisecond), tm.Import.Round(time.Millisecond),
		tm.StepImport.Round(time.Millisecond), tm.Apply.Round(time.Millisecond), tm.Ready.Round(time.Millisecond))

	l := provision(t, "tekton")
	grantTekton(t, l.ns)
	// The webhook may still be warming its certificate: retry the first apply.
	testutil.Eventually(t, time.Minute, func(context.Context) error {
		_, err := l.kubectlStdin(probeTask, "apply", "-f", "-")
		return err
	})

	l.apply(probeRun("passes", "id"))
	l.apply(probeRun("fails", "no-such-command"))

	ok := l.waitTaskRun("passes")
	if c := ok.Status.Conditions[0]; c.Status != "True" || c.Reason != "Succeeded" {
		t.Fatalf("passing TaskRun: %+v", c)
	}
	t.Logf("passing TaskRun: created→Succeeded %s, startTime→completionTime %s",
		ok.Status.CompletionTime.Sub(ok.Metadata.CreationTimestamp), ok.Status.CompletionTime.Sub(*ok.Status.StartTime))
	// It ran for real: the step's container printed its pod's hostname
	// and ran as the image's nonroot user, on the real node.
	logs := l.must("logs", ok.Status.PodName, "-c", "step-run")
	if !strings.Contains(logs, "hostname="+ok.Status.PodName) || !strings.Contains(logs, "uid=65532") {
		t.Errorf("step log %q: want uid=65532 and hostname=%s", logs, ok.Status.PodName)
	}
	node := l.must("get", "pod", ok.Status.PodName, "-o", "jsonpath={.spec.nodeName} {.spec.serviceAccountName}")
	if node != localcluster.RealNodeName+" "+lab.LearnerServiceAccount {
		t.Errorf("pod node and ServiceAccount %q", node)
	}
	// Admitted under the lab's Pod Security "restricted" because Tekton's
	// init containers got a restricted security context, and under its
	// quota because every container got the LimitRange's limits.
	var ns corev1.Namespace
	if err := admin.Get(ctx, client.ObjectKey{Name: l.ns}, &ns); err != nil || ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Fatalf("lab namespace %v: %v", ns.Labels, err)
	}
	var pod corev1.Pod
	if err := admin.Get(ctx, client.ObjectKey{Namespace: l.ns, Name: ok.Status.PodName}, &pod); err != nil {
		t.Fatal(err)
	}
	for _, c := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
		sc := c.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("container %s security context %+v", c.Name, sc)
		}
		if c.Resources.Limits.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("container %s without limits: %+v", c.Name, c.Resources)
		}
	}
	var quotas corev1.ResourceQuotaList
	if err := admin.List(ctx, &quotas, client.InNamespace(l.ns)); err != nil || len(quotas.Items) == 0 {
		t.Errorf("lab without a quota: %v", err)
	}

	bad := l.waitTaskRun("fails")
	// v1.15 names the failing step (StepFailed; "Failed" before).
	if c := bad.Status.Conditions[0]; c.Status != "False" || c.Reason != "StepFailed" || !strings.Contains(c.Message, "exited with code 2") {
		t.Fatalf("failing TaskRun: %+v", c)
	}
	if len(bad.Status.Steps) != 1 || bad.Status.Steps[0].Terminated == nil || bad.Status.Steps[0].Terminated.ExitCode != 2 {
		t.Errorf("failing step: %+v, want exit code 2", bad.Status.Steps)
	}
}

// grantTekton lets the lab's learners manage Tekton objects in ns, through
// Tekton's own aggregate edit ClusterRole. The CI/CD track will add
// tekton.dev to the learner ClusterRole instead.
func grantTekton(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	var learners rbacv1.RoleBinding
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: lab.LearnerBinding}, &learners); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tekton-edit"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "tekton-aggregate-edit"},
		Subjects:   learners.Subjects,
	}
	if err := admin.Create(ctx, rb); err != nil {
		t.Fatal(err)
	}
}

// waitTaskRun waits until the TaskRun has finished, as the learner sees it.
func (l *learner) waitTaskRun(name string) taskRun {
	l.t.Helper()
	var tr taskRun
	testutil.Eventually(l.t, 3*time.Minute, func(context.Context) error {
		out, err := l.kubectl("get", "taskrun", name, "-o", "json")
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		tr = taskRun{}
		if err := json.Unmarshal([]byte(out), &tr); err != nil {
			return err
		}
		if tr.Status.CompletionTime == nil || len(tr.Status.Conditions) == 0 {
			return fmt.Errorf("TaskRun %s not finished: %+v", name, tr.Status.Conditions)
		}
		return nil
	})
	return tr
}

// kubectlStdin runs kubectl as the learner with stdin.
func (l *learner) kubectlStdin(stdin string, args ...string) (string, error) {
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", l.kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}
