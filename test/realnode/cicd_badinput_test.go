package realnode_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// ciPipeline is the Pipeline ci of cicd-test-pipeline running one Task.
func ciPipeline(task string) string {
	return `apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: ci
spec:
  workspaces:
  - name: source
  - name: work
  tasks:
  - name: test
    taskRef:
      name: ` + task + `
    workspaces:
    - {name: source, workspace: source}
    - {name: work, workspace: work}
`
}

// ciTask is a Task of steps, each `name: [command...]` with its memory limit.
func ciTask(name, memory string, steps ...string) string {
	y := `apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: ` + name + `
spec:
  workspaces:
  - name: source
    readOnly: true
  - name: work
  stepTemplate:
    image: rotation.local/cicd/go:v1
    computeResources:
      limits: {cpu: 200m, memory: ` + memory + `}
    securityContext:
      runAsNonRoot: true
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
      seccompProfile: {type: RuntimeDefault}
  steps:
`
	for _, s := range steps {
		y += "  - " + s + "\n"
	}
	return y
}

// ciRun is a PipelineRun of ci on the exercise's app with a timeout.
func ciRun(name, timeout string) string {
	return `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: ` + name + `
spec:
  pipelineRef: {name: ci}
  taskRunTemplate: {serviceAccountName: learner}
  timeouts: {pipeline: ` + timeout + `}
  workspaces:
  - name: source
    configMap: {name: exercise-cicd-test-pipeline}
  - name: work
    emptyDir: {}
`
}

// TestCICDBadInput: what goes wrong in a learner's pipeline, on real Tekton
// runs, and what the learner is told. A Pipeline that does not validate is
// refused by Tekton's webhook; a Pipeline naming a missing Task, a run that
// never ends and a run over the lab's quota each show their cause in the
// check run-succeeded; a step that prints 20 MB passes like any other (the
// operator reads no log).
func TestCICDBadInput(t *testing.T) {
	ensureTekton(t)
	l := provision(t, "cicd-bad", "cicd-test-pipeline")
	start := time.Now()
	var timings []string
	mark := func(what string, since time.Time) {
		timings = append(timings, fmt.Sprintf("%s %s", what, time.Since(since).Round(100*time.Millisecond)))
	}
	// message waits until run-succeeded's message has every part.
	message := func(parts ...string) {
		t.Helper()
		testutil.Eventually(t, 2*time.Minute, func(ctx context.Context) error {
			e, err := l.exercise(ctx, "cicd-test-pipeline")
			if err != nil {
				return err
			}
			msg := checkMessage(e, "run-succeeded")
			for _, want := range parts {
				if !strings.Contains(msg, want) {
					return fmt.Errorf("run-succeeded says %q, want %q in it", msg, want)
				}
			}
			return nil
		})
	}

	t.Run("a Pipeline that does not validate", func(t *testing.T) {
		bad := strings.Replace(ciPipeline("go-test"), "  - name: test\n", "  - name: test\n    runAfter: [nowhere]\n", 1)
		var out string
		var err error
		testutil.Eventually(t, time.Minute, func(context.Context) error { // while the webhook warms up
			out, err = l.kubectlStdin(bad, "apply", "-f", "-")
			if err != nil && strings.Contains(out, "failed calling webhook") {
				return err
			}
			return nil
		})
		if err == nil || !strings.Contains(out, `admission webhook "validation.webhook.pipeline.tekton.dev" denied the request`) || !strings.Contains(out, "nowhere") {
			t.Fatalf("applied (%v): %s; want refused by Tekton's webhook, naming the task", err, out)
		}
		if out, err := l.kubectl("get", "pipeline", "ci"); err == nil {
			t.Errorf("the refused Pipeline exists: %s", out)
		}
	})

	t.Run("a Pipeline naming a missing Task", func(t *testing.T) {
		began := time.Now()
		l.applyTekton(ciPipeline("go-tset"))
		if out, err := l.kubectlStdin(ciRun("missing-task", "10m"), "create", "-f", "-"); err != nil {
			t.Fatal(out)
		}
		if r := l.waitRun("pipelinerun", "missing-task"); r.succeeded() != "False" {
			t.Fatalf("the run: %+v", r.Status.Conditions)
		}
		message("missing-task: CouldntGetTask: ", `it contains Tasks that don't exist: Couldn't retrieve Task "go-tset"`, "not found")
		mark("missing Task: run failed and said so", began)
	})

	t.Run("a run that never ends", func(t *testing.T) {
		began := time.Now()
		l.applyTekton(ciTask("sleepy", "256Mi", `{name: wait, command: [sleep, "3600"]}`) + "---\n" + ciPipeline("sleepy"))
		if out, err := l.kubectlStdin(ciRun("never-ends", "20s"), "create", "-f", "-"); err != nil {
			t.Fatal(out)
		}
		if r := l.waitRun("pipelinerun", "never-ends"); r.succeeded() != "False" {
			t.Fatalf("the run: %+v", r.Status.Conditions)
		}
		message("never-ends: PipelineRunTimeout: ", `PipelineRun "never-ends" failed to finish within "20s"`)
		mark("never-ending run: timed out and said so", began)
	})

	t.Run("a run over the quota", func(t *testing.T) {
		began := time.Now()
		// Five steps of 2Gi (each within the lab's limit per container):
		// the pod's 10Gi of limits exceed the lab's quota.
		steps := make([]string, 5)
		for i := range steps {
			steps[i] = fmt.Sprintf("{name: s%d, command: [id]}", i)
		}
		l.applyTekton(ciTask("greedy", "2Gi", steps...) + "---\n" + ciPipeline("greedy"))
		if out, err := l.kubectlStdin(ciRun("over-quota", "10m"), "create", "-f", "-"); err != nil {
			t.Fatal(out)
		}
		message("over-quota: its task test is waiting: ExceededResourceQuota: TaskRun Pod exceeded available resources", "exceeded quota")
		mark("run over quota: waiting and said so", began)
		l.must("delete", "pipelinerun", "over-quota")
	})

	t.Run("a step that fills its log", func(t *testing.T) {
		began := time.Now()
		// u-root's seq prints 3 million numbers, about 20 MB.
		l.applyTekton(ciTask("chatty", "256Mi", `{name: copy, command: [/bin/sh, -c], args: ['cp "$(workspaces.source.path)"/go.mod "$(workspaces.source.path)"/*.go "$(workspaces.work.path)"/']}`,
			`{name: print, command: [seq, "1", "3000000"]}`) + "---\n" + ciPipeline("chatty"))
		if out, err := l.kubectlStdin(ciRun("chatty-1", "10m"), "create", "-f", "-"); err != nil {
			t.Fatal(out)
		}
		r := l.waitRun("pipelinerun", "chatty-1")
		if r.succeeded() != "True" {
			t.Fatalf("the run: %+v", r.Status.Conditions)
		}
		tr := l.waitRun("taskrun", r.Status.ChildReferences[0].Name)
		printed := false
		for _, st := range tr.Status.Steps {
			printed = printed || (st.Name == "print" && st.Terminated != nil && st.Terminated.ExitCode == 0)
		}
		if !printed {
			t.Errorf("the print step did not run to the end: %+v", tr.Status.Steps)
		}
		// What the operator reads of the run is its status, not its log:
		// the TaskRun stays small (the kubelet rotates the log itself, at
		// 10 MiB, so kubectl logs shows only its last part).
		size := len(l.must("get", "taskrun", r.Status.ChildReferences[0].Name, "-o", "json"))
		if size > 64<<10 {
			t.Errorf("the TaskRun is %d bytes after 20 MB of output, want it small", size)
		}
		timings = append(timings, fmt.Sprintf("the TaskRun of a 20 MB log: %.1f KiB", float64(size)/1024))
		// Graded from the run's status, as any run: run-succeeded passes.
		testutil.Eventually(t, 2*time.Minute, func(ctx context.Context) error {
			e, err := l.exercise(ctx, "cicd-test-pipeline")
			if err != nil {
				return err
			}
			for _, c := range e.Checks {
				if c.Name == "run-succeeded" && !c.Passed {
					return fmt.Errorf("run-succeeded: %s", c.Message)
				}
			}
			return nil
		})
		mark("20 MB of log: run graded", began)
	})
	t.Logf("cicd bad input %s:\n  %s", time.Since(start).Round(time.Second), strings.Join(timings, "\n  "))
}
