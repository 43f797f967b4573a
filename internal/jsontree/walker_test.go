package jsontree

import (
	"fmt"
	"reflect"
	"testing"
)

func double(v any) any {
	if n, ok := v.(int); ok {
		return 2 * n
	}
	return v
}

func emptyToNil(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			return nil
		}
	case []any:
		if len(x) == 0 {
			return nil
		}
	}
	return v
}

func TestWalkerMap(t *testing.T) {
	tree := func() any {
		return map[string]any{"a": 1, "b": []any{2, nil, map[string]any{"c": 3, "d": nil}}, "e": nil, "f": map[string]any{}, "g": []any{}}
	}
	for _, tc := range []struct {
		name string
		w    Walker
		in   any
		out  any
	}{
		{"zero walker copies", Walker{}, tree(), tree()},
		{"leaf", Walker{Leaf: double}, tree(),
			map[string]any{"a": 2, "b": []any{4, nil, map[string]any{"c": 6, "d": nil}}, "e": nil, "f": map[string]any{}, "g": []any{}}},
		{"leaf on a bare leaf", Walker{Leaf: double}, 5, 10},
		{"drop nil in maps only", Walker{DropNil: true}, tree(),
			map[string]any{"a": 1, "b": []any{2, nil, map[string]any{"c": 3}}, "f": map[string]any{}, "g": []any{}}},
		{"node after its elements", Walker{DropNil: true, Node: emptyToNil}, map[string]any{"a": map[string]any{"b": map[string]any{"c": nil}}, "l": []any{[]any{}}, "k": "v"},
			map[string]any{"l": []any{nil}, "k": "v"}},
		{"nil map copied empty", Walker{}, map[string]any(nil), map[string]any{}},
		{"nil list copied empty", Walker{}, []any(nil), []any{}},
		{"nil map as null", Walker{NilAsNull: true, Node: func(any) any { return "node" }}, map[string]any(nil), nil},
		{"nil list as null", Walker{NilAsNull: true}, []any{[]any(nil)}, []any{nil}},
		{"nil map in place stays", Walker{InPlace: true}, map[string]any(nil), map[string]any(nil)},
		{"other Go types are leaves", Walker{Leaf: func(v any) any { return fmt.Sprint(v) }}, []any{map[string]int{"x": 1}, []string{"y"}},
			[]any{"map[x:1]", "[y]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.w.Map(tc.in); !reflect.DeepEqual(got, tc.out) {
				t.Errorf("got  %#v\nwant %#v", got, tc.out)
			}
		})
	}
}

func TestWalkerCopyLeavesInputAlone(t *testing.T) {
	in := map[string]any{"a": []any{1, nil}, "b": nil}
	out := Walker{Leaf: double, DropNil: true}.Map(in).(map[string]any)
	out["a"].([]any)[0] = "changed"
	if !reflect.DeepEqual(in, map[string]any{"a": []any{1, nil}, "b": nil}) {
		t.Errorf("input changed: %#v", in)
	}
}

func TestWalkerInPlace(t *testing.T) {
	list := []any{1, map[string]any{"x": nil, "y": 2}}
	in := map[string]any{"l": list, "gone": nil}
	out := Walker{InPlace: true, DropNil: true, Leaf: double}.Map(in).(map[string]any)
	if reflect.ValueOf(out).Pointer() != reflect.ValueOf(in).Pointer() {
		t.Error("InPlace returned another map")
	}
	want := map[string]any{"l": []any{2, map[string]any{"y": 4}}}
	if !reflect.DeepEqual(in, want) || !reflect.DeepEqual(list, want["l"]) {
		t.Errorf("got %#v, list %#v; want %#v", in, list, want)
	}
}

func TestDeepCopy(t *testing.T) {
	in := map[string]any{"m": map[string]any{"k": "v"}, "l": []any{"x", []any{"y"}}}
	c := DeepCopy(in).(map[string]any)
	if !reflect.DeepEqual(c, in) {
		t.Fatalf("copy %#v differs from %#v", c, in)
	}
	c["m"].(map[string]any)["k"] = "changed"
	c["l"].([]any)[1].([]any)[0] = "changed"
	if in["m"].(map[string]any)["k"] != "v" || in["l"].([]any)[1].([]any)[0] != "y" {
		t.Errorf("the copy shares a map or list with its original: %#v", in)
	}
}
