// Package apply writes desired objects with server-side apply, and skips the
// write when the live object already holds every field we set. Skipping
// matters: a no-op apply is still an API write request, and a pass over an
// unchanged rotation must make none.
package apply

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/handson-dev/rotation-operator/internal/jsontree"
)

// Applier applies objects under one field owner.
type Applier struct {
	// Client reads live objects (normally from the cache) and writes.
	Client client.Client
	// FieldOwner is the server-side apply field manager.
	FieldOwner string
}

// Apply makes the live object hold every field of desired. desired must carry
// its TypeMeta. It returns whether it wrote.
func (a *Applier) Apply(ctx context.Context, desired client.Object) (bool, error) {
	live, ok := desired.DeepCopyObject().(client.Object)
	if !ok {
		return false, fmt.Errorf("apply: %T is not a client.Object", desired)
	}
	switch err := a.Client.Get(ctx, client.ObjectKeyFromObject(desired), live); {
	case apierrors.IsNotFound(err):
		live = nil
	case err != nil:
		return false, err
	}
	return a.ApplyOver(ctx, desired, live)
}

// ApplyOver is Apply for a caller that already read the live object (nil
// when there is none), e.g. with one List for many objects.
func (a *Applier) ApplyOver(ctx context.Context, desired, live client.Object) (bool, error) {
	want, err := Fields(desired)
	if err != nil {
		return false, err
	}
	if live != nil {
		have, err := runtime.DefaultUnstructuredConverter.ToUnstructured(live)
		if err != nil {
			return false, err
		}
		// The caller matched the kind; reads that bypass the cache come
		// back without TypeMeta, so leave it out of the comparison.
		have["apiVersion"], have["kind"] = want["apiVersion"], want["kind"]
		if Contains(have, want) {
			return false, nil
		}
	}
	u := &unstructured.Unstructured{Object: want}
	if err := a.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(a.FieldOwner), client.ForceOwnership); err != nil {
		return false, fmt.Errorf("applying %s %s: %w", desired.GetObjectKind().GroupVersionKind().Kind, client.ObjectKeyFromObject(desired), err)
	}
	return true, nil
}

// Fields returns the fields an apply of obj sets: its content without status,
// server-set metadata and nulls.
func Fields(obj client.Object) (map[string]any, error) {
	if obj.GetObjectKind().GroupVersionKind().Kind == "" {
		return nil, fmt.Errorf("apply: %T %s has no TypeMeta", obj, client.ObjectKeyFromObject(obj))
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	delete(m, "status")
	jsontree.DeleteKeys(m, []string{"metadata"}, "creationTimestamp", "resourceVersion", "uid", "generation", "managedFields")
	pruned, _ := prune(m).(map[string]any)
	return pruned, nil
}

// prune drops nulls, in place, which typed objects carry for unset
// non-omitempty fields such as metadata.creationTimestamp. Empty maps stay:
// an empty selector means "everything", which is not the same as no
// selector.
func prune(v any) any { return jsontree.Walker{InPlace: true, DropNil: true}.Map(v) }

// Contains reports whether have holds every field of want with the same value.
// Lists must have the same length and match element by element, since the
// operator's lists are atomic or fully owned.
func Contains(have, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			// An empty map is what the apiserver drops, e.g. "spec: {}".
			return have == nil && len(w) == 0
		}
		for k, wv := range w {
			if !Contains(h[k], wv) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			return false
		}
		for i := range w {
			if !Contains(h[i], w[i]) {
				return false
			}
		}
		return true
	default:
		return fmt.Sprint(have) == fmt.Sprint(want)
	}
}
