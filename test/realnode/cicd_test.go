package realnode_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/labimages"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/tekton"
	"github.com/handson-dev/rotation-operator/internal/testutil"
	"github.com/handson-dev/rotation-operator/labs"
	"github.com/handson-dev/rotation-operator/test/harness"
)

// tektonInstall installs Tekton Pipelines once for the tests of the cicd track.
var tektonInstall struct {
	once sync.Once
	tm   harness.TektonTimings
	err  error
}

// ensureTekton installs Tekton Pipelines into the suite's cluster, once.
func ensureTekton(t *testing.T) {
	t.Helper()
	if cluster.Node != localcluster.NodeReal {
		t.Skip("needs the real node")
	}
	tektonInstall.once.Do(func() {
		tektonInstall.tm, tektonInstall.err = harness.InstallTekton(context.Background(), cluster, admin, os.Stderr)
		tm := tektonInstall.tm
		t.Logf("tekton install: tools %s, images %s, step image %s, import %s+%s, apply %s, controller+webhook available %s",
			tm.Tools.Round(time.Millisecond), tm.Images.Round(time.Millisecond), tm.StepImage.Round(time.Millisecond),
			tm.Import.Round(time.Millisecond), tm.StepImport.Round(time.Millisecond), tm.Apply.Round(time.Millisecond), tm.Ready.Round(time.Millisecond))
	})
	if tektonInstall.err != nil {
		t.Fatal(tektonInstall.err)
	}
}

// solutionFile is a file of a cicd exercise's reference solution.
func solutionFile(t *testing.T, exercise, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "labs", "cicd", exercise, labs.SolutionDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tektonRun is what the test reads of a PipelineRun or TaskRun.
type tektonRun struct {
	Metadata struct {
		CreationTimestamp time.Time `json:"creationTimestamp"`
	} `json:"metadata"`
	Status struct {
		PodName        string     `json:"podName"`
		CompletionTime *time.Time `json:"completionTime"`
		Conditions     []struct {
			Type, Status, Reason, Message string
		} `json:"conditions"`
		ChildReferences []struct {
			Name             string `json:"name"`
			PipelineTaskName string `json:"pipelineTaskName"`
		} `json:"childReferences"`
		Steps []struct {
			Name       string `json:"name"`
			Container  string `json:"container"`
			Terminated *struct {
				ExitCode int `json:"exitCode"`
			} `json:"terminated"`
		} `json:"steps"`
	} `json:"status"`
}

func (r tektonRun) succeeded() string {
	for _, c := range r.Status.Conditions {
		if c.Type == "Succeeded" {
			return c.Status
		}
	}
	return ""
}

// waitRun waits until a run (pipelinerun or taskrun) has finished, as the
// learner sees it with kubectl.
func (l *learner) waitRun(kind, name string) tektonRun {
	l.t.Helper()
	var r tektonRun
	testutil.Eventually(l.t, 6*time.Minute, func(context.Context) error {
		out, err := l.kubectl("get", kind, name, "-o", "json")
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		r = tektonRun{}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			return err
		}
		if r.Status.CompletionTime == nil || r.succeeded() == "" || r.succeeded() == "Unknown" {
			return fmt.Errorf("%s %s not finished: %+v", kind, name, r.Status.Conditions)
		}
		return nil
	})
	return r
}

// applyTekton applies YAML as the learner, retrying while Tekton's webhook
// warms up after the install.
func (l *learner) applyTekton(yaml string) {
	l.t.Helper()
	testutil.Eventually(l.t, time.Minute, func(context.Context) error {
		_, err := l.kubectlStdin(yaml, "apply", "-f", "-")
		return err
	})
}

// waitPoints waits for an exercise's points and the checks passing.
func (l *learner) waitPoints(exercise string, points int32, passing ...string) rotationsv1.ExerciseResult {
	l.t.Helper()
	var got rotationsv1.ExerciseResult
	testutil.Eventually(l.t, 2*time.Minute, func(ctx context.Context) error {
		e, err := l.exercise(ctx, exercise)
		if err != nil {
			return err
		}
		got = e
		if e.Points != points {
			return fmt.Errorf("%s has %d points, want %d: %+v", exercise, e.Points, points, e.Checks)
		}
		for _, name := range passing {
			for _, c := range e.Checks {
				if c.Name == name && !c.Passed {
					return fmt.Errorf("%s: check %s fails: %s", exercise, name, c.Message)
				}
			}
		}
		return nil
	})
	return got
}

// TestCICDJourney: a learner with only the lab kubeconfig and kubectl
// does both exercises of the cicd track on real Tekton runs: a pipeline
// that tests the starter app and succeeds; then the gate, whose run on the
// planted failing test really fails at go test (a run that failed on a
// typo first does not count), and passes with the same steps once the
// learner fixed main.go in a ConfigMap of their own. 200/200.
func TestCICDJourney(t *testing.T) {
	ensureTekton(t)
	start := time.Now()
	// The two exercises it plays (the track has more: TestCICDDeliveryJourney).
	lr := testutil.Rotation("cicd").Learner("cicd@example.com").Exercises("cicd-test-pipeline", "cicd-gate").Obj()
	l := provisionRotation(t, lr)
	// The operator sees Tekton within one probe and stops reporting it missing.
	testutil.Eventually(t, time.Minute, func(ctx context.Context) error {
		got := &rotationsv1.LearningRotation{}
		if err := admin.Get(ctx, client.ObjectKey{Name: "cicd"}, got); err != nil {
			return err
		}
		for _, c := range got.Status.Conditions {
			if c.Type == rotationsv1.ConditionInfrastructureReady && c.Status != "True" {
				return fmt.Errorf("InfrastructureReady %s: %s", c.Reason, c.Message)
			}
		}
		return nil
	})
	var timings []string
	mark := func(what string, since time.Time) {
		timings = append(timings, fmt.Sprintf("%s %s", what, time.Since(since).Round(100*time.Millisecond)))
	}

	// cicd-test-pipeline: the Task and Pipeline ci, one run, Succeeded.
	began := time.Now()
	l.applyTekton(solutionFile(t, "cicd-test-pipeline", "task.yaml") + "\n---\n" + solutionFile(t, "cicd-test-pipeline", "pipeline.yaml"))
	l.must("create", "-f", filepath.Join(harness.RepoRoot(), "labs", "cicd", "cicd-test-pipeline", labs.SolutionDir, "run.yaml"))
	ci := l.waitRun("pipelinerun", "ci-run-1")
	if ci.succeeded() != "True" {
		t.Fatalf("ci-run-1: %+v", ci.Status.Conditions)
	}
	mark("ci-run-1 created→Succeeded", began)
	done := time.Now()
	l.waitPoints("cicd-test-pipeline", 100)
	mark("run done→graded 100", done)
	// The test step really ran go test, in the learner's pod.
	tr := l.waitRun("taskrun", ci.Status.ChildReferences[0].Name)
	if logs := l.must("logs", tr.Status.PodName, "-c", "step-test"); !strings.Contains(logs, "ok  \texample.com/hello") {
		t.Errorf("go test step log %q, want the package's ok line", logs)
	}

	// cicd-gate, first with a typo in the test step: the run fails (go's
	// "unknown command", exit 2), which is not the gate failing.
	began = time.Now()
	task := solutionFile(t, "cicd-gate", "task.yaml")
	l.applyTekton(strings.Replace(task, "[go, test, ./...]", "[go, tset, ./...]", 1) + "\n---\n" + solutionFile(t, "cicd-gate", "pipeline.yaml"))
	if out, err := l.kubectlStdin(strings.Replace(solutionFile(t, "cicd-gate", "run-1.yaml"), "gate-run-1", "gate-typo", 1), "create", "-f", "-"); err != nil {
		t.Fatal(out)
	}
	typo := l.waitRun("pipelinerun", "gate-typo")
	if typo.succeeded() != "False" {
		t.Fatalf("the typo run: %+v", typo.Status.Conditions)
	}
	if e := l.waitPoints("cicd-gate", 0); !strings.Contains(checkMessage(e, "fails-on-planted-test"), "does not count") {
		t.Errorf("after the typo run: %+v", e.Checks)
	}
	mark("typo run and its grade", began)

	// The Task fixed: the run on the planted test fails at go test, exit 1.
	began = time.Now()
	l.applyTekton(task)
	l.must("create", "-f", filepath.Join(harness.RepoRoot(), "labs", "cicd", "cicd-gate", labs.SolutionDir, "run-1.yaml"))
	failed := l.waitRun("pipelinerun", "gate-run-1")
	if failed.succeeded() != "False" {
		t.Fatalf("gate-run-1 on the planted test: %+v", failed.Status.Conditions)
	}
	ftr := l.waitRun("taskrun", failed.Status.ChildReferences[0].Name)
	var exit = -1
	for _, s := range ftr.Status.Steps {
		if s.Name == "test" && s.Terminated != nil {
			exit = s.Terminated.ExitCode
		}
	}
	if exit != 1 {
		t.Errorf("the go test step exited %d, want 1: %+v", exit, ftr.Status.Steps)
	}
	if logs := l.must("logs", ftr.Status.PodName, "-c", "step-test"); !strings.Contains(logs, "--- FAIL: TestGreetingTrimsSpaces") {
		t.Errorf("go test step log %q, want the planted test failing", logs)
	}
	mark("gate-run-1 created→Failed", began)
	l.waitPoints("cicd-gate", 45, "gate-pipeline", "fails-on-planted-test")

	// The learner's own copy, main.go fixed, the test kept; the same
	// pipeline and Task again.
	began = time.Now()
	dir := t.TempDir()
	for _, f := range []string{"go.mod", "main.go", "main_test.go"} {
		data := l.must("get", "configmap", "exercise-cicd-gate", "-o", "jsonpath={.data."+strings.ReplaceAll(f, ".", `\.`)+"}")
		if f == "main.go" {
			fixed := strings.Replace(data, `strings.TrimLeft(name, " ")`, "strings.TrimSpace(name)", 1)
			if fixed == data {
				t.Fatalf("main.go of exercise-cicd-gate has no TrimLeft to fix:\n%s", data)
			}
			data = fixed
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	l.must("create", "configmap", "hello-fixed", "--from-file="+filepath.Join(dir, "go.mod"),
		"--from-file="+filepath.Join(dir, "main.go"), "--from-file="+filepath.Join(dir, "main_test.go"))
	l.must("create", "-f", filepath.Join(harness.RepoRoot(), "labs", "cicd", "cicd-gate", labs.SolutionDir, "run-2.yaml"))
	passed := l.waitRun("pipelinerun", "gate-run-2")
	if passed.succeeded() != "True" {
		t.Fatalf("gate-run-2 on the fixed code: %+v", passed.Status.Conditions)
	}
	mark("gate-run-2 created→Succeeded", began)
	done = time.Now()
	l.waitPoints("cicd-gate", 100)
	mark("run done→graded 100", done)

	got := &rotationsv1.LearningRotation{}
	if err := admin.Get(context.Background(), client.ObjectKey{Name: "cicd"}, got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Score != 200 || got.Status.MaxScore != 200 || got.Status.Completed != 2 {
		t.Errorf("score %d/%d, %d completed; want 200/200, both", got.Status.Score, got.Status.MaxScore, got.Status.Completed)
	}
	t.Logf("cicd journey %s, score %d/%d:\n  %s", time.Since(start).Round(time.Second), got.Status.Score, got.Status.MaxScore, strings.Join(timings, "\n  "))
}

func checkMessage(e rotationsv1.ExerciseResult, name string) string {
	for _, c := range e.Checks {
		if c.Name == name {
			return c.Message
		}
	}
	return ""
}

// taskRunAs is a TaskRun of a one-step inline Task; extra is YAML added
// under its spec (indented two spaces).
func taskRunAs(name, extra string) string {
	return `apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: ` + name + `
spec:
` + extra + `
  taskSpec:
    steps:
    - name: id
      image: ` + tekton.StepImage + `
      command: [id]
      securityContext:
        runAsNonRoot: true
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}
        seccompProfile: {type: RuntimeDefault}
`
}

// taskRunGet is a learner's TaskRun whose step fetches http://target/ with
// the lab image web (its get tool), after a pause that lets kube-router
// program the new pod's firewall.
func taskRunGet(name, target string) string {
	return `apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: ` + name + `
spec:
  serviceAccountName: learner
  taskSpec:
    stepTemplate:
      image: ` + labimages.Web10 + `
      securityContext:
        runAsNonRoot: true
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}
        seccompProfile: {type: RuntimeDefault}
    steps:
    - name: pause
      command: [/web, sleep, 3s]
    - name: get
      command: [/web, get, "http://` + target + `/"]
`
}

// TestCICDIsolation: the learner's runs cannot use another ServiceAccount,
// the node's namespaces or files, run privileged, land in another lab, nor
// reach another lab's pods on the network.
// The pipeline guard (config/policy/pipeline_guard.yaml) refuses the first
// ones up front with a message naming the rule; Pod Security restricted
// refuses a privileged step's pod, which the run reports.
func TestCICDIsolation(t *testing.T) {
	ensureTekton(t)
	// scale-and-expose's starter web gives each lab a pod to aim at.
	l := provision(t, "cicd-iso", "scale-and-expose")
	other := provision(t, "cicd-iso-other", "scale-and-expose")
	for _, c := range []struct{ name, yaml, want string }{
		{"the default ServiceAccount", taskRunAs("as-default", "  serviceAccountName: default"),
			"runs in a lab run as the learner ServiceAccount: set spec.serviceAccountName to learner (it is default)"},
		{"no ServiceAccount (Tekton's default)", taskRunAs("as-nobody", ""), "runs in a lab run as the learner ServiceAccount"},
		{"another ServiceAccount", taskRunAs("as-builder", "  serviceAccountName: builder"), "(it is builder)"},
		{"a PipelineRun as default", `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: pr-default
spec:
  taskRunTemplate:
    serviceAccountName: default
  pipelineSpec:
    tasks:
    - name: t
      taskRef: {name: missing}
`, "set spec.taskRunTemplate.serviceAccountName to learner (it is default)"},
		{"one task of a PipelineRun as default", `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: pr-taskspec
spec:
  taskRunTemplate:
    serviceAccountName: learner
  taskRunSpecs:
  - pipelineTaskName: t
    serviceAccountName: default
  pipelineSpec:
    tasks:
    - name: t
      taskRef: {name: missing}
`, "every spec.taskRunSpecs[].serviceAccountName must be empty or learner, not default"},
		{"the node's network", taskRunAs("host-net", "  serviceAccountName: learner\n  podTemplate:\n    hostNetwork: true"),
			"cannot use the node's network, process or IPC namespaces"},
		{"the node's files", taskRunAs("host-path", "  serviceAccountName: learner\n  podTemplate:\n    volumes:\n    - name: root\n      hostPath: {path: /}"),
			"cannot mount the node's files (a hostPath volume in a podTemplate)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out string
			var err error
			// Retried only while Tekton's webhook warms up.
			testutil.Eventually(t, time.Minute, func(context.Context) error {
				out, err = l.kubectlStdin(c.yaml, "create", "-f", "-")
				if err != nil && strings.Contains(out, "failed calling webhook") {
					return err
				}
				return nil
			})
			if err == nil {
				t.Fatalf("created, want refused:\n%s", c.yaml)
			}
			if !strings.Contains(out, c.want) {
				t.Fatalf("refused with %q, want %q", out, c.want)
			}
		})
	}
	t.Run("a run in another lab", func(t *testing.T) {
		out, err := l.kubectlStdin(taskRunAs("elsewhere", "  serviceAccountName: learner"), "create", "-n", other.ns, "-f", "-")
		if err == nil || !strings.Contains(out, `cannot create resource "taskruns" in API group "tekton.dev" in the namespace "`+other.ns+`"`) {
			t.Fatalf("err %v: %s", err, out)
		}
	})
	t.Run("a privileged step", func(t *testing.T) {
		yaml := strings.Replace(taskRunAs("privileged", "  serviceAccountName: learner"), "allowPrivilegeEscalation: false", "privileged: true", 1)
		l.must("create", "-f", writeTemp(t, yaml))
		r := l.waitRun("taskrun", "privileged")
		msg := ""
		for _, c := range r.Status.Conditions {
			msg = c.Reason + ": " + c.Message
		}
		if r.succeeded() != "False" || !strings.Contains(msg, "privileged") || !strings.Contains(msg, "restricted") {
			t.Fatalf("the privileged run: %s; want it failed by Pod Security restricted", msg)
		}
	})
	t.Run("another lab on the network", func(t *testing.T) {
		ip := func(x *learner) string {
			x.must("rollout", "status", "deployment/web", "--timeout=90s")
			return strings.TrimSpace(x.must("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].status.podIP}"))
		}
		own, others := ip(l), ip(other)
		// The control: a step reaches its own lab's pod, so a refusal
		// below is the lab's NetworkPolicy, not a step that cannot fetch.
		l.must("create", "-f", writeTemp(t, taskRunGet("get-own", own+":8080")))
		if r := l.waitRun("taskrun", "get-own"); r.succeeded() != "True" {
			t.Fatalf("a step fetching its own lab's pod: %+v", r.Status.Conditions)
		}
		l.must("create", "-f", writeTemp(t, taskRunGet("get-other", others+":8080")))
		r := l.waitRun("taskrun", "get-other")
		logs, _ := l.kubectl("logs", r.Status.PodName, "-c", "step-get")
		refused := strings.Contains(logs, "refused") || strings.Contains(logs, "deadline") || strings.Contains(logs, "timeout")
		if r.succeeded() != "False" || !refused {
			t.Fatalf("a step fetching lab %s's pod from lab %s: %+v, log %q; want it refused by the NetworkPolicy", other.ns, l.ns, r.Status.Conditions, logs)
		}
	})
	t.Run("as the learner", func(t *testing.T) {
		l.must("create", "-f", writeTemp(t, taskRunAs("as-learner", "  serviceAccountName: learner")))
		r := l.waitRun("taskrun", "as-learner")
		if r.succeeded() != "True" {
			t.Fatalf("the learner's own run: %+v", r.Status.Conditions)
		}
		if logs := l.must("logs", r.Status.PodName, "-c", "step-id"); !strings.Contains(logs, "uid=65532") {
			t.Errorf("id printed %q, want uid=65532", logs)
		}
	})
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "obj.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
