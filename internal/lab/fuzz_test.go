package lab

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// FuzzValidateStarter feeds arbitrary JSON to starter validation, then
// does to an accepted object what the operator does before creating it in
// the lab (namespace and labels): nothing may panic, a rejection names the
// object, and an accepted object has a name, a kind and no namespace.
func FuzzValidateStarter(f *testing.F) {
	for _, s := range []string{
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web"},"data":{"a":"b"}}`,
		`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"app":"web"}},"spec":{"replicas":1}}`,
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"kube-system"}}`,
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}`,
		`{"metadata":{"name":"x"}}`,
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","labels":5}}`,
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":"x"}`,
		`{"apiVersion":1,"kind":[],"metadata":{"name":{}}}`,
		`[]`, `null`, `"x"`, `{`, ``,
		`{"kind":"List","apiVersion":"v1","items":[{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a"}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > 1<<20 {
			return
		}
		err := ValidateStarter([]rotationsv1.StarterObject{{RawExtension: runtime.RawExtension{Raw: raw}}})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "spec.starter.objects[0]") {
				t.Fatalf("error does not name the object: %v", err)
			}
			return
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			t.Fatalf("accepted, but the operator cannot read it: %v", err)
		}
		if u.GetName() == "" || u.GetNamespace() != "" || u.GetKind() == "" {
			t.Fatalf("accepted name %q namespace %q kind %q", u.GetName(), u.GetNamespace(), u.GetKind())
		}
		u.SetNamespace(Namespace("fuzz"))
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[rotationsv1.LabelExercise] = "fuzz"
		u.SetLabels(labels)
		if _, err := u.MarshalJSON(); err != nil {
			t.Fatalf("the labelled starter does not serialize: %v", err)
		}
	})
}
