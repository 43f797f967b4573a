package cicd

import (
	"fmt"
	"sort"
	"strings"
)

// Tekton's reasons the explanation treats apart.
const (
	// reasonFailed is a PipelineRun's reason when one of its tasks failed:
	// the task's own reason says more.
	reasonFailed = "Failed"
)

// progressing are the reasons of a TaskRun that runs as it should: any other
// reason of a TaskRun still Unknown is a wait worth telling
// (ExceededResourceQuota: its pod is refused by the lab's quota, retried
// every minute until the run times out).
var progressing = map[string]bool{"": true, "Running": true, "Started": true, "Pending": true}

// Explain sets each PipelineRun's why: in a sentence, why it did not
// succeed or is stuck, from its own status and its TaskRuns', e.g.
// `its task test failed: Failed: "step-test" exited with code 1`,
// `CouldntGetTask: Pipeline lab-a/ci can't be Run; ...`,
// `its task test is waiting: ExceededResourceQuota: TaskRun Pod exceeded
// available resources: ...`. "" for a run that succeeded or runs as it
// should. Checks' messages show it (messageExpression); taskRuns may be
// nil (no TaskRun then). Both are maps of summaries by name, as Collect
// returns them.
func Explain(pipelineRuns, taskRuns map[string]any) {
	byRun := map[string][]map[string]any{}
	names := make([]string, 0, len(taskRuns))
	for n := range taskRuns {
		names = append(names, n)
	}
	sort.Strings(names) // one answer for one lab
	for _, n := range names {
		tr, _ := taskRuns[n].(map[string]any)
		if pr := str(tr["pipelineRun"]); pr != "" {
			byRun[pr] = append(byRun[pr], tr)
		}
	}
	for name, v := range pipelineRuns {
		pr, ok := v.(map[string]any)
		if !ok {
			continue
		}
		pr["why"] = clip(why(pr, byRun[name]))
	}
}

func why(pr map[string]any, tasks []map[string]any) string {
	status, reason, message := str(pr["status"]), str(pr["reason"]), str(pr["message"])
	switch {
	case status == "True":
		return ""
	case status == "False" && reason != reasonFailed:
		// The run's own cause: CouldntGetTask, PipelineRunTimeout, a
		// validation failure, a cancellation.
		return sentence(reason, message)
	}
	for _, tr := range tasks {
		if str(tr["status"]) != "False" {
			continue
		}
		// A step's exit code, unless the task failed otherwise (its timeout
		// killed the step, its pod was refused): its reason says that.
		if step, _ := tr["failedStep"].(map[string]any); str(tr["reason"]) == reasonFailed && str(step["name"]) != "" {
			return fmt.Sprintf("its task %s failed: step %s (%s) exited with code %d", str(tr["pipelineTask"]),
				str(step["name"]), firstLine(str(step["run"])), integer(step["exitCode"]))
		}
		return fmt.Sprintf("its task %s failed: %s", str(tr["pipelineTask"]), sentence(str(tr["reason"]), str(tr["message"])))
	}
	for _, tr := range tasks {
		if r := str(tr["reason"]); str(tr["status"]) != "True" && !progressing[r] {
			return fmt.Sprintf("its task %s is waiting: %s", str(tr["pipelineTask"]), sentence(r, str(tr["message"])))
		}
	}
	if status == "False" {
		return sentence(reason, message)
	}
	return ""
}

func sentence(reason, message string) string {
	if message == "" {
		return reason
	}
	return reason + ": " + message
}

// firstLine is what a step ran, short: its first line, at most 80 bytes.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}
