package kube

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/json"
)

// FuzzNormalize runs the shaping of the learner's objects into kube facts
// on arbitrary JSON objects, as the apiserver could return them: nothing
// may panic, normalizing twice changes nothing, and the result
// still serializes.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","uid":"u","resourceVersion":"1","managedFields":[{}]},"status":{"conditions":[{"type":"Available","lastUpdateTime":"x","lastTransitionTime":"y"}]}}`,
		`{"metadata":"x","status":"y"}`,
		`{"metadata":{"name":1},"status":{"conditions":"x"}}`,
		`{"status":{"conditions":[1,"a",null,{"lastProbeTime":{}}]}}`,
		`{"spec":{"replicas":1e300,"x":[[[[[]]]]]}}`,
		`{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if len(doc) > 1<<20 {
			return
		}
		// Objects come from the apiserver through the unstructured decoder:
		// integers as int64, the rest as float64.
		obj := map[string]any{}
		if err := json.Unmarshal(doc, &obj); err != nil || obj == nil {
			return
		}
		Normalize(obj)
		once := runtime.DeepCopyJSON(obj)
		Normalize(obj)
		if !reflect.DeepEqual(once, obj) {
			t.Fatalf("Normalize is not idempotent: %v then %v", once, obj)
		}
		if _, err := json.Marshal(obj); err != nil {
			t.Fatalf("normalized object does not serialize (the facts are hashed as JSON): %v", err)
		}
	})
}
