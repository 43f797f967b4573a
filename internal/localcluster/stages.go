package localcluster

import (
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// podCompleteStage is the metadata.name of kwok's Stage that marks Running
// Job pods Succeeded.
const podCompleteStage = "pod-complete"

// harnessSkipExpression is the selector expression added to kwok's
// pod-complete stage so it leaves harness-run pods to RunPods. kwok
// evaluates the key with gojq: the bracket form takes the annotation key
// verbatim (dots and slash included), and a missing annotation (or no
// annotations at all) yields null, which DoesNotExist matches.
func harnessSkipExpression() map[string]any {
	return map[string]any{
		"jq": map[string]any{
			"key":      fmt.Sprintf(".metadata.annotations[%q]", RuntimeAnnotation),
			"operator": "DoesNotExist",
		},
	}
}

// withHarnessPodComplete returns stages with kwok's pod-complete stage
// replaced by a copy, written to dir, that skips pods annotated
// RuntimeAnnotation. The copy is derived from kwok's file at every start, so
// changes in kwok's stage carry over. Pods annotated with any value are
// skipped: one value (RuntimeHarness) exists today, and a pod asking for a
// runtime we do not know should not silently "succeed" either.
func withHarnessPodComplete(stages []string, dir string) ([]string, error) {
	out := make([]string, 0, len(stages))
	found := false
	for _, path := range stages {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		var stage map[string]any
		if err := yaml.Unmarshal(data, &stage); err != nil {
			return nil, fmt.Errorf("kwok stage %s: %w", path, err)
		}
		if stage["kind"] != "Stage" || nestedString(stage, "metadata", "name") != podCompleteStage {
			out = append(out, path)
			continue
		}
		patched, err := addSelectorExpression(stage, harnessSkipExpression())
		if err != nil {
			return nil, fmt.Errorf("kwok stage %s: %w", path, err)
		}
		dst := filepath.Join(dir, filepath.Base(path))
		if err := os.WriteFile(dst, patched, 0o644); err != nil {
			return nil, err
		}
		out = append(out, dst)
		found = true
	}
	if !found {
		return nil, fmt.Errorf("no kwok Stage named %s among %v", podCompleteStage, stages)
	}
	return out, nil
}

// addSelectorExpression appends expr to spec.selector.matchExpressions of a
// kwok Stage and returns the Stage as YAML.
func addSelectorExpression(stage map[string]any, expr map[string]any) ([]byte, error) {
	spec, ok := stage["spec"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("no spec")
	}
	sel, _ := spec["selector"].(map[string]any)
	if sel == nil {
		sel = map[string]any{}
		spec["selector"] = sel
	}
	exprs, _ := sel["matchExpressions"].([]any)
	sel["matchExpressions"] = append(exprs, expr)
	return yaml.Marshal(stage)
}

func nestedString(m map[string]any, keys ...string) string {
	for i, k := range keys {
		v, ok := m[k]
		if !ok {
			return ""
		}
		if i == len(keys)-1 {
			s, _ := v.(string)
			return s
		}
		if m, ok = v.(map[string]any); !ok {
			return ""
		}
	}
	return ""
}
