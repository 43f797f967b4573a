// Package jsontree rebuilds trees of decoded JSON (map[string]any, []any and
// leaves) with one walk, so that copying, number normalisation and pruning
// are each a transform of a leaf or a node rather than their own recursion.
package jsontree

// A Walker rebuilds a tree bottom-up. The elements of a map[string]any or
// []any are rebuilt first; the rebuilt map or list then goes through Node.
// Every other value (string, number, bool, nil, or any other Go type) goes
// through Leaf. The zero Walker deep-copies.
type Walker struct {
	// Leaf maps each leaf; nil keeps leaves as they are.
	Leaf func(v any) any
	// Node maps each rebuilt map or list; nil keeps them.
	Node func(v any) any
	// DropNil leaves out map entries whose rebuilt value is nil. List
	// elements always stay, so that indices keep their meaning.
	DropNil bool
	// InPlace rewrites the given maps and lists instead of copying them.
	InPlace bool
	// NilAsNull rebuilds a nil map or list as nil (JSON's null, as
	// encoding/json marshals it), without calling Node. Otherwise a copy
	// makes it an empty map or list, as apimachinery's DeepCopyJSON does,
	// and InPlace keeps it.
	NilAsNull bool
}

// Map returns v rebuilt.
func (w Walker) Map(v any) any { return w.walk(v) }

// walk is Map on a pointer, so that deep trees do not copy the Walker at
// every level.
func (w *Walker) walk(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x == nil && w.NilAsNull {
			return nil
		}
		out := x
		if !w.InPlace {
			out = make(map[string]any, len(x))
		}
		for k, e := range x {
			m := w.walk(e)
			if m == nil && w.DropNil {
				delete(out, k) // a no-op on a copy
				continue
			}
			out[k] = m
		}
		return w.node(out)
	case []any:
		if x == nil && w.NilAsNull {
			return nil
		}
		out := x
		if !w.InPlace {
			out = make([]any, len(x))
		}
		for i, e := range x {
			out[i] = w.walk(e)
		}
		return w.node(out)
	default:
		if w.Leaf == nil {
			return v
		}
		return w.Leaf(v)
	}
}

func (w *Walker) node(v any) any {
	if w.Node == nil {
		return v
	}
	return w.Node(v)
}

// DeepCopy copies every map and list of v; leaves are shared.
func DeepCopy(v any) any { return Walker{}.Map(v) }
