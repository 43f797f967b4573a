package grading

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// HashFacts identifies the facts an exercise reads. encoding/json sorts map
// keys, so equal facts hash equally.
func HashFacts(vars map[string]any, facts []string) (string, error) {
	subset := make(map[string]any, len(facts))
	for _, f := range facts {
		subset[f] = lookup(vars, f)
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
