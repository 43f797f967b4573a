package apply

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestFieldsDropsServerSetAndEmptyFields(t *testing.T) {
	ns := &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: "lab-a", Labels: map[string]string{"a": "b"}, ResourceVersion: "7"},
	}
	got, err := Fields(ns)
	if err != nil {
		t.Fatal(err)
	}
	meta := got["metadata"].(map[string]any)
	if _, ok := meta["resourceVersion"]; ok {
		t.Errorf("resourceVersion kept: %v", meta)
	}
	if _, ok := meta["creationTimestamp"]; ok {
		t.Errorf("null creationTimestamp kept: %v", meta)
	}
	if _, ok := got["status"]; ok {
		t.Errorf("status kept: %v", got)
	}
}

func TestFieldsNeedsTypeMeta(t *testing.T) {
	if _, err := Fields(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "x"}}); err == nil {
		t.Fatal("want an error for an object without TypeMeta")
	}
}

func TestContains(t *testing.T) {
	desired := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "n", Labels: map[string]string{"k": "v"}},
		Data:       map[string]string{"a": "1"},
	}
	want, _ := Fields(desired)

	live := desired.DeepCopy()
	live.ResourceVersion = "42"
	live.Labels["extra"] = "kept by someone else"
	live.Annotations = map[string]string{"x": "y"}
	have, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(live)
	if !Contains(have, want) {
		t.Fatal("a live object with extra fields must contain the desired one")
	}

	live.Data["a"] = "2"
	have, _ = runtime.DefaultUnstructuredConverter.ToUnstructured(live)
	if Contains(have, want) {
		t.Fatal("a changed value must not count as contained")
	}

	delete(live.Labels, "k")
	live.Data["a"] = "1"
	have, _ = runtime.DefaultUnstructuredConverter.ToUnstructured(live)
	if Contains(have, want) {
		t.Fatal("a missing label must not count as contained")
	}
}

func TestEmptySelectorIsKept(t *testing.T) {
	want := map[string]any{"podSelector": map[string]any{}}
	pruned := prune(map[string]any{"podSelector": map[string]any{}, "gone": nil}).(map[string]any)
	if _, ok := pruned["podSelector"]; !ok || len(pruned) != 1 {
		t.Fatalf("prune = %v, want the empty selector kept and the null dropped", pruned)
	}
	if !Contains(map[string]any{"podSelector": map[string]any{}}, want) {
		t.Error("an empty selector must match an empty selector")
	}
	if Contains(map[string]any{"podSelector": "x"}, want) {
		t.Error("an empty map must not match a scalar")
	}
}

func TestContainsLists(t *testing.T) {
	want := map[string]any{"l": []any{map[string]any{"a": "1"}}}
	if !Contains(map[string]any{"l": []any{map[string]any{"a": "1", "b": "2"}}}, want) {
		t.Error("element with extra defaulted fields should match")
	}
	if Contains(map[string]any{"l": []any{map[string]any{"a": "1"}, map[string]any{"a": "3"}}}, want) {
		t.Error("a list of another length must not match")
	}
	if Contains(map[string]any{"l": "x"}, want) {
		t.Error("a scalar must not match a list")
	}
}
