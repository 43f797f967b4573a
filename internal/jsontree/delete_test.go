package jsontree

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestDeleteKeys(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		path           []string
		keys           []string
	}{
		{"top level", `{"a":1,"b":2,"c":3}`, `{"b":2}`, nil, []string{"a", "c", "missing"}},
		{"nested", `{"m":{"a":1,"b":2},"a":3}`, `{"m":{"b":2},"a":3}`, []string{"m"}, []string{"a"}},
		{"each element", `{"l":[{"a":1,"b":1},"x",null,{"a":2}]}`, `{"l":[{"b":1},"x",null,{}]}`, []string{"l", Each}, []string{"a"}},
		{"path through each", `{"l":[{"m":{"a":1}},{"m":"x"}]}`, `{"l":[{"m":{}},{"m":"x"}]}`, []string{"l", Each, "m"}, []string{"a"}},
		{"missing step", `{"m":{"a":1}}`, `{"m":{"a":1}}`, []string{"x"}, []string{"a"}},
		{"step on a scalar", `{"m":"a"}`, `{"m":"a"}`, []string{"m"}, []string{"a"}},
		{"each on a map", `{"m":{"a":{"a":1}}}`, `{"m":{"a":{"a":1}}}`, []string{"m", Each}, []string{"a"}},
		{"key on a list", `{"l":[{"a":1}]}`, `{"l":[{"a":1}]}`, []string{"l"}, []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in, want any
			if err := json.Unmarshal([]byte(tc.in), &in); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			DeleteKeys(in, tc.path, tc.keys...)
			if !reflect.DeepEqual(in, want) {
				t.Errorf("got %#v, want %#v", in, want)
			}
		})
	}
	DeleteKeys(nil, []string{"a", Each}, "b")
	DeleteKeys(map[string]any(nil), nil, "b")
}
