package grading

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
)

// HashFacts identifies what the learner wrote in the facts an exercise
// reads: objects without their status and without *.kubernetes.io
// annotations, which controllers change on their own (a Deployment's ready
// replicas or revision must not count as a learner attempt), and without
// the objects a controller owns (a Deployment's ReplicaSets, their pods and
// the node the scheduler binds them to): the learner acts on the owner.
//
// Each scope entry is a fact ("kube.deployments"), one object of it
// ("kube.deployments/api") or a path below one ("docker.images/hello/tags/v1"),
// each key escaped as in a JSON pointer: see Program.AttemptScope.
func HashFacts(vars map[string]any, scope []string) (string, error) {
	return NewFactHasher(vars).Hash(scope)
}

// FactHasher hashes scopes of one set of facts, encoding each scope entry
// once however many exercises share it: a grading pass makes one.
type FactHasher struct {
	vars map[string]any
	memo map[string][sha256.Size]byte
}

// NewFactHasher hashes scopes of vars.
func NewFactHasher(vars map[string]any) *FactHasher {
	return &FactHasher{vars: vars, memo: map[string][sha256.Size]byte{}}
}

// Hash returns the hash of a scope. encoding/json sorts map keys, so equal
// facts hash equally whatever order their maps were built in.
func (h *FactHasher) Hash(scope []string) (string, error) {
	entries := slices.Clone(scope)
	slices.Sort(entries)
	total := sha256.New()
	for _, e := range entries {
		sum, ok := h.memo[e]
		if !ok {
			fact, path, byName := strings.Cut(e, "/")
			v := withoutStatus(lookup(h.vars, fact))
			if byName {
				for _, key := range strings.Split(path, "/") {
					m, _ := v.(map[string]any)
					v = m[unescapeKey(key)]
				}
			}
			b, err := json.Marshal(v)
			if err != nil {
				return "", err
			}
			sum = sha256.Sum256(b)
			h.memo[e] = sum
		}
		total.Write([]byte(e))
		total.Write(sum[:])
	}
	return hex.EncodeToString(total.Sum(nil)[:8]), nil
}

// lookup reads "kube.deployments" from the variables.
func lookup(vars map[string]any, fact string) any {
	for i := 0; i < len(fact); i++ {
		if fact[i] == '.' {
			if m, ok := vars[fact[:i]].(map[string]any); ok {
				return m[fact[i+1:]]
			}
			return nil
		}
	}
	return vars[fact]
}

// withoutStatus copies a name -> object map, leaving out each object's status.
func withoutStatus(v any) any {
	byName, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(byName))
	for name, obj := range byName {
		m, ok := obj.(map[string]any)
		if !ok {
			out[name] = obj
			continue
		}
		if controlled(m) {
			continue
		}
		trimmed := make(map[string]any, len(m))
		for k, e := range m {
			switch k {
			case "status":
			case "metadata":
				trimmed[k] = withoutSystemAnnotations(e)
			default:
				trimmed[k] = e
			}
		}
		out[name] = trimmed
	}
	return out
}

// controlled tells whether obj has a controller (an ownerReference with
// controller: true), i.e. is made and changed by another object's controller.
func controlled(obj map[string]any) bool {
	meta, _ := obj["metadata"].(map[string]any)
	refs, _ := meta["ownerReferences"].([]any)
	for _, r := range refs {
		if ref, ok := r.(map[string]any); ok && ref["controller"] == true {
			return true
		}
	}
	return false
}

func withoutSystemAnnotations(v any) any {
	meta, ok := v.(map[string]any)
	if !ok {
		return v
	}
	ann, _ := meta["annotations"].(map[string]any)
	kept := make(map[string]any, len(ann))
	for k, e := range ann {
		domain, _, found := strings.Cut(k, "/")
		if found && (domain == "kubernetes.io" || strings.HasSuffix(domain, ".kubernetes.io")) {
			continue
		}
		kept[k] = e
	}
	out := make(map[string]any, len(meta))
	for k, e := range meta {
		out[k] = e
	}
	// No annotations and only a controller's read the same: a Deployment
	// gets its first one (its revision) from kube-controller-manager, which
	// is no attempt. Always present, so hashes recorded for objects with
	// system annotations (every Deployment) stay what they were.
	out["annotations"] = kept
	return out
}

// Combine folds more identity (a submission digest) into a facts hash.
func Combine(hash, more string) string {
	sum := sha256.Sum256([]byte(hash + "\x00" + more))
	return hex.EncodeToString(sum[:8])
}
