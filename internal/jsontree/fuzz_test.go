package jsontree

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzWalker runs the walker's modes on arbitrary JSON, decoded both ways
// encoding/json can: nothing panics, copies equal and never share with
// their input, in-place walks return their input, DropNil leaves no nil in
// a map and no list shorter, and DeleteKeys removes what it names.
func FuzzWalker(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"b":[1.5,null,{"c":null,"d":{}}],"e":[]}`,
		`[[[[]]],{},null,"x",true,1e400,-0]`,
		`{"status":{"conditions":[{"lastUpdateTime":"t"},1,null]}}`,
		`null`, `1`, `"s"`,
	} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, doc []byte, useNumber bool) {
		if len(doc) > 1<<16 {
			return
		}
		decode := func() any {
			dec := json.NewDecoder(bytes.NewReader(doc))
			if useNumber {
				dec.UseNumber()
			}
			var v any
			if dec.Decode(&v) != nil {
				return nil
			}
			return v
		}
		v := decode()
		if v == nil {
			return
		}
		pristine := decode()

		c := DeepCopy(v)
		if !reflect.DeepEqual(c, v) {
			t.Fatalf("DeepCopy = %#v, want %#v", c, v)
		}
		// Mark every container of the copy; the original must not see it.
		Walker{InPlace: true, Node: func(n any) any {
			switch x := n.(type) {
			case map[string]any:
				x["\x00marked"] = true
			case []any:
				if len(x) > 0 {
					x[0] = "\x00marked"
				}
			}
			return n
		}}.Map(c)
		if !reflect.DeepEqual(v, pristine) {
			t.Fatalf("marking a copy changed its original: %#v", v)
		}

		pruned := Walker{DropNil: true}.Map(v)
		if !reflect.DeepEqual(v, pristine) {
			t.Fatalf("a copying walk changed its input: %#v", v)
		}
		checkPruned(t, pruned, v)

		if same := (Walker{InPlace: true}).Map(v); !reflect.DeepEqual(same, pristine) {
			t.Fatalf("identity in place = %#v, want %#v", same, pristine)
		}

		DeleteKeys(v, []string{Each}, "a")
		DeleteKeys(v, nil, "a")
		if m, ok := v.(map[string]any); ok {
			if _, ok := m["a"]; ok {
				t.Fatal("DeleteKeys left the key")
			}
		}
		if l, ok := v.([]any); ok {
			for _, e := range l {
				if m, ok := e.(map[string]any); ok {
					if _, ok := m["a"]; ok {
						t.Fatal("DeleteKeys left the key in an element")
					}
				}
			}
		}
	})
}

// checkPruned: no nil map values at any depth, lists as long as before.
func checkPruned(t *testing.T, got, orig any) {
	t.Helper()
	switch x := got.(type) {
	case map[string]any:
		o := orig.(map[string]any)
		for k, e := range x {
			if e == nil {
				t.Fatalf("DropNil kept %q: nil", k)
			}
			checkPruned(t, e, o[k])
		}
	case []any:
		o := orig.([]any)
		if len(x) != len(o) {
			t.Fatalf("DropNil changed a list's length: %d, was %d", len(x), len(o))
		}
		for i, e := range x {
			checkPruned(t, e, o[i])
		}
	}
}
