package realnode_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/tekton"
	"github.com/handson-dev/rotation-operator/internal/testutil"
	"github.com/handson-dev/rotation-operator/test/harness"
)

// goApp is a small Go web app, as a ConfigMap of its files; wantGreeting
// is what its test expects (a wrong one makes the test fail).
func goApp(name, wantGreeting string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: %s
data:
  go.mod: |
    module example.com/greeter

    go 1.24
  main.go: |
    package main

    import (
    	"encoding/json"
    	"fmt"
    	"log"
    	"net/http"
    	"os"
    )

    func greet(name string) string { return fmt.Sprintf("hello, %%s", name) }

    func handler(w http.ResponseWriter, r *http.Request) {
    	_ = json.NewEncoder(w).Encode(map[string]string{"greeting": greet(r.URL.Query().Get("name"))})
    }

    func main() {
    	log.Fatal(http.ListenAndServe(":"+os.Getenv("PORT"), http.HandlerFunc(handler)))
    }
  main_test.go: |
    package main

    import (
    	"encoding/json"
    	"net/http/httptest"
    	"testing"
    )

    func TestHandler(t *testing.T) {
    	rec := httptest.NewRecorder()
    	handler(rec, httptest.NewRequest("GET", "/?name=lab", nil))
    	var got map[string]string
    	if err := json.NewDecoder(rec.Body).Decode(&got); err != nil {
    		t.Fatal(err)
    	}
    	if got["greeting"] != %q {
    		t.Fatalf("greeting %%q, want %%q", got["greeting"], %q)
    	}
    }
`, name, wantGreeting, wantGreeting)
}

// goTestTask copies the app from the source workspace (a ConfigMap,
// read-only) into the build workspace (an emptyDir) and runs go test with
// GOCACHE from a param: the image's warm cache by default, an empty one to
// measure a cold build. -x prints a line per package the go command
// compiles, which the step counts into its log. The script has no shebang,
// so Tekton runs it with #!/bin/sh and set -e; it exits with go test's
// status (1 for a failing test). resources is the step's, in YAML ("" for
// the lab's default limits, 200m and 256Mi).
func goTestTask(name, resources string) string {
	return `apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: ` + name + `
spec:
  params:
  - name: gocache
    type: string
    default: ` + tekton.StepGOCACHE + `
  workspaces:
  - name: source
    readOnly: true
  - name: build
  stepTemplate:
    securityContext:
      runAsNonRoot: true
      allowPrivilegeEscalation: false
      capabilities:
        drop: [ALL]
      seccompProfile:
        type: RuntimeDefault
    computeResources: ` + resources + `
  steps:
  - name: test
    image: ` + tekton.StepImage + `
    env:
    - name: GOCACHE
      value: $(params.gocache)
    script: |
      cp $(workspaces.source.path)/* $(workspaces.build.path)/
      cd $(workspaces.build.path)
      ls
      go version
      if go test -x ./... 2> build.log; then status=0; else status=$?; fi
      echo "compiled=$(grep -c 'compile -o' build.log)"
      exit $status
`
}

// oneCPU is what the go-test Task gives its step: go needs more than the
// lab's default limits. The request stays small so that runs fit the
// quota's requests.cpu side by side.
const oneCPU = `{requests: {cpu: 100m, memory: 256Mi}, limits: {cpu: "1", memory: 1Gi}}`

func goTestRun(name, task, app, gocache string) string {
	return fmt.Sprintf(`apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: %s
spec:
  serviceAccountName: %s
  timeout: 5m
  taskRef:
    name: %s
  params:
  - name: gocache
    value: %s
  workspaces:
  - name: source
    configMap:
      name: %s
  - name: build
    emptyDir: {}
`, name, lab.LearnerServiceAccount, task, gocache, app)
}

// TestTektonScriptStepsRunGoTest: a learner's Task with a script step runs
// go test on a Go app in the step image (tekton.StepImage, also Tekton's
// shell image, so place-scripts' sh -c works): a passing test makes the
// TaskRun Succeeded, a failing one Failed with the step's exit code 1. The
// image's warm build cache leaves the go command only the app to compile;
// with an empty cache it compiles the standard library too.
func TestTektonScriptStepsRunGoTest(t *testing.T) {
	if cluster.Node != localcluster.NodeReal {
		t.Skip("needs the real node")
	}
	ctx := context.Background()
	tm, err := harness.InstallTekton(ctx, cluster, admin, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tekton install: tools %s, images %s, step image %s, import %s, step image import %s, apply %s, available %s",
		tm.Tools.Round(time.Millisecond), tm.Images.Round(time.Millisecond), tm.StepImage.Round(time.Millisecond),
		tm.Import.Round(time.Millisecond), tm.StepImport.Round(time.Millisecond), tm.Apply.Round(time.Millisecond), tm.Ready.Round(time.Millisecond))

	l := provision(t, "tekton-steps")
	grantTekton(t, l.ns)
	testutil.Eventually(t, time.Minute, func(context.Context) error {
		_, err := l.kubectlStdin(goTestTask("go-test", oneCPU)+"---\n"+goTestTask("go-test-default", "{}"), "apply", "-f", "-")
		return err
	})
	l.apply(goApp("app", "hello, lab"))
	l.apply(goApp("app-broken", "hi, lab"))

	// The two warm runs together, then the cold one alone: at 1 CPU each
	// on a shared 2-core node, a parallel cold build would slow both.
	l.apply(goTestRun("warm-passes", "go-test", "app", tekton.StepGOCACHE))
	l.apply(goTestRun("warm-fails", "go-test", "app-broken", tekton.StepGOCACHE))
	ok := l.waitTaskRun("warm-passes")
	warmLog := l.stepLog(ok, "step-test")
	if c := ok.Status.Conditions[0]; c.Status != "True" || c.Reason != "Succeeded" {
		t.Fatalf("passing TaskRun: %+v\nstep log:\n%s", c, warmLog)
	}
	if !strings.Contains(warmLog, "ok  \texample.com/greeter") {
		t.Errorf("passing step log lacks go test's ok line:\n%s", warmLog)
	}
	warmCompiled := compiledCount(t, warmLog)
	if warmCompiled > 5 {
		t.Errorf("warm cache: go test compiled %d packages, want the app and its test main only:\n%s", warmCompiled, warmLog)
	}

	bad := l.waitTaskRun("warm-fails")
	badLog := l.stepLog(bad, "step-test")
	if c := bad.Status.Conditions[0]; c.Status != "False" || c.Reason != "StepFailed" || !strings.Contains(c.Message, "exited with code 1") {
		t.Fatalf("failing TaskRun: %+v\nstep log:\n%s", c, badLog)
	}
	if len(bad.Status.Steps) != 1 || bad.Status.Steps[0].Terminated == nil || bad.Status.Steps[0].Terminated.ExitCode != 1 {
		t.Errorf("failing step: %+v, want exit code 1", bad.Status.Steps)
	}
	if !strings.Contains(badLog, `greeting "hello, lab", want "hi, lab"`) || !strings.Contains(badLog, "FAIL") {
		t.Errorf("failing step log lacks the test's failure:\n%s", badLog)
	}

	l.apply(goTestRun("cold-passes", "go-test", "app", "/tmp/empty-go-build"))
	cold := l.waitTaskRun("cold-passes")
	coldLog := l.stepLog(cold, "step-test")
	if c := cold.Status.Conditions[0]; c.Status != "True" {
		t.Fatalf("cold TaskRun: %+v\nstep log:\n%s", c, coldLog)
	}
	coldCompiled := compiledCount(t, coldLog)
	if coldCompiled < 50 {
		t.Errorf("empty cache: go test compiled only %d packages:\n%s", coldCompiled, coldLog)
	}
	t.Logf("go test in a step (limit 1 CPU, 1Gi): warm cache %s (%d packages compiled), empty cache %s (%d compiled); failing test %s; TaskRun created→finished: warm %s, cold %s",
		stepTime(ok), warmCompiled, stepTime(cold), coldCompiled, stepTime(bad),
		ok.Status.CompletionTime.Sub(ok.Metadata.CreationTimestamp), cold.Status.CompletionTime.Sub(cold.Metadata.CreationTimestamp))

	// At the lab's default limits (200m, 256Mi) instead: measured, not
	// required (exercises give their go steps more).
	runs := []string{"default-warm"}
	l.apply(goTestRun("default-warm", "go-test-default", "app", tekton.StepGOCACHE))
	if os.Getenv("TEKTON_MEASURE_COLD_DEFAULT") != "" { // minutes: on demand only
		runs = append(runs, "default-cold")
		l.apply(goTestRun("default-cold", "go-test-default", "app", "/tmp/empty-go-build"))
	}
	for _, name := range runs {
		tr := l.waitTaskRun(name)
		c, step := tr.Status.Conditions[0], tr.Status.Steps
		outcome := c.Reason
		if len(step) == 1 && step[0].Terminated != nil {
			outcome += fmt.Sprintf(" (step %s, exit code %d)", step[0].Terminated.Reason, step[0].Terminated.ExitCode)
		}
		t.Logf("go test at the default limits 200m/256Mi, %s: %s in %s", name, outcome, stepTime(tr))
	}
}

// stepLog is a step container's log, as the learner reads it.
func (l *learner) stepLog(tr taskRun, container string) string {
	l.t.Helper()
	out, err := l.kubectl("logs", tr.Status.PodName, "-c", container)
	if err != nil {
		l.t.Fatalf("logs of %s/%s: %v: %s", tr.Status.PodName, container, err, out)
	}
	return out
}

// compiledCount reads the compiled=N line the go-test step prints.
func compiledCount(t *testing.T, log string) int {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "compiled="); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("step log line %q: %v", line, err)
			}
			return n
		}
	}
	t.Fatalf("step log without compiled=N:\n%s", log)
	return 0
}

// stepTime is how long the TaskRun's only step ran, from the times its
// container started and ended.
func stepTime(tr taskRun) time.Duration {
	if len(tr.Status.Steps) == 0 || tr.Status.Steps[0].Terminated == nil {
		return 0
	}
	return tr.Status.Steps[0].Terminated.FinishedAt.Sub(tr.Status.Steps[0].Terminated.StartedAt)
}
