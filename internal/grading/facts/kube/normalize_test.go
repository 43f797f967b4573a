package kube

import (
	"reflect"
	"testing"
)

// Normalize deletes only its listed fields, in place, and leaves every
// value (numbers included) as the decoder made it.
func TestNormalizeInPlaceOnlyListedFields(t *testing.T) {
	conds := []any{map[string]any{"type": "Ready", "lastProbeTime": nil, "lastUpdateTime": "t", "lastTransitionTime": "t"}, "x"}
	meta := map[string]any{"name": "web", "uid": "u", "resourceVersion": "1", "creationTimestamp": "t", "managedFields": []any{}, "generation": int64(2)}
	obj := map[string]any{
		"metadata": meta,
		"spec":     map[string]any{"replicas": int64(3), "ratio": 0.5, "template": map[string]any{"metadata": map[string]any{"uid": "kept"}}},
		"status":   map[string]any{"conditions": conds, "lastUpdateTime": "kept"},
	}
	Normalize(obj)
	want := map[string]any{
		"metadata": map[string]any{"name": "web", "generation": int64(2)},
		"spec":     map[string]any{"replicas": int64(3), "ratio": 0.5, "template": map[string]any{"metadata": map[string]any{"uid": "kept"}}},
		"status":   map[string]any{"conditions": []any{map[string]any{"type": "Ready"}, "x"}, "lastUpdateTime": "kept"},
	}
	if !reflect.DeepEqual(obj, want) {
		t.Errorf("got  %#v\nwant %#v", obj, want)
	}
	if len(meta) != 2 || len(conds[0].(map[string]any)) != 1 {
		t.Errorf("not normalized in place: %#v %#v", meta, conds)
	}
}
