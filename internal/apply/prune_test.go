package apply

import (
	"reflect"
	"testing"
)

// prune deletes nulls from maps, in place, at any depth; empty maps and
// lists and null list elements stay.
func TestPrune(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in, out any
	}{
		{"scalar", "x", "x"},
		{"nil", nil, nil},
		{"nulls dropped", map[string]any{"a": nil, "b": "x"}, map[string]any{"b": "x"}},
		{"empties stay", map[string]any{"sel": map[string]any{}, "l": []any{}}, map[string]any{"sel": map[string]any{}, "l": []any{}}},
		{"nested", map[string]any{"spec": map[string]any{"t": nil, "l": []any{nil, map[string]any{"x": nil, "y": int64(1)}}}},
			map[string]any{"spec": map[string]any{"l": []any{nil, map[string]any{"y": int64(1)}}}}},
		{"map emptied by pruning stays", map[string]any{"m": map[string]any{"a": nil}}, map[string]any{"m": map[string]any{}}},
		{"nil map", map[string]any(nil), map[string]any(nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := prune(tc.in); !reflect.DeepEqual(got, tc.out) {
				t.Errorf("prune(%#v) = %#v, want %#v", tc.in, got, tc.out)
			}
		})
	}

	inner := map[string]any{"gone": nil, "kept": "x"}
	in := map[string]any{"inner": inner}
	prune(in)
	if _, ok := inner["gone"]; ok {
		t.Error("prune did not work in place")
	}
}
