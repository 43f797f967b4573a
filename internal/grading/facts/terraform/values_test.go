package terraform

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/handson-dev/rotation-operator/internal/jsontree"
)

type valueCase struct {
	name    string
	in, out any
}

func runValueCases(t *testing.T, fn func(any) any, cases []valueCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := fn(tc.in); !reflect.DeepEqual(got, tc.out) {
				t.Errorf("got %#v, want %#v", got, tc.out)
			}
		})
	}
}

// normalize copies decoded JSON into CEL values: json.Number and ints to
// int64 when integral, float64 otherwise; float64 to int64 only below 2^53.
func TestNormalizeValues(t *testing.T) {
	runValueCases(t, normalize, []valueCase{
		{"number int", json.Number("42"), int64(42)},
		{"number negative", json.Number("-7"), int64(-7)},
		{"number fraction", json.Number("1.5"), 1.5},
		{"number exponent", json.Number("1e3"), 1000.0},
		{"number over int64", json.Number("12345678901234567890"), 1.2345678901234567e19},
		{"number over float64", json.Number("1e400"), math.Inf(1)},
		{"float integral", 2.0, int64(2)},
		{"float 2^53-1", float64(1<<53 - 1), int64(1<<53 - 1)},
		{"float 2^53", float64(1 << 53), float64(1 << 53)},
		{"float fraction", 0.25, 0.25},
		{"int", 7, int64(7)},
		{"int32 is left alone", int32(7), int32(7)},
		{"string", "3", "3"},
		{"nil", nil, nil},
		{"nil map becomes empty", map[string]any(nil), map[string]any{}},
		{"nil list becomes empty", []any(nil), []any{}},
		{"nested, nulls kept", map[string]any{"a": []any{json.Number("1"), nil}, "b": nil, "c": map[string]any{"d": 2.0}},
			map[string]any{"a": []any{int64(1), nil}, "b": nil, "c": map[string]any{"d": int64(2)}}},
	})
	in := map[string]any{"n": json.Number("1"), "l": []any{2.0}}
	normalize(in)
	if in["n"] != json.Number("1") || in["l"].([]any)[0] != 2.0 {
		t.Errorf("normalize changed its input: %#v", in)
	}
}

// The collector hands out cached facts through jsontree.DeepCopy, which
// copies maps and lists at any depth and shares every leaf.
func TestDeepCopy(t *testing.T) {
	runValueCases(t, jsontree.DeepCopy, []valueCase{
		{"scalar", json.Number("1"), json.Number("1")},
		{"nil", nil, nil},
		{"nil map becomes empty", map[string]any(nil), map[string]any{}},
		{"nil list becomes empty", []any(nil), []any{}},
		{"nested", map[string]any{"a": []any{1.0, nil, map[string]any{"b": nil}}}, map[string]any{"a": []any{1.0, nil, map[string]any{"b": nil}}}},
	})
	in := map[string]any{"m": map[string]any{"k": "v"}, "l": []any{"x"}}
	c := jsontree.DeepCopy(in).(map[string]any)
	c["m"].(map[string]any)["k"] = "changed"
	c["l"].([]any)[0] = "changed"
	if in["m"].(map[string]any)["k"] != "v" || in["l"].([]any)[0] != "x" {
		t.Errorf("the copy shares a map or list with its original: %#v", in)
	}
}

// prune copies v without nulls and empty maps or lists in maps, at any
// depth; list elements stay in place, pruned.
func TestPrune(t *testing.T) {
	runValueCases(t, prune, []valueCase{
		{"scalar", "x", "x"},
		{"nil", nil, nil},
		{"empty map", map[string]any{}, nil},
		{"empty list", []any{}, nil},
		{"nil map", map[string]any(nil), nil},
		{"nil list", []any(nil), nil},
		{"nulls and empties dropped", map[string]any{"a": nil, "b": map[string]any{}, "c": []any{}, "d": "x"}, map[string]any{"d": "x"}},
		{"maps emptied by pruning go", map[string]any{"a": map[string]any{"b": map[string]any{"c": nil}}}, nil},
		{"list elements stay, pruned", []any{nil, map[string]any{}, map[string]any{"a": nil, "b": 1.0}, []any{}},
			[]any{nil, nil, map[string]any{"b": 1.0}, nil}},
		{"zero values stay", map[string]any{"s": "", "n": 0.0, "f": false}, map[string]any{"s": "", "n": 0.0, "f": false}},
	})
	in := map[string]any{"a": nil, "b": map[string]any{"c": nil}}
	prune(in)
	if len(in) != 2 || len(in["b"].(map[string]any)) != 1 {
		t.Errorf("prune changed its input: %#v", in)
	}
}

// jsonValue is v as encoding/json would decode it back with UseNumber:
// numbers become json.Number, other Go types their JSON shape, and a value
// JSON cannot hold makes the whole result nil.
func TestJSONValue(t *testing.T) {
	type obj struct {
		A int    `json:"a"`
		B string `json:"b,omitempty"`
	}
	runValueCases(t, jsonValue, []valueCase{
		{"number stays", json.Number("1.50"), json.Number("1.50")},
		{"empty number is 0", json.Number(""), json.Number("0")},
		{"float integral", 2.0, json.Number("2")},
		{"float fraction", 1.5, json.Number("1.5")},
		{"float large", 1e21, json.Number("1e+21")},
		{"float small", 1e-7, json.Number("1e-7")},
		{"float 2^60, shortest digits", float64(1 << 60), json.Number("1152921504606847000")},
		{"int", 3, json.Number("3")},
		{"string", "a<b>&", "a<b>&"},
		{"bool", false, false},
		{"nil", nil, nil},
		{"typed map", map[string]string{"k": "v"}, map[string]any{"k": "v"}},
		{"typed list", []string{"x"}, []any{"x"}},
		{"struct", obj{A: 1}, map[string]any{"a": json.Number("1")}},
		{"nil map is null", map[string]any(nil), nil},
		{"nil list is null", []any(nil), nil},
		{"empty map", map[string]any{}, map[string]any{}},
		{"nested", map[string]any{"a": []any{2.5, nil, map[string]any{"b": 1.0}}}, map[string]any{"a": []any{json.Number("2.5"), nil, map[string]any{"b": json.Number("1")}}}},
		{"NaN makes it all nil", map[string]any{"ok": "x", "bad": math.NaN()}, nil},
		{"infinity makes it all nil", []any{math.Inf(-1)}, nil},
	})
	in := map[string]any{"l": []any{"x"}}
	out := jsonValue(in).(map[string]any)
	out["l"].([]any)[0] = "changed"
	if in["l"].([]any)[0] != "x" {
		t.Error("jsonValue shares a list with its input")
	}
}
