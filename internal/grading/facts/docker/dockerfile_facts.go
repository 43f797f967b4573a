package docker

import (
	"sort"
	"strings"
)

// DockerfileFacts grades the submitted files: files are flat names to
// contents, DockerfileName among them plus the build context. It never
// fails: a missing or unparsable Dockerfile is a fact with an error.
func DockerfileFacts(files map[string]string) map[string]any {
	var context []string
	for name := range files {
		if name != DockerfileName {
			context = append(context, name)
		}
	}
	sort.Strings(context)
	out := map[string]any{
		"present":      false,
		"error":        "",
		"contextFiles": strSlice(context),
		"dockerignore": hasKey(files, ".dockerignore"),
		"stages":       []any{},
		"stageCount":   int64(0),
		"multiStage":   false,
		"findings":     []any{},
		"violated":     map[string]any{},
	}
	src, ok := files[DockerfileName]
	if !ok {
		out["error"] = "no Dockerfile was submitted (the file must be named " + DockerfileName + ")"
		return out
	}
	out["present"] = true
	a, err := parseDockerfile(src)
	if err != nil {
		out["error"] = DockerfileName + ": " + err.Error()
		return out
	}
	a.context = context

	stages := make([]any, len(a.stages))
	for i, st := range a.stages {
		stages[i] = stageFacts(st)
	}
	out["stages"] = stages
	out["stageCount"] = int64(len(a.stages))
	out["multiStage"] = a.multiStage()
	for k, v := range imageConfigFacts(a.final().config) {
		out[k] = v
	}
	out["finalStage"] = stages[len(stages)-1]

	// violated and counts cover every finding; the list keeps MaxFindings.
	fs := lint(a)
	violated := map[string]any{}
	counts := map[string]any{SeverityError: int64(0), SeverityWarning: int64(0), SeverityInfo: int64(0)}
	for _, f := range fs {
		sev := rulesByID[f.rule].Severity
		violated[f.rule] = true
		counts[sev] = counts[sev].(int64) + 1
	}
	truncated := len(fs) > MaxFindings
	if truncated {
		fs = fs[:MaxFindings]
	}
	list := make([]any, len(fs))
	for i, f := range fs {
		r := rulesByID[f.rule]
		list[i] = map[string]any{"rule": f.rule, "severity": r.Severity, "line": int64(f.line), "message": f.message, "url": r.URL()}
	}
	out["findings"] = list
	out["findingsTruncated"] = truncated
	out["violated"] = violated
	out["counts"] = counts
	return out
}

func stageFacts(st *stage) map[string]any {
	copies := make([]any, 0, len(st.cmd.copies))
	for _, c := range st.cmd.copies {
		copies = append(copies, map[string]any{
			"line": int64(lineOf(c)), "from": c.From, "sources": strSlice(c.SourcePaths), "dest": c.DestPath, "chown": c.Chown,
		})
	}
	adds := make([]any, 0, len(st.cmd.adds))
	for _, c := range st.cmd.adds {
		adds = append(adds, map[string]any{"line": int64(lineOf(c)), "sources": strSlice(c.SourcePaths), "dest": c.DestPath})
	}
	runs := make([]any, 0, len(st.cmd.runs))
	for _, r := range st.cmd.runs {
		runs = append(runs, map[string]any{"line": int64(lineOf(r)), "command": truncate(runText(r), 4096), "form": form(r.PrependShell)})
	}
	baseStage := ""
	if st.baseStage >= 0 {
		baseStage = strings.ToLower(st.base)
	}
	pinned := st.baseStage >= 0 || st.scratch || st.digest != "" || (st.tag != "" && st.tag != "latest")
	return map[string]any{
		"index":          int64(st.index),
		"name":           st.name,
		"line":           int64(st.line),
		"baseImage":      st.base,
		"baseStage":      baseStage,
		"scratch":        st.scratch,
		"repository":     st.repository,
		"tag":            st.tag,
		"digest":         st.digest,
		"pinned":         pinned,
		"pinnedByDigest": st.digest != "",
		"platform":       st.platform,
		"instructions":   int64(len(st.cmd.all)),
		"user":           st.config.user,
		"copies":         copies,
		"adds":           adds,
		"runs":           runs,
	}
}

// imageConfigFacts is what the final stage leaves in the image config.
func imageConfigFacts(c stageConfig) map[string]any {
	health := map[string]any{"present": false, "none": false, "test": []any{}}
	if c.health != nil {
		health = map[string]any{}
		for k, v := range c.health {
			health[k] = v
		}
		health["present"] = !c.health["none"].(bool)
	}
	labels := make(map[string]any, len(c.labels))
	for k, v := range c.labels {
		labels[k] = v
	}
	env := make(map[string]any, len(c.env))
	for k, v := range c.env {
		env[k] = v
	}
	return map[string]any{
		"baseImage":   c.external,
		"user":        c.user,
		"userSet":     c.userSet,
		"runsAsRoot":  (!c.userSet && !nonRootBase(c.external)) || (c.userSet && isRootUser(c.user)),
		"numericUser": c.userSet && numericUser(c.user),
		"expose":      strSlice(c.expose),
		"healthcheck": health,
		"cmd":         cmdFacts(c.cmd),
		"entrypoint":  cmdFacts(c.entrypoint),
		"labels":      labels,
		"env":         env,
		"workdir":     c.workdir,
		"shell":       strSlice(c.shell),
	}
}

func cmdFacts(c *cmdLine) map[string]any {
	if c == nil {
		return map[string]any{"set": false, "form": "", "args": []any{}, "line": int64(0)}
	}
	return map[string]any{"set": true, "form": c.form, "args": strSlice(c.args), "line": int64(c.line)}
}

func strSlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
