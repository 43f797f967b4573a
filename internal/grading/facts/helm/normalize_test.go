package helm

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// normalizeNumbers rewrites decoded values in place: integral float64s in
// int64's range become int64, everything else stays as it is.
func TestNormalizeNumbers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in, out any
	}{
		{"integral float", 3.0, int64(3)},
		{"negative zero", math.Copysign(0, -1), int64(0)},
		{"fraction", 1.5, 1.5},
		{"int64 min", float64(math.MinInt64), int64(math.MinInt64)},
		{"2^62", float64(1 << 62), int64(1 << 62)},
		{"2^63 is out of range", float64(1 << 63), float64(1 << 63)},
		{"huge", 1e300, 1e300},
		{"infinity", math.Inf(1), math.Inf(1)},
		{"int is left alone", 7, 7},
		{"json.Number is left alone", json.Number("2"), json.Number("2")},
		{"string", "3", "3"},
		{"bool", true, true},
		{"nil", nil, nil},
		{"nested", map[string]any{"a": []any{1.0, map[string]any{"b": 2.5, "c": nil}}, "d": 4.0},
			map[string]any{"a": []any{int64(1), map[string]any{"b": 2.5, "c": nil}}, "d": int64(4)}},
		{"nil map", map[string]any(nil), map[string]any(nil)},
		{"nil list", []any(nil), []any(nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := normalizeNumbers(tc.in); !reflect.DeepEqual(got, tc.out) {
				t.Errorf("normalizeNumbers(%#v) = %#v, want %#v", tc.in, got, tc.out)
			}
		})
	}

	// In place: the caller's maps and lists are the ones rewritten.
	list := []any{1.0}
	m := map[string]any{"replicas": 3.0, "list": list}
	normalizeNumbers(m)
	if m["replicas"] != int64(3) || list[0] != int64(1) {
		t.Errorf("not rewritten in place: %#v %#v", m, list)
	}
}
