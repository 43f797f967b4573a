package cicd

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// task is a Task's structure: params, results, workspaces, steps.
func task(u *unstructured.Unstructured) map[string]any {
	spec := mapAt(u.Object, "spec")
	return map[string]any{
		"params":     names(spec["params"]),
		"results":    names(spec["results"]),
		"workspaces": names(spec["workspaces"]),
		"steps":      steps(spec["steps"]),
	}
}

// pipeline is a Pipeline's structure: its tasks in order, each with what it
// runs after, and its params, workspaces and results.
func pipeline(u *unstructured.Unstructured) map[string]any {
	spec := mapAt(u.Object, "spec")
	return map[string]any{
		"params":     names(spec["params"]),
		"workspaces": names(spec["workspaces"]),
		"results":    names(spec["results"]),
		"tasks":      pipelineTasks(spec["tasks"]),
		"finally":    pipelineTasks(spec["finally"]),
	}
}

// taskRun is what a TaskRun did.
func taskRun(u *unstructured.Unstructured) map[string]any {
	spec, status := mapAt(u.Object, "spec"), mapAt(u.Object, "status")
	out := run(u, status)
	out["task"] = str(mapAt(spec, "taskRef")["name"])
	out["serviceAccountName"] = str(spec["serviceAccountName"])
	out["pipelineRun"] = u.GetLabels()["tekton.dev/pipelineRun"]
	out["pipeline"] = u.GetLabels()["tekton.dev/pipeline"]
	out["pipelineTask"] = u.GetLabels()["tekton.dev/pipelineTask"]
	out["results"] = results(status["results"])
	out["workspaces"] = workspaceBindings(spec["workspaces"])
	// What the steps ran, from the spec the run resolved (status.taskSpec):
	// a later edit of the Task does not change it.
	ran := map[string]string{}
	for _, s := range list(mapAt(status, "taskSpec")["steps"]) {
		m, _ := s.(map[string]any)
		ran[str(m["name"])] = runs(m)
	}
	out["stepsDigest"] = stepsDigest(list(mapAt(status, "taskSpec")["steps"]))
	var st []any
	failed := map[string]any{"name": "", "exitCode": int64(0), "run": ""}
	for _, s := range list(status["steps"]) {
		m, _ := s.(map[string]any)
		term := mapAt(m, "terminated")
		name := str(m["name"])
		step := map[string]any{"name": name, "terminated": term != nil, "exitCode": int64(0), "reason": "", "run": ran[name]}
		if term != nil {
			code := integer(term["exitCode"])
			step["exitCode"], step["reason"] = code, str(term["reason"])
			if code != 0 && failed["name"] == "" {
				failed = map[string]any{"name": name, "exitCode": code, "run": ran[name]}
			}
		}
		st = append(st, step)
	}
	out["steps"] = orEmpty(st)
	// failedStep is the first step that exited non-zero (Tekton skips the
	// rest): which command failed, and how. Name "" when none did.
	out["failedStep"] = failed
	return out
}

// workspaceBindings maps a run's workspace names to what they are bound
// to: a ConfigMap's or Secret's name, a claim's, or emptyDir.
func workspaceBindings(v any) map[string]any {
	out := map[string]any{}
	for _, w := range list(v) {
		m, _ := w.(map[string]any)
		out[str(m["name"])] = map[string]any{
			"configMap":             str(mapAt(m, "configMap")["name"]),
			"secret":                str(mapAt(m, "secret")["secretName"]),
			"persistentVolumeClaim": str(mapAt(m, "persistentVolumeClaim")["claimName"]),
			"emptyDir":              m["emptyDir"] != nil,
		}
	}
	return out
}

// stepsDigest identifies what a run's resolved steps ran (name, image,
// command, args, script, working dir; not env, volumes or resources, which
// differ between runs): two runs with one digest ran the same commands,
// whatever the Task's name. "" before the run resolved its spec.
func stepsDigest(steps []any) string {
	if len(steps) == 0 {
		return ""
	}
	var ran []any
	for _, s := range steps {
		m, _ := s.(map[string]any)
		ran = append(ran, []any{m["name"], m["image"], m["command"], m["args"], m["script"], m["workingDir"]})
	}
	b, err := json.Marshal(ran)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// runs is what a step runs, as one text: its command and args, then its
// script (clipped), so checks can look for "go test".
func runs(step map[string]any) string {
	var words []string
	for _, w := range append(list(step["command"]), list(step["args"])...) {
		words = append(words, str(w))
	}
	return clip(strings.TrimSpace(strings.Join(words, " ") + "\n" + str(step["script"])))
}

// pipelineRun is what a PipelineRun did: status, results, and its
// TaskRuns by pipeline task.
func pipelineRun(u *unstructured.Unstructured) map[string]any {
	spec, status := mapAt(u.Object, "spec"), mapAt(u.Object, "status")
	out := run(u, status)
	out["pipeline"] = str(mapAt(spec, "pipelineRef")["name"])
	out["results"] = results(status["results"])
	children := map[string]any{}
	for _, c := range list(status["childReferences"]) {
		m, _ := c.(map[string]any)
		if str(m["kind"]) == "TaskRun" {
			children[str(m["pipelineTaskName"])] = str(m["name"])
		}
	}
	out["taskRuns"] = children
	out["workspaces"] = workspaceBindings(spec["workspaces"])
	return out
}

// run is what TaskRuns and PipelineRuns share: the Succeeded condition
// ("True", "False" or "Unknown" while running; "" before the controller
// saw it), its reason and message, and when the run started and ended
// (RFC 3339, "" when not yet).
func run(u *unstructured.Unstructured, status map[string]any) map[string]any {
	out := map[string]any{
		"status": "", "reason": "", "message": "",
		"startTime":      str(status["startTime"]),
		"completionTime": str(status["completionTime"]),
		"params":         params(mapAt(u.Object, "spec")["params"]),
	}
	for _, c := range list(status["conditions"]) {
		m, _ := c.(map[string]any)
		if str(m["type"]) == "Succeeded" {
			out["status"], out["reason"], out["message"] = str(m["status"]), str(m["reason"]), clip(str(m["message"]))
		}
	}
	return out
}

func pipelineTasks(v any) []any {
	var out []any
	for _, t := range list(v) {
		m, _ := t.(map[string]any)
		ws := []any{}
		for _, w := range list(m["workspaces"]) {
			wm, _ := w.(map[string]any)
			ws = append(ws, str(wm["name"]))
		}
		out = append(out, map[string]any{
			"name":       str(m["name"]),
			"taskRef":    str(mapAt(m, "taskRef")["name"]),
			"inline":     m["taskSpec"] != nil,
			"steps":      steps(mapAt(m, "taskSpec")["steps"]),
			"runAfter":   orEmpty(list(m["runAfter"])),
			"params":     params(m["params"]),
			"workspaces": ws,
		})
	}
	return orEmpty(out)
}

func steps(v any) []any {
	var out []any
	for _, s := range list(v) {
		m, _ := s.(map[string]any)
		out = append(out, map[string]any{"name": str(m["name"]), "image": str(m["image"]), "run": runs(m)})
	}
	return orEmpty(out)
}

// names lists the name field of each element: params, workspaces, results.
func names(v any) []any {
	var out []any
	for _, e := range list(v) {
		m, _ := e.(map[string]any)
		out = append(out, str(m["name"]))
	}
	return orEmpty(out)
}

// params maps name -> value of a params list (a value may be a string, an
// array or an object, as Tekton allows).
func params(v any) map[string]any {
	out := map[string]any{}
	for _, p := range list(v) {
		m, _ := p.(map[string]any)
		out[str(m["name"])] = m["value"]
	}
	return out
}

// results maps name -> value of a run's results, a string value clipped:
// results are what steps print into their termination message (or, with
// sidecar logs, their log), not bounded by the facts.
func results(v any) map[string]any {
	out := params(v)
	for k, r := range out {
		if s, ok := r.(string); ok {
			out[k] = clip(s)
		}
	}
	return out
}

// integer reads a JSON number: int64 from the apiserver's decoder, float64
// from encoding/json.
func integer(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case float64:
		return int64(n)
	}
	return 0
}

func mapAt(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	return v
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func orEmpty(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}

func clip(s string) string {
	if len(s) <= maxText {
		return s
	}
	return s[:maxText] + "…"
}
