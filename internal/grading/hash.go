package grading

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// HashFacts identifies what the learner wrote in the facts an exercise
// reads: objects without their status, which controllers change on their
// own (a Deployment's ready replicas must not count as a learner attempt).
// encoding/json sorts map keys, so equal facts hash equally.
func HashFacts(vars map[string]any, facts []string) (string, error) {
	subset := make(map[string]any, len(facts))
	for _, f := range facts {
		subset[f] = withoutStatus(lookup(vars, f))
	}
	b, err := json.Marshal(subset)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8]), nil
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
		trimmed := make(map[string]any, len(m))
		for k, e := range m {
			if k != "status" {
				trimmed[k] = e
			}
		}
		out[name] = trimmed
	}
	return out
}
