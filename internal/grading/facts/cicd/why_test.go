package cicd

import (
	"encoding/json"
	"strings"
	"testing"
)

// why says what stopped a run, from the run or the task that caused it,
// and nothing for a run that succeeded or runs as it should.
func TestExplainSaysWhyARunDidNotSucceed(t *testing.T) {
	run := func(status, reason, message string) map[string]any {
		return map[string]any{"status": status, "reason": reason, "message": message}
	}
	task := func(pr, status, reason, message string) map[string]any {
		return map[string]any{"pipelineRun": pr, "pipelineTask": "test", "status": status, "reason": reason, "message": message}
	}
	prs := map[string]any{
		"ok":       run("True", "Succeeded", "Tasks Completed: 1"),
		"running":  run("Unknown", "Running", "Tasks Completed: 0"),
		"no-task":  run("False", "CouldntGetTask", `Pipeline lab-a/ci can't be Run; it contains Tasks that don't exist: Couldn't retrieve Task "go-tset": tasks.tekton.dev "go-tset" not found`),
		"step":     run("False", "Failed", "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 0"),
		"quota":    run("Unknown", "Running", "Tasks Completed: 0 (Failed: 0, Cancelled 0), Incomplete: 1, Skipped: 0"),
		"timedout": run("False", "PipelineRunTimeout", `PipelineRun "timedout" failed to finish within "1m0s"`),
		"limit":    run("False", "Failed", ""),
	}
	trs := map[string]any{
		"ok-test":      task("ok", "True", "Succeeded", ""),
		"running-test": task("running", "Unknown", "Running", ""),
		"step-test": func() map[string]any {
			tr := task("step", "False", "Failed", `"step-test" exited with code 1`)
			tr["failedStep"] = map[string]any{"name": "test", "exitCode": int64(1), "run": "go test ./..."}
			return tr
		}(),
		"quota-test":    task("quota", "Unknown", "ExceededResourceQuota", `TaskRun Pod exceeded available resources: pods "quota-test-pod" is forbidden: exceeded quota: lab, requested: limits.memory=8Gi`),
		"timedout-test": task("timedout", "False", "TaskRunCancelled", "TaskRun cancelled as the PipelineRun it belongs to has timed out."),
		"limit-test":    task("limit", "False", "PodCreationFailed", `failed to create task run pod "limit-test": pods "limit-test-pod" is forbidden: maximum cpu usage per Container is 1, but limit is 4`),
	}
	Explain(prs, trs)
	for name, want := range map[string]string{
		"ok":       "",
		"running":  "",
		"no-task":  `CouldntGetTask: Pipeline lab-a/ci can't be Run`,
		"step":     `its task test failed: step test (go test ./...) exited with code 1`,
		"quota":    "its task test is waiting: ExceededResourceQuota: TaskRun Pod exceeded available resources",
		"timedout": `PipelineRunTimeout: PipelineRun "timedout" failed to finish within "1m0s"`,
		"limit":    "its task test failed: PodCreationFailed: failed to create task run pod",
	} {
		got := prs[name].(map[string]any)["why"].(string)
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("%s: why %q, want %q", name, got, want)
		}
	}
	// A run whose TaskRuns no check listed: Explain with none.
	lone := map[string]any{"x": run("False", "Failed", "Tasks Completed: 1 (Failed: 1)")}
	Explain(lone, nil)
	if got := lone["x"].(map[string]any)["why"]; got != "Failed: Tasks Completed: 1 (Failed: 1)" {
		t.Errorf("without TaskRuns: why %q", got)
	}
}

// A step that fills its log or its results costs the facts nothing: the
// collector reads no log, and the run's message and results are clipped,
// so a run's fact stays a few KiB however much it printed.
func TestRunFactsStayBoundedWhateverTheStepsPrint(t *testing.T) {
	huge := strings.Repeat("y\n", 1<<20) // 2 MiB, as `yes` prints
	u := failedTestRun(t, "go, test, ./...")
	status := u.Object["status"].(map[string]any)
	status["conditions"] = []any{map[string]any{"type": "Succeeded", "status": "False", "reason": "Failed", "message": huge}}
	status["results"] = []any{map[string]any{"name": "out", "value": huge}}
	b, err := json.Marshal(taskRun(u))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 8<<10 {
		t.Errorf("a run's fact is %d bytes after 2 MiB of output, want at most 8 KiB", len(b))
	}
	pr := map[string]any{"r": map[string]any{"status": "False", "reason": "Failed", "message": huge}}
	Explain(pr, nil)
	if why := pr["r"].(map[string]any)["why"].(string); len(why) > maxText+8 {
		t.Errorf("why is %d bytes", len(why))
	}
}
