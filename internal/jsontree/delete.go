package jsontree

// Each is the step of a path that stands for every element of a list.
const Each = "[*]"

// DeleteKeys deletes keys, in place, from the maps that path leads to from
// v: each step is a map key, or Each. Steps that find no map (or, for Each,
// no list) lead nowhere, so odd shapes are left alone.
func DeleteKeys(v any, path []string, keys ...string) {
	if len(path) == 0 {
		if m, ok := v.(map[string]any); ok {
			for _, k := range keys {
				delete(m, k)
			}
		}
		return
	}
	step, rest := path[0], path[1:]
	if step == Each {
		if l, ok := v.([]any); ok {
			for _, e := range l {
				DeleteKeys(e, rest, keys...)
			}
		}
		return
	}
	if m, ok := v.(map[string]any); ok {
		DeleteKeys(m[step], rest, keys...)
	}
}
