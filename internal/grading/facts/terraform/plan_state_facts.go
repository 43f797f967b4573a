package terraform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"unicode/utf8"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/handson-dev/rotation-operator/internal/jsontree"
)

// bookkeeping are the attributes, inside a kubernetes resource's metadata
// block, that the apiserver changes by itself (a Deployment's status
// updates bump resource_version): a refresh that finds only these is not
// drift.
var bookkeeping = map[string]bool{"resource_version": true, "generation": true, "uid": true}

// driftFacts shapes refresh-detected changes, leaving out those that
// touch only bookkeeping metadata; each names the top-level attributes
// that changed.
func driftFacts(rcs []*tfjson.ResourceChange) []any {
	out := []any{}
	for _, rc := range rcs {
		if rc == nil || rc.Change == nil || len(out) >= MaxResources {
			continue
		}
		before, _ := normalize(jsonValue(rc.Change.Before)).(map[string]any)
		after, _ := normalize(jsonValue(rc.Change.After)).(map[string]any)
		var changed []string
		for _, k := range unionKeys(before, after) {
			b, a := prune(stripBookkeeping(k, before[k])), prune(stripBookkeeping(k, after[k]))
			if !reflect.DeepEqual(b, a) {
				changed = append(changed, k)
				if os.Getenv("ROTATION_DEBUG_DRIFT") != "" {
					fmt.Fprintf(os.Stderr, "drift %s.%s:\n  before %#v\n  after  %#v\n", rc.Address, k, b, a)
				}
			}
		}
		if len(changed) == 0 && before != nil && after != nil {
			continue
		}
		actions := make([]any, len(rc.Change.Actions))
		for i, a := range rc.Change.Actions {
			actions[i] = string(a)
		}
		out = append(out, map[string]any{"address": rc.Address, "type": rc.Type, "actions": actions, "attributes": stringList(changed)})
	}
	return out
}

// prune copies v without nulls and empty maps and lists, in maps, at any
// depth: the provider reads an absent map back as null or {} depending on
// the object.
func prune(v any) any {
	return jsontree.Walker{DropNil: true, Node: nilIfEmpty}.Map(v)
}

// nilIfEmpty is nil for an empty map or list.
func nilIfEmpty(v any) any {
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

func unionKeys(a, b map[string]any) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range []map[string]any{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// stripBookkeeping drops the bookkeeping attributes of a metadata block
// (a list of one object in the provider's schema).
func stripBookkeeping(key string, v any) any {
	if key != "metadata" {
		return v
	}
	list, ok := v.([]any)
	if !ok {
		return v
	}
	out := make([]any, len(list))
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			out[i] = e
			continue
		}
		c := make(map[string]any, len(m))
		for k, x := range m {
			if !bookkeeping[k] {
				c[k] = x
			}
		}
		out[i] = c
	}
	return out
}

// resourceChanges shapes plan changes, leaving out no-ops.
func resourceChanges(rcs []*tfjson.ResourceChange, withImport bool) []any {
	out := []any{}
	for _, rc := range rcs {
		if rc == nil || rc.Change == nil {
			continue
		}
		importing := rc.Change.Importing != nil
		if rc.Change.Actions.NoOp() && !importing {
			continue
		}
		if len(out) >= MaxResources {
			break
		}
		actions := make([]any, len(rc.Change.Actions))
		for i, a := range rc.Change.Actions {
			actions[i] = string(a)
		}
		c := map[string]any{"address": rc.Address, "type": rc.Type, "actions": actions}
		if withImport {
			c["importing"] = importing
		}
		out = append(out, c)
	}
	return out
}

// recordState shapes the state's resources and outputs.
func (r *run) recordState(s *tfjson.State) {
	resources := map[string]any{}
	outputs := map[string]any{}
	if s.Values != nil {
		for name, o := range s.Values.Outputs {
			if o == nil {
				continue
			}
			v := normalize(jsonValue(o.Value))
			if o.Sensitive {
				v = sensitiveValue
			}
			outputs[name] = map[string]any{"value": v, "sensitive": o.Sensitive}
		}
		var walk func(m *tfjson.StateModule)
		walk = func(m *tfjson.StateModule) {
			if m == nil {
				return
			}
			for _, res := range m.Resources {
				if res == nil || len(resources) >= MaxResources {
					continue
				}
				var sensitive any
				if len(res.SensitiveValues) > 0 {
					_ = json.Unmarshal(res.SensitiveValues, &sensitive)
				}
				values := normalize(jsonValue(res.AttributeValues))
				resources[res.Address] = map[string]any{
					"type": res.Type, "name": res.Name, "mode": string(res.Mode),
					"values": redact(values, sensitive),
				}
			}
			for _, c := range m.ChildModules {
				walk(c)
			}
		}
		walk(s.Values.RootModule)
	}
	r.facts[FactResources] = resources
	r.facts[FactOutputs] = outputs
}

// jsonValue is v as encoding/json would decode it back with UseNumber, so
// every number is a json.Number whatever the decoder that produced v used;
// it is nil when v holds something JSON cannot (NaN, say). Maps and lists
// are copied; each other leaf goes through JSON on its own. Map keys are
// kept as they are: decoders only produce valid UTF-8 ones.
func jsonValue(v any) any {
	ok := true
	out := jsontree.Walker{NilAsNull: true, Leaf: func(l any) any {
		j, err := jsonLeaf(l)
		ok = ok && err == nil
		return j
	}}.Map(v)
	if !ok {
		return nil
	}
	return out
}

// jsonLeaf round-trips one leaf through JSON, skipping those that come
// back unchanged.
func jsonLeaf(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool:
		return v, nil
	case string:
		if utf8.ValidString(x) {
			return v, nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}
